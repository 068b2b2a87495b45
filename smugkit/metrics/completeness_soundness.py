"""Completeness and soundness of the region a map keeps, in the intrinsic sense of Gupta, Saunshi, Yu, Lyu
and Arora (NeurIPS 2022): checks that use only the model and the input, no other net or annotation.

The kept region is the map's positive pixels (``keep=None``: a SMUG mask as it is) or its top ``keep``
fraction of pixels among the positive ones (for dense maps); every other pixel takes the fill.
``completeness``: the kept pixels alone preserve the label; the value is the target's probability on the
masked input, ``preserved`` in the details says whether it is still the predicted class.
``soundness``: the kept region does not create the label by its shape. The kept pixels of ``samples``
other inputs (seeded uniform noise over ``input_range``: no data set is needed, the check stays
intrinsic) are shown in the same region, the rest filled, and the value is the share of those inputs NOT
predicted as the target: 1 when the label needs the explained input's content, low when any content in
that shape gets the label (a mask that draws the class). A map with no positive value keeps nothing: NaN
with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, register_metric
from smugkit.metrics.image import as_plane, check_fill, fill_image, image_layout
from smugkit.model.targets import model_input


@dataclass(frozen=True)
class KeptOptions:
    """``keep``: None (the map's positive pixels) or the fraction of pixels kept; ``fill``: zeros, blur or
    mean for the rest; ``samples``, ``input_range`` and ``seed``: the other inputs of soundness."""

    keep: float | None = None
    fill: str = "zeros"
    blur_sigma: float = 2.0
    samples: int = 16
    input_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0

    def __post_init__(self) -> None:
        check_fill(self.fill, self.blur_sigma)
        if self.keep is not None and not 0 < self.keep <= 1:
            raise InputError(f"keep must be None or in (0, 1], got {self.keep!r}")
        if not (isinstance(self.samples, int) and self.samples >= 1):
            raise InputError(f"samples must be an integer >= 1, got {self.samples!r}")
        lo, hi = (float(v) for v in self.input_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise InputError(f"input_range must be two finite numbers low < high, got {self.input_range!r}")


def kept_region(plane: np.ndarray, keep: float | None) -> np.ndarray:
    """Boolean ``(H, W)``: the positive pixels, or the top ``keep`` fraction of them (ties in pixel order)."""
    positive = plane > 0
    if keep is None:
        return positive
    k = min(math.ceil(keep * plane.size), int(positive.sum()))
    order = np.argsort(-plane.reshape(-1), kind="stable")[:k]
    region = np.zeros(plane.size, dtype=bool)
    region[order] = True
    return region.reshape(plane.shape)


class _Kept(Metric):
    Options = KeptOptions
    needs = frozenset({"probs"})
    higher_is_better = True

    def setup(self, attribution, model, x):
        """The layout, the input as an image, its fill and the kept region (or a NaN reason)."""
        layout = image_layout(model, self.name)
        plane = as_plane(attribution.values, layout, self.name)
        region = kept_region(plane, self.options.keep)
        image = layout.to_hwc(model_input(model.network, x))
        fill = fill_image(image, self.options.fill, self.options.blur_sigma, self.name)
        return layout, image, fill, region


@register_metric
class Completeness(_Kept):
    """Target probability with only the kept pixels of the input (the rest filled)."""

    name = "completeness"

    def compute(self, attribution, model, x, truth=None):
        layout, image, fill, region = self.setup(attribution, model, x)
        if not region.any():
            return float("nan"), {"reason": "the map has no positive value (keeps nothing)"}
        masked = np.where(region[..., None], image, fill)
        probs = np.asarray(model.probs(layout.from_hwc(masked)[None])).reshape(-1)
        p = float(probs[attribution.target])
        return p, {
            "preserved": bool(int(np.argmax(probs)) == attribution.target),
            "kept_fraction": float(region.mean()),
        }


@register_metric
class Soundness(_Kept):
    """Share of other inputs (noise) shown through the kept region that do NOT get the target label."""

    name = "soundness"

    def compute(self, attribution, model, x, truth=None):
        layout, image, fill, region = self.setup(attribution, model, x)
        if not region.any():
            return float("nan"), {"reason": "the map has no positive value (keeps nothing)"}
        o = self.options
        others = np.random.default_rng(o.seed).uniform(*o.input_range, (o.samples, *image.shape))
        frames = np.where(region[None, :, :, None], others, fill[None])
        batch = np.stack([layout.from_hwc(f) for f in frames])
        probs = np.asarray(model.probs(batch)).reshape(len(batch), -1)
        created = probs.argmax(axis=1) == attribution.target
        return float(1.0 - created.mean()), {
            "created": int(created.sum()),
            "mean_probability": float(probs[:, attribution.target].mean()),
            "kept_fraction": float(region.mean()),
        }
