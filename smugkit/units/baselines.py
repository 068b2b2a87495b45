"""Baselines: the reference inputs that attribution methods start from and perturbations fill with.

zeros, black and white (the low and high ends of the input range), blur (a Gaussian blur over the image's
spatial axes, found by the layout detector), uniform noise (seeded), or an array given by the user.
"""

from __future__ import annotations

import numpy as np

from smugkit.errors import InputError
from smugkit.units.layout import spatial_axes

Array = np.ndarray
BASELINES = ("zeros", "black", "white", "black_white", "blur", "uniform")


def make_baseline(
    kind,
    x: Array,
    *,
    input_range: tuple[float, float] = (0.0, 1.0),
    blur_sigma: float | None = None,
    axes: tuple[int, ...] | None = None,
    seed: int = 0,
) -> Array:
    """One input baseline of ``x``'s (model) shape: zeros, black, white, blur, uniform noise or an array."""
    lo, hi = float(input_range[0]), float(input_range[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"input_range must be two finite numbers low < high, got {input_range!r}")
    if not isinstance(kind, str):
        b = np.asarray(kind, dtype=np.float64)
        if b.shape != x.shape:
            raise InputError(f"baseline array has shape {list(b.shape)}; expected {list(x.shape)}")
        if not np.all(np.isfinite(b)):
            raise InputError("baseline array contains NaN or Inf")
        return b
    if kind == "zeros":
        return np.zeros_like(x, dtype=np.float64)
    if kind == "black":
        return np.full(x.shape, lo)
    if kind == "white":
        return np.full(x.shape, hi)
    if kind == "uniform":
        return np.random.default_rng(seed).uniform(lo, hi, x.shape)
    if kind == "blur":
        from scipy.ndimage import gaussian_filter

        ax = spatial_axes(x.shape) if axes is None else tuple(axes)
        sigma = blur_sigma if blur_sigma is not None else max(0.5, 0.1 * max(x.shape[a] for a in ax))
        if not sigma > 0:
            raise InputError(f"blur_sigma must be > 0, got {blur_sigma!r}")
        sig = [sigma if a in ax else 0.0 for a in range(x.ndim)]
        return gaussian_filter(np.asarray(x, dtype=np.float64), sig, mode="nearest")
    raise InputError(f"unknown baseline {kind!r}; choose one of {BASELINES} or pass an array")
