"""Insertion and deletion curves and their areas (Petsiuk et al., RISE, 2018).

Pixels are ranked by the map (summed over channels, highest first; ties in pixel order). Deletion replaces
the top-ranked pixels of the input by the fill, a growing fraction at a time, and records the target's
probability; insertion starts from the fill and puts the top-ranked pixels of the input back. The value is
the area under the curve over the fraction in [0, 1] (trapezoid rule): low for deletion, high for
insertion when the map ranks the evidence first. Fills: ``zeros``, ``blur`` (Gaussian, ``blur_sigma``
pixels; Petsiuk's insertion start) or ``mean`` (each channel's mean). ``random_auc`` in the details is the
mean area over ``random_orders`` seeded random rankings: the score a map that knows nothing gets, so a
value has context. An all-zero map ranks nothing: NaN with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, register_metric
from smugkit.metrics.image import as_plane, check_fill, class_probability, fill_image, image_layout
from smugkit.model.targets import model_input


@dataclass(frozen=True)
class CurveOptions:
    """``steps``: curve points after the start (each moves about 1/steps of the pixels; 0: one pixel
    per step); ``fill``: zeros, blur or mean; ``random_orders``: random rankings averaged for
    ``random_auc`` (0: none); ``seed`` for them."""

    steps: int = 100
    fill: str = "zeros"
    blur_sigma: float = 2.0
    random_orders: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        check_fill(self.fill, self.blur_sigma)
        for k in ("steps", "random_orders"):
            v = getattr(self, k)
            if not (isinstance(v, int) and v >= 0):
                raise InputError(f"{k} must be an integer >= 0, got {v!r}")


def counts(n_pixels: int, steps: int) -> np.ndarray:
    """How many pixels are moved at each curve point: 0, ..., n_pixels."""
    if steps == 0 or steps >= n_pixels:
        return np.arange(n_pixels + 1)
    return np.round(np.linspace(0, n_pixels, steps + 1)).astype(int)


def curve(
    model, layout, x, order: np.ndarray, ks: np.ndarray, fill, target: int, insert: bool, chunk: int = 64
) -> np.ndarray:
    """The target's probability after moving the first ``k`` pixels of ``order``, for each ``k`` in ``ks``
    (the model sees ``chunk`` frames at a time, so large images stay within memory)."""
    image = layout.to_hwc(x)
    h, w = image.shape[:2]
    rank = np.empty(h * w, dtype=int)
    rank[order] = np.arange(h * w)
    rank = rank.reshape(h, w)
    src, dst = (image, fill) if not insert else (fill, image)
    out = []
    for start in range(0, len(ks), chunk):
        moved = rank[None, :, :] < ks[start : start + chunk, None, None]  # (K, H, W)
        frames = np.where(moved[..., None], dst[None], src[None])  # (K, H, W, C)
        out.append(class_probability(model, np.stack([layout.from_hwc(f) for f in frames]), target))
    return np.concatenate(out)


def auc(ks: np.ndarray, values: np.ndarray, n_pixels: int) -> float:
    """Area under the curve over the moved fraction in [0, 1] (trapezoid rule)."""
    f = ks / n_pixels
    return float(np.sum((values[1:] + values[:-1]) * np.diff(f)) / 2.0)


class _Curve(Metric):
    """Shared computation of insertion and deletion."""

    Options = CurveOptions
    needs = frozenset({"probs"})
    insert: bool = False

    def compute(self, attribution, model, x, truth=None):
        o = self.options
        layout = image_layout(model, self.name)
        plane = as_plane(attribution.values, layout, self.name)
        if not np.any(plane):
            return float("nan"), {"reason": "the map is all zeros (no pixel ranking)"}
        x = model_input(model.network, x)
        fill = fill_image(layout.to_hwc(x), o.fill, o.blur_sigma, self.name)
        n = plane.size
        ks = counts(n, o.steps)
        order = np.argsort(-plane.reshape(-1), kind="stable")
        values = curve(model, layout, x, order, ks, fill, attribution.target, self.insert)
        details = {"curve": values.tolist(), "fractions": (ks / n).tolist(), "pixels": n}
        if o.random_orders:
            rng = np.random.default_rng(o.seed)
            rand = [
                auc(
                    ks,
                    curve(model, layout, x, rng.permutation(n), ks, fill, attribution.target, self.insert),
                    n,
                )
                for _ in range(o.random_orders)
            ]
            details["random_auc"] = float(np.mean(rand))
            details["random_auc_std"] = float(np.std(rand))
        return auc(ks, values, n), details


@register_metric
class Deletion(_Curve):
    """Area under the target probability as the top-ranked pixels are removed (lower is better)."""

    name = "deletion"
    higher_is_better = False
    insert = False


@register_metric
class Insertion(_Curve):
    """Area under the target probability as the top-ranked pixels are put back (higher is better)."""

    name = "insertion"
    higher_is_better = True
    insert = True
