"""The saliency metric of Dabkowski & Gal (2017), as the SMUG paper scores its maps.

For each threshold ``t`` of the map (positive part, divided by its maximum): take the tightest box around
the pixels above ``t``, crop the input to it, resize the crop back to the input size (bilinear) and score
``s(t) = log(max(a, area_floor)) - log(p)``, with ``a`` the box's fraction of the image and ``p`` the
probability of the attribution's target class on the resized crop. The value is ``min_t s(t)`` (lower is
better: a small box that keeps the class). A map with no positive value has no box: NaN with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, register_metric
from smugkit.metrics.image import as_plane, class_probability, image_layout, resize_bilinear
from smugkit.model.targets import model_input


@dataclass(frozen=True)
class SaliencyMetricOptions:
    """``thresholds``: how many levels ``t = j / thresholds`` (j = 0..thresholds-1) of the normalised map;
    ``area_floor``: the smallest area fraction counted (0.05 in the paper)."""

    thresholds: int = 20
    area_floor: float = 0.05

    def __post_init__(self) -> None:
        if not (isinstance(self.thresholds, int) and self.thresholds >= 1):
            raise InputError(f"thresholds must be an integer >= 1, got {self.thresholds!r}")
        if not 0 < self.area_floor <= 1:
            raise InputError(f"area_floor must be in (0, 1], got {self.area_floor!r}")


def tightest_box(region: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` (exclusive ends) of the smallest box holding every True pixel."""
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


@register_metric
class SaliencyMetric(Metric):
    """Dabkowski & Gal's score of the best threshold's box: log(max(area, 0.05)) - log(p(crop))."""

    name = "saliency_metric"
    Options = SaliencyMetricOptions
    needs = frozenset({"probs"})
    higher_is_better = False

    def compute(self, attribution, model, x, truth=None):
        layout = image_layout(model, self.name)
        plane = np.maximum(as_plane(attribution.values, layout, self.name), 0.0)
        top = float(plane.max())
        if top <= 0.0:
            return float("nan"), {"reason": "the map has no positive value (no region to crop)"}
        norm = plane / top
        image = layout.to_hwc(model_input(model.network, x))
        h, w = layout.height, layout.width
        boxes, levels, crops = [], [], []
        for t in np.arange(self.options.thresholds) / self.options.thresholds:
            box = tightest_box(norm > t)
            if boxes and box == boxes[-1]:
                continue  # the same box as a lower threshold: the same score
            r0, c0, r1, c1 = box
            boxes.append(box)
            levels.append(float(t))
            crops.append(layout.from_hwc(resize_bilinear(image[r0:r1, c0:c1], h, w)))
        p = class_probability(model, np.stack(crops), attribution.target)
        area = np.array([(r1 - r0) * (c1 - c0) / (h * w) for r0, c0, r1, c1 in boxes])
        with np.errstate(divide="ignore"):
            scores = np.log(np.maximum(area, self.options.area_floor)) - np.log(p)
        best = int(np.argmin(scores))
        return float(scores[best]), {
            "best_threshold": levels[best],
            "box": list(boxes[best]),
            "area": float(area[best]),
            "probability": float(p[best]),
            "scores": scores.tolist(),
            "boxes": [list(b) for b in boxes],
        }
