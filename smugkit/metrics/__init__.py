"""Evaluation metrics, one module each, in the registry `METRICS` (see `base` for how to add one)."""

from smugkit.metrics import (
    completeness_soundness,  # noqa: F401
    insertion_deletion,  # noqa: F401
    localisation,  # noqa: F401
    model_checks,  # noqa: F401
    pointing_game,  # noqa: F401
    robustness,  # noqa: F401
    saliency_metric,  # noqa: F401
    sparseness,  # noqa: F401  (register the metrics)
    sparsity,  # noqa: F401
    text_rationale,  # noqa: F401
)
from smugkit.metrics.base import METRICS, Metric, Score, evaluate, get_metric, register_metric

__all__ = ["METRICS", "Metric", "Score", "evaluate", "get_metric", "register_metric"]
