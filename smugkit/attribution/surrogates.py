"""Surrogate-model attributions on superpixels: LIME and KernelSHAP.

Both switch superpixels (`smugkit.units.superpixels`, SLIC by default) on and off at random, run the model on
the images where "off" superpixels take the ``fill`` value, and fit a linear model from the on/off vector to
the target's output; a superpixel's coefficient is the attribution of each of its pixels.

- LIME (Ribeiro, Singh & Guestrin, "Why Should I Trust You?", KDD 2016), with the defaults of the authors'
  ``lime_image``: 1000 samples, each superpixel on with probability 1/2 (the first sample is the whole image),
  sample weights ``sqrt(exp(-d^2 / 0.25^2))`` with ``d`` the cosine distance to the all-on vector, and a
  weighted ridge regression (alpha = 1, unpenalised intercept).
- KernelSHAP (Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017): the
  weighted least-squares fit with the Shapley kernel ``(M - 1) / (C(M, |z|) |z| (M - |z|))`` under the
  efficiency constraint ``sum(phi) = f(x) - f(all off)``. When all ``2^M - 2`` coalitions fit in the budget
  they are enumerated with their kernel weights, which gives the exact Shapley values; otherwise coalition
  sizes are drawn from the kernel's distribution over sizes, members uniformly, each with its complement
  (paired sampling), all with weight 1. Default budget: ``2 M + 2048`` samples (the shap package's "auto").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.blackbox import BlackBoxMethod, BlackBoxOptions, Blend, check_number, fill_values
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.units.superpixels import SEGMENTATIONS, Superpixels, make_superpixels

Array = np.ndarray


@dataclass(frozen=True)
class SurrogateOptions(BlackBoxOptions):
    """Superpixels (``segmentation``: slic, grid or an (H, W) id array; ``n_segments``; ``compactness``),
    ``n_samples`` and ``seed``."""

    n_samples: int | None = None
    segmentation: object = "slic"
    n_segments: int = 50
    compactness: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_samples is not None:
            check_number("n_samples", self.n_samples, 1, integer=True)
        check_number("n_segments", self.n_segments, 1, integer=True)
        check_number("compactness", self.compactness)
        check_number("seed", self.seed, 0, integer=True)
        if isinstance(self.segmentation, str) and self.segmentation not in SEGMENTATIONS:
            raise InputError(
                f"segmentation must be one of {SEGMENTATIONS} or an (H, W) array of ids, got {self.segmentation!r}"
            )


@dataclass(frozen=True)
class LimeOptions(SurrogateOptions):
    """LIME's kernel width (on the cosine distance) and ridge penalty, besides the surrogate options."""

    kernel_width: float = 0.25
    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("kernel_width", self.kernel_width)
        if not self.kernel_width > 0:
            raise InputError(f"kernel_width must be > 0, got {self.kernel_width!r}")
        check_number("alpha", self.alpha, 0.0)


@dataclass(frozen=True)
class KernelShapOptions(SurrogateOptions):
    """KernelSHAP: ``paired`` sampling (each coalition with its complement), besides the surrogate options."""

    paired: bool = field(default=True)


class SurrogateMethod(BlackBoxMethod):
    """Shared steps: superpixels, the coalition matrix, the model on each coalition."""

    def superpixels(self, model: Model, x: Array) -> tuple[Superpixels, Blend]:
        o = self.options
        layout = self.layout(model)
        units = make_superpixels(
            layout, x, o.segmentation, n_segments=o.n_segments, compactness=o.compactness
        )
        return units, Blend(x, fill_values(o.fill, x, layout, seed=o.seed), layout)

    def evaluate(self, model: Model, target: int, units: Superpixels, blend: Blend, z: Array):
        score = self.scorer(model, target)
        values = score(len(z), lambda a, b: blend(z[a:b][:, units.segments]))
        return score, values


@register_method
class Lime(SurrogateMethod):
    """Ribeiro et al.'s LIME on superpixels: a locally weighted ridge fit of the output on superpixel switches."""

    name = "lime"
    Options = LimeOptions

    def compute(self, model: Model, x: Array, target: int):
        t0 = time.perf_counter()
        o = self.options
        units, blend = self.superpixels(model, x)
        k = units.count
        n = o.n_samples or 1000
        rng = np.random.default_rng(o.seed)
        z = rng.integers(0, 2, (n, k)).astype(np.float64)
        z[0] = 1.0
        score, y = self.evaluate(model, target, units, blend, z)
        norms = np.linalg.norm(z, axis=1)
        cos = np.divide(z.sum(axis=1), norms * np.sqrt(k), out=np.zeros(n), where=norms > 0)
        weights = np.sqrt(np.exp(-((1.0 - cos) ** 2) / o.kernel_width**2))
        coef, intercept = fit_ridge(z, y, weights, o.alpha)
        pred = intercept + z @ coef
        ss_res = weights @ (y - pred) ** 2
        ss_tot = weights @ (y - np.average(y, weights=weights)) ** 2
        diagnostics = self.report(
            score,
            t0,
            intercept=intercept,
            score=float(1.0 - ss_res / ss_tot) if ss_tot > 0 else 1.0,
            n_segments=k,
            segments=units.segments,
        )
        return units.expand(coef), model.input.name, diagnostics


def fit_ridge(z: Array, y: Array, w: Array, alpha: float) -> tuple[Array, float]:
    """Coefficients and intercept minimising ``sum_i w_i (y_i - b - z_i c)^2 + alpha |c|^2`` (b unpenalised).

    The weighted means are removed first, so the intercept is exact and not shrunk (scikit-learn's ``Ridge``
    with ``sample_weight`` does the same).
    """
    zm, ym = np.average(z, axis=0, weights=w), np.average(y, weights=w)
    zc, yc = z - zm, y - ym
    a = (zc * w[:, None]).T @ zc + alpha * np.eye(z.shape[1])
    coef, *_ = np.linalg.lstsq(a, (zc * w[:, None]).T @ yc, rcond=None)  # alpha = 0 may leave a singular a
    return coef, float(ym - zm @ coef)


def shapley_kernel(m: int, sizes: Array) -> Array:
    """The Shapley kernel weight of coalitions with ``sizes`` members out of ``m`` (0 < size < m)."""
    from scipy.special import comb

    sizes = np.asarray(sizes)
    return (m - 1) / (comb(m, sizes) * sizes * (m - sizes))


def coalitions(m: int, n: int, rng: np.random.Generator, paired: bool) -> tuple[Array, Array, bool]:
    """``(rows, m)`` on/off coalitions (never empty or full) and their regression weights; True if exact."""
    if m <= 30 and 2**m - 2 <= n:
        codes = np.arange(1, 2**m - 1)
        z = ((codes[:, None] >> np.arange(m)[None]) & 1).astype(np.float64)
        return z, shapley_kernel(m, z.sum(axis=1).astype(int)), True
    sizes = np.arange(1, m)
    p = (m - 1) / (sizes * (m - sizes))
    p /= p.sum()
    draws = n // 2 if paired else n
    k = rng.choice(sizes, size=draws, p=p)
    keys = rng.random((draws, m))
    order = np.argsort(keys, axis=1)
    ranks = np.argsort(order, axis=1)
    z = (ranks < k[:, None]).astype(np.float64)  # a uniform subset of size k per row
    if paired:
        z = np.concatenate([z, 1.0 - z])
    return z, np.ones(len(z)), False


@register_method
class KernelShap(SurrogateMethod):
    """Lundberg & Lee's KernelSHAP on superpixels: Shapley values of the superpixels by weighted regression."""

    name = "kernel_shap"
    Options = KernelShapOptions

    def compute(self, model: Model, x: Array, target: int):
        t0 = time.perf_counter()
        o = self.options
        units, blend = self.superpixels(model, x)
        m = units.count
        budget = max(1, (o.n_samples or 2 * m + 2048) - 2)
        z, w, exact = coalitions(m, budget, np.random.default_rng(o.seed), o.paired)
        ends = np.stack([np.zeros(m), np.ones(m)])
        score, y = self.evaluate(model, target, units, blend, np.concatenate([ends, z]))
        f0, f1, y = y[0], y[1], y[2:]
        phi = np.full(m, f1 - f0) if m == 1 else constrained_fit(z, y - f0, w, f1 - f0)
        diagnostics = self.report(
            score,
            t0,
            exact=exact,
            f_x=f1,
            f_empty=f0,
            efficiency_error=float(abs(phi.sum() - (f1 - f0))),
            n_segments=m,
            segments=units.segments,
        )
        return units.expand(phi), model.input.name, diagnostics


def constrained_fit(z: Array, y: Array, w: Array, total: float) -> Array:
    """``phi`` minimising ``sum w (y - z phi)^2`` subject to ``sum(phi) = total`` (the last one eliminated)."""
    a = z[:, :-1] - z[:, -1:]
    b = y - z[:, -1] * total
    aw = a * w[:, None]
    head, *_ = np.linalg.lstsq(aw.T @ a, aw.T @ b, rcond=None)  # normal equations: (M-1)^2, not rows x M
    return np.append(head, total - head.sum())
