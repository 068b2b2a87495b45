"""Localisation against a ground-truth region: ROC AUC, max-F1 and min-MAE of the map as a pixel detector.

The map (summed over channels) scores every pixel; the truth is a box or a mask (see
`smugkit.metrics.image.truth_region`). ``localisation_auc`` is the ROC AUC of those scores for the truth
pixels (ties count half; Quantus' ``AUC``). ``max_f1`` and ``min_mae`` cut the map at every threshold
(pixels at or above it kept, tied pixels together) and report the best F1 of the kept set against the truth,
and the smallest share of pixels on the wrong side (the MAE of the binary map). An all-zero map, or a truth
that covers nothing or everything, leaves them undefined: NaN with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, register_metric
from smugkit.metrics.image import as_plane, image_layout, truth_region


@dataclass(frozen=True)
class NoOptions:
    """No options."""


def ranked_cuts(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each threshold (between distinct scores, highest first): pixels kept and truth pixels kept."""
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], truth[order]
    tp = np.cumsum(t)
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last index of each tie group
    return np.r_[0, ends + 1], np.r_[0, tp[ends]]


class _Localisation(Metric):
    Options = NoOptions
    needs_truth = True
    higher_is_better = True

    def inputs(self, attribution, model, truth):
        if model is None:
            raise InputError(f"metric {self.name!r} reads the image layout of the model: pass model=")
        layout = image_layout(model, self.name)
        plane = as_plane(attribution.values, layout, self.name).reshape(-1)
        region = truth_region(truth, layout, self.name).reshape(-1)
        if not np.any(plane):
            return None, None, "the map is all zeros"
        if region.all() or not region.any():
            return (
                None,
                None,
                "the ground-truth region covers " + ("everything" if region.all() else "nothing"),
            )
        return plane, region, None

    def compute(self, attribution, model, x, truth=None):
        plane, region, reason = self.inputs(attribution, model, truth)
        if reason:
            return float("nan"), {"reason": reason}
        return self.value(plane, region)


@register_metric
class LocalisationAUC(_Localisation):
    """ROC AUC of the map's pixel scores for the ground-truth region."""

    name = "localisation_auc"

    def value(self, plane, region):
        from scipy.stats import rankdata

        r = rankdata(plane)
        pos, neg = int(region.sum()), int((~region).sum())
        auc = (r[region].sum() - pos * (pos + 1) / 2) / (pos * neg)
        return float(auc), {"region_fraction": pos / plane.size}


@register_metric
class MaxF1(_Localisation):
    """Best F1 of the map cut at any threshold against the ground-truth region."""

    name = "max_f1"

    def value(self, plane, region):
        kept, tp = ranked_cuts(plane, region)
        f1 = 2 * tp / (kept + region.sum())
        best = int(np.argmax(f1))
        return float(f1[best]), {"kept_fraction": float(kept[best] / plane.size)}


@register_metric
class MinMAE(_Localisation):
    """Smallest share of misplaced pixels of the map cut at any threshold (lower is better)."""

    name = "min_mae"
    higher_is_better = False

    def value(self, plane, region):
        kept, tp = ranked_cuts(plane, region)
        mae = ((kept - tp) + (region.sum() - tp)) / plane.size
        best = int(np.argmin(mae))
        return float(mae[best]), {"kept_fraction": float(kept[best] / plane.size)}
