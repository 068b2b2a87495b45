"""Pointing game (Zhang et al., 2018): does the map's maximum fall inside the ground-truth region?

The map is summed over channels; the truth is a box ``(top, left, bottom, right)`` or a mask (see
`smugkit.metrics.image.truth_region`), grown by ``tolerance`` pixels (Zhang et al. use 15 px at ImageNet
scale). Several pixels can share the maximum (a SMUG map is flat on its mask): ``ties="share"`` scores
the fraction of them inside the region, ``"any"`` a hit when any is (Quantus' rule), ``"first"`` looks at
the first in row-major order only. An all-zero map points nowhere: NaN with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, register_metric
from smugkit.metrics.image import as_plane, image_layout, truth_region

TIES = ("share", "any", "first")


@dataclass(frozen=True)
class PointingOptions:
    """``tolerance``: pixels the region is grown by; ``ties``: share, any or first (see the module)."""

    tolerance: int = 0
    ties: str = "share"

    def __post_init__(self) -> None:
        if not (isinstance(self.tolerance, int) and self.tolerance >= 0):
            raise InputError(f"tolerance must be an integer >= 0, got {self.tolerance!r}")
        if self.ties not in TIES:
            raise InputError(f"ties must be one of {TIES}, got {self.ties!r}")


@register_metric
class PointingGame(Metric):
    """1 when the map's maximum lies in the ground-truth region, else 0 (ties: see the options)."""

    name = "pointing_game"
    Options = PointingOptions
    higher_is_better = True
    needs_truth = True

    def compute(self, attribution, model, x, truth=None):
        if model is None:
            raise InputError(f"metric {self.name!r} reads the image layout of the model: pass model=")
        layout = image_layout(model, self.name)
        plane = as_plane(attribution.values, layout, self.name)
        region = truth_region(truth, layout, self.name)
        if not region.any():
            return float("nan"), {"reason": "the ground-truth region is empty"}
        if not np.any(plane):
            return float("nan"), {"reason": "the map is all zeros (no maximum to point with)"}
        if self.options.tolerance:
            from scipy.ndimage import binary_dilation

            size = 2 * self.options.tolerance + 1
            region = binary_dilation(region, structure=np.ones((size, size), dtype=bool))
        peaks = plane == plane.max()
        inside = region[peaks]
        if self.options.ties == "first":
            hit = float(inside[0])
        elif self.options.ties == "any":
            hit = float(inside.any())
        else:
            hit = float(inside.mean())
        return hit, {"hit": hit, "peaks": int(peaks.sum()), "region_fraction": float(region.mean())}
