"""Blur IG (Xu, Venugopalan & Sundararajan, CVPR 2020, "Attribution in Scale and Space"): integrated
gradients along the path of ever stronger Gaussian blurs of the image, from ``blur(x, max_sigma)`` to ``x``.

With ``x_s = blur(x, s)`` over the image's spatial axes (zero padding), the attribution is

    BlurIG_i = - sum_k (s_{k+1} - s_k) * (d x_{s_k, i} / d s) * d f / d x_i (x_{s_k})

with the blur's derivative in ``s`` taken by a forward difference of ``grad_step`` and ``s_k`` evenly spaced
in [0, max_sigma] (``sqrt=True``: evenly spaced in sigma^2). It needs no baseline: the fully blurred image is
the path's start, and ``sum(BlurIG) ~ f(x) - f(x_max_sigma)`` (reported with its error in the diagnostics,
two extra forward points). Defaults are the authors' reference implementation in PAIR saliency's
``BlurIG``: ``max_sigma=50``, ``steps=100``, ``grad_step=0.01``, ``sqrt=False``. Blurs are computed as
matrices for all steps at once (equal to scipy's ``gaussian_filter(mode="constant")``), and the gradients
in batches under the memory bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.gradient_tools import (
    GradientMethod,
    blur_stack,
    check_batch_size,
    check_kind,
    check_number,
    completeness_diagnostics,
    gradients_at,
)
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.units import LAYOUTS, detect_layout


@dataclass(frozen=True)
class BlurIGOptions:
    """Largest blur, path steps, the blur-derivative step, square-root spacing, kind, layout, points per call."""

    max_sigma: float = 50.0
    steps: int = 100
    grad_step: float = 0.01
    sqrt: bool = False
    kind: str | None = None
    layout: str = "auto"
    batch_size: int | None = None

    def __post_init__(self) -> None:
        check_number("max_sigma", self.max_sigma)
        check_number("steps", self.steps, 1, integer=True, strict=False)
        check_number("grad_step", self.grad_step)
        check_kind(self.kind)
        check_batch_size(self.batch_size)
        if self.layout not in LAYOUTS:
            raise InputError(f"unknown layout {self.layout!r}; choose one of {', '.join(LAYOUTS)}")


def blur_sigmas(max_sigma: float, steps: int, sqrt: bool = False) -> np.ndarray:
    """The path's ``steps + 1`` blur levels from 0 to ``max_sigma`` (evenly in sigma, or in sigma^2)."""
    k = np.arange(steps + 1, dtype=np.float64)
    return np.sqrt(k * max_sigma / steps) if sqrt else k * max_sigma / steps


@register_method
class BlurIG(GradientMethod):
    """Integrated gradients along the Gaussian scale-space path from a fully blurred image to the input."""

    name = "blur_ig"
    Options = BlurIGOptions

    def compute(self, model: Model, x: np.ndarray, target: int):
        o = self.options
        layout = detect_layout(model.network, o.layout)
        if layout.name == "flat":
            raise InputError(
                f"blur_ig blurs an image; input {model.input.name!r} of shape {list(model.input.shape)} "
                f"is not image-like (pass layout= to say where the image is)"
            )
        image = layout.to_hwc(x)
        sigmas = blur_sigmas(o.max_sigma, o.steps, o.sqrt)
        n = o.steps
        blurred = blur_stack(image, np.concatenate([sigmas[:-1], sigmas[:-1] + o.grad_step, sigmas[-1:]]))
        level, ahead = blurred[:n], blurred[n : 2 * n]
        d_blur = (ahead - level) / o.grad_step  # d x_s / d s at each path point
        points = np.stack([layout.from_hwc(p) for p in level]).reshape((-1, *x.shape))
        d_points = np.stack([layout.from_hwc(p) for p in d_blur]).reshape(points.shape)
        calls = dict(model.calls)
        grads = gradients_at(model, points, target, kind=o.kind, batch_size=o.batch_size)
        weights = np.diff(sigmas).reshape((-1,) + (1,) * x.ndim)
        attr = -np.sum(weights * d_points * grads, axis=0)
        start = layout.from_hwc(blurred[-1]).reshape(x.shape)
        diagnostics = completeness_diagnostics(model, x, start, attr, target, o.kind, calls)
        return attr, model.input.name, diagnostics
