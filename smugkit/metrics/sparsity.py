"""Sparsity and mask size: how little of the input an explanation uses.

``sparsity`` is the fraction of attribution values that are (near) zero, ``|a| <= tol * max|a|`` (higher:
a sparser map). ``mask_size`` is the fraction of values the map keeps, ``a > tol * max(a)`` (lower: a
smaller region; for SMUG, the mask's share of the input). Both read the map alone. An all-zero map has
neither (NaN, with the reason); a map with no positive value keeps nothing, NaN too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, as_array, register_metric


@dataclass(frozen=True)
class ToleranceOptions:
    """``tol``: a value counts as zero (sparsity) or as not kept (mask size) at or below ``tol`` times
    the map's largest (absolute, for sparsity) value."""

    tol: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.tol < 1:
            raise InputError(f"tol must be in [0, 1), got {self.tol!r}")


@register_metric
class Sparsity(Metric):
    """Fraction of attribution values that are zero (at most tol x the largest magnitude)."""

    name = "sparsity"
    Options = ToleranceOptions
    higher_is_better = True

    def compute(self, attribution, model, x, truth=None):
        a = np.abs(as_array(attribution.values))
        top = float(a.max()) if a.size else 0.0
        if top == 0.0:
            return float("nan"), {"reason": "the map is all zeros"}
        zero = int(np.count_nonzero(a <= self.options.tol * top))
        return zero / a.size, {"elements": int(a.size), "zero": zero}


@register_metric
class MaskSize(Metric):
    """Fraction of the input the map keeps (values above tol x the largest value)."""

    name = "mask_size"
    Options = ToleranceOptions
    higher_is_better = False

    def compute(self, attribution, model, x, truth=None):
        a = as_array(attribution.values)
        top = float(a.max()) if a.size else 0.0
        if not np.any(a):
            return float("nan"), {"reason": "the map is all zeros"}
        if top <= 0.0:
            return float("nan"), {"reason": "the map has no positive value (keeps nothing)"}
        kept = int(np.count_nonzero(a > self.options.tol * top))
        return kept / a.size, {"elements": int(a.size), "kept": kept}
