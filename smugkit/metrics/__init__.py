"""Evaluation metrics, one module each, in the registry `METRICS` (see `base` for how to add one)."""

from smugkit.metrics import (
    sparseness,  # noqa: F401  (register the metrics)
    text_rationale,  # noqa: F401
)
from smugkit.metrics.base import METRICS, Metric, Score, evaluate, get_metric, register_metric

__all__ = ["METRICS", "Metric", "Score", "evaluate", "get_metric", "register_metric"]
