"""RISE (Petsiuk, Das & Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box Models",
BMVC 2018): the saliency of a pixel is the target's output averaged over random masks that keep it.

Each mask: an ``s x s`` grid of cells kept with probability ``p``, upsampled bilinearly to ``(s + 1) * C``
pixels per side (``C = ceil(H / s)``, the cell size) and cropped at a random shift in ``[0, C)``, so masks are
smooth and not aligned to one grid. ``saliency = sum_i f(fill + (x - fill) * M_i) * M_i / (N * p)``.
Defaults are the paper's: ``N = 4000`` masks (ResNet-50), ``s = 7``, ``p = 0.5``, masked pixels set to 0,
the target's softmax probability. All masks come from one seeded generator, drawn before any model call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.blackbox import (
    BlackBoxMethod,
    BlackBoxOptions,
    Blend,
    check_fraction,
    check_number,
    fill_values,
)
from smugkit.errors import InputError
from smugkit.model import Model

Array = np.ndarray


def resize_matrix(n_out: int, n_in: int) -> Array:
    """``(n_out, n_in)`` bilinear resize weights with half-pixel centres and edge clamping."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1)
    lo = np.minimum(np.floor(pos).astype(int), max(n_in - 2, 0))
    frac = pos - lo
    u = np.zeros((n_out, n_in))
    u[np.arange(n_out), lo] += 1.0 - frac
    u[np.arange(n_out), np.minimum(lo + 1, n_in - 1)] += frac
    return u


@dataclass(frozen=True)
class RiseOptions(BlackBoxOptions):
    """``n_masks`` (N), ``grid_size`` (s, cells per side), ``p`` (keep probability), ``seed``; common ones."""

    n_masks: int = 4000
    grid_size: int = 7
    p: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("n_masks", self.n_masks, 1, integer=True)
        check_number("grid_size", self.grid_size, 1, integer=True)
        check_fraction("p", self.p)
        check_number("seed", self.seed, 0, integer=True)


class RiseMasks:
    """The N smooth random masks of RISE, drawn up front (grids and shifts), made ``(k, H, W)`` on demand."""

    def __init__(self, n: int, s: int, p: float, h: int, w: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        ch, cw = -(-h // s), -(-w // s)
        self.grids = (rng.random((n, s, s)) < p).astype(np.float32)
        self.dy = rng.integers(0, ch, n)
        self.dx = rng.integers(0, cw, n)
        self.uh = resize_matrix((s + 1) * ch, s).astype(np.float32)
        self.uw = resize_matrix((s + 1) * cw, s).astype(np.float32)
        self.h, self.w = h, w

    def __call__(self, start: int, stop: int) -> Array:
        a = self.uh[self.dy[start:stop, None] + np.arange(self.h)[None]]  # (k, H, s)
        b = self.uw[self.dx[start:stop, None] + np.arange(self.w)[None]]  # (k, W, s)
        return np.einsum("khs,kst,kwt->khw", a, self.grids[start:stop], b, optimize=True)


@register_method
class Rise(BlackBoxMethod):
    """Petsiuk et al.'s RISE: the target's output averaged over smooth random masks, per pixel."""

    name = "rise"
    Options = RiseOptions

    def compute(self, model: Model, x: Array, target: int):
        t0 = time.perf_counter()
        o = self.options
        layout = self.layout(model)
        h, w = layout.height, layout.width
        if o.grid_size > max(h, w):
            raise InputError(f"grid_size {o.grid_size} is larger than the {h}x{w} image")
        masks = RiseMasks(o.n_masks, o.grid_size, o.p, h, w, o.seed)
        blend = Blend(x, fill_values(o.fill, x, layout, seed=o.seed), layout)
        score = self.scorer(model, target)
        plane = np.zeros((h, w))
        batch = {}

        def build(start: int, stop: int) -> Array:
            batch["masks"] = masks(start, stop)
            return blend(batch["masks"])

        def consume(start: int, stop: int, values: Array) -> None:
            plane[:] += np.tensordot(values, batch["masks"], axes=1)

        values = score(o.n_masks, build, consume)
        plane /= o.n_masks * o.p
        diagnostics = self.report(score, t0, mean_output=float(values.mean()))
        return layout.from_hw(plane), model.input.name, diagnostics
