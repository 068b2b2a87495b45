"""Sparseness: the Gini index of the absolute attributions (Chalasani et al., ICML 2020).

0 when every feature gets the same share, (n - 1) / n when one feature gets everything; a concise
explanation scores high. With ``abs_values`` off, negative values count as zero (only positive evidence).
An all-zero map has no Gini index: NaN, with the reason in the details.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.metrics.base import Metric, as_array, register_metric


@dataclass(frozen=True)
class SparsenessOptions:
    """``abs_values``: score |a| (default) or the positive part of a."""

    abs_values: bool = True


@register_metric
class Sparseness(Metric):
    """Gini index of the attribution's magnitudes, over every element of the attributed tensor."""

    name = "sparseness"
    Options = SparsenessOptions
    higher_is_better = True

    def compute(self, attribution, model, x, truth=None):
        a = as_array(attribution.values)
        a = np.abs(a) if self.options.abs_values else np.maximum(a, 0.0)
        n, total = a.size, float(a.sum())
        if n == 0 or total == 0.0:
            return float("nan"), {"elements": n, "nonzero": 0, "reason": "the map is all zeros"}
        a = np.sort(a)
        i = np.arange(1, n + 1)
        gini = float(np.sum((2 * i - n - 1) * a) / (n * total))
        return gini, {"elements": n, "nonzero": int(np.count_nonzero(a))}
