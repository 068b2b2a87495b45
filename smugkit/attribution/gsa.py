"""Global-sensitivity attributions on a grid of image cells: Sobol total indices and HSIC dependence.

Both cut the image into ``grid_size x grid_size`` cells, draw quasi-Monte-Carlo masks over the cells (a cell's
value is how much of it is kept: ``fill + (x - fill) * m``, nearest-neighbour upsampled), run the model on the
masked images, and score each cell by a sensitivity measure of the target's output to that cell's mask.

- Sobol (Fel, Cadène, Chalvidal, Cord, Vigouroux & Serre, "Look at the Variance! Efficient Black-box
  Explanations with Sobol-based Sensitivity Analysis", NeurIPS 2021): real masks in [0, 1]^D from a Sobol
  sequence of dimension 2D split into matrices A and B; for each cell i the matrix C_i is A with column i
  from B; ``N (D + 2)`` model calls. The total index by Jansen's estimator (Jansen 1999):
  ``ST_i = sum_n (f(A_n) - f(C_i,n))^2 / (2 N Var f(A))``.
- HSIC (Novello, Fel & Vigouroux, "Making Sense of Dependence: Efficient Black-box Explanations Using
  Dependence Measure", NeurIPS 2022): binary masks (a Latin hypercube sample thresholded at 1/2, as in the
  paper; ``sampler="sobol"`` uses a scrambled Sobol sequence as Xplique does), a Dirac
  kernel on each cell's mask and a Gaussian kernel on the output with the median-distance bandwidth;
  ``HSIC_i = tr(K_i H L H) / (n - 1)^2`` with ``H`` the centring matrix, computed for all cells at once
  (for a binary cell ``H K_i H = 2 x~ x~^T`` with ``x~`` its centred mask column, so ``HSIC_i = 2 x~^T L x~``).

Defaults are those of the authors' reference implementation (Xplique): an 8 x 8 grid, 32 designs for Sobol
(2112 model calls) and 500 for HSIC; inpainting with 0; the target's probability. The Sobol sequence is
unscrambled by default as there (``scramble=True`` with ``seed`` randomises it).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.blackbox import BlackBoxMethod, BlackBoxOptions, Blend, check_number, fill_values
from smugkit.errors import InputError
from smugkit.model import Model

Array = np.ndarray


def sobol_points(n: int, d: int, *, scramble: bool, seed: int) -> Array:
    """``(n, d)`` points of a Sobol sequence (scipy.stats.qmc), quietly accepting any ``n``."""
    from scipy.stats import qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n not a power of two only loses the balance property
        return qmc.Sobol(d, scramble=scramble, seed=seed if scramble else None).random(n)


def latin_hypercube(n: int, d: int, rng: np.random.Generator) -> Array:
    """``(n, d)`` Latin hypercube sample: each column has one point in each of the n strata of [0, 1)."""
    strata = rng.permuted(np.tile(np.arange(n)[:, None], (1, d)), axis=0)
    return (strata + rng.random((n, d))) / n


@dataclass(frozen=True)
class GsaOptions(BlackBoxOptions):
    """``grid_size`` cells per side, ``n_design`` sample points, ``seed``; and the common options."""

    grid_size: int = 8
    n_design: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("grid_size", self.grid_size, 1, integer=True)
        check_number("n_design", self.n_design, 1, integer=True)
        check_number("seed", self.seed, 0, integer=True)


@dataclass(frozen=True)
class SobolOptions(GsaOptions):
    """Sobol: ``scramble`` the sequence (Owen scrambling seeded by ``seed``)."""

    scramble: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_design < 2:
            raise InputError(f"n_design must be >= 2 for a variance, got {self.n_design!r}")


@dataclass(frozen=True)
class HsicOptions(GsaOptions):
    """HSIC: 500 designs by default; ``sampler`` "lhs" (Latin hypercube, the paper's) or "sobol"."""

    n_design: int = 500
    sampler: str = "lhs"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sampler not in ("lhs", "sobol"):
            raise InputError(f"sampler must be 'lhs' or 'sobol', got {self.sampler!r}")
        if self.n_design < 2:
            raise InputError(f"n_design must be >= 2 for a dependence estimate, got {self.n_design!r}")


class GsaMethod(BlackBoxMethod):
    """Shared steps: the cell grid, masked images from cell values, the model on each design."""

    def grid(self, model: Model, x: Array):
        o = self.options
        layout = self.layout(model)
        h, w = layout.height, layout.width
        if o.grid_size > min(h, w):
            raise InputError(f"grid_size {o.grid_size} is larger than the {h}x{w} image")
        cells = (np.arange(h) * o.grid_size // h)[:, None] * o.grid_size + (np.arange(w) * o.grid_size // w)
        return layout, cells, Blend(x, fill_values(o.fill, x, layout, seed=o.seed), layout)

    def evaluate(self, model: Model, target: int, cells: Array, blend: Blend, designs: Array):
        score = self.scorer(model, target)
        return score, score(len(designs), lambda a, b: blend(designs[a:b][:, cells]))


@register_method
class Sobol(GsaMethod):
    """Fel et al.'s Sobol attribution: total Sobol indices of the cells by Jansen's estimator."""

    name = "sobol"
    Options = SobolOptions

    def compute(self, model: Model, x: Array, target: int):
        t0 = time.perf_counter()
        o = self.options
        layout, cells, blend = self.grid(model, x)
        d, n = o.grid_size**2, o.n_design
        mixed = sobol_points(n, 2 * d, scramble=o.scramble, seed=o.seed)
        a, b = mixed[:, :d], mixed[:, d:]
        c = np.repeat(a[None], d, axis=0)  # (d, n, d)
        c[np.arange(d), :, np.arange(d)] = b.T
        score, y = self.evaluate(model, target, cells, blend, np.concatenate([a, b, c.reshape(d * n, d)]))
        fa, fc = y[:n], y[2 * n :].reshape(d, n)
        var = max(float(np.var(fa, ddof=1)), 1e-12)
        sti = ((fa[None] - fc) ** 2).sum(axis=1) / (2 * n * var)
        diagnostics = self.report(score, t0, variance=var, grid=[o.grid_size, o.grid_size])
        return layout.from_hw(sti[cells]), model.input.name, diagnostics


@register_method
class Hsic(GsaMethod):
    """Novello et al.'s HSIC attribution: kernel dependence between each cell's mask and the output."""

    name = "hsic"
    Options = HsicOptions

    def compute(self, model: Model, x: Array, target: int):
        t0 = time.perf_counter()
        o = self.options
        layout, cells, blend = self.grid(model, x)
        d, n = o.grid_size**2, o.n_design
        if o.sampler == "lhs":
            points = latin_hypercube(n, d, np.random.default_rng(o.seed))
        else:
            points = sobol_points(n, d, scramble=True, seed=o.seed)
        masks = (points > 0.5).astype(np.float64)
        score, y = self.evaluate(model, target, cells, blend, masks)
        hsic, width = hsic_binary(masks, y)
        diagnostics = self.report(score, t0, bandwidth=width, grid=[o.grid_size, o.grid_size])
        return layout.from_hw(hsic[cells]), model.input.name, diagnostics


def hsic_binary(masks: Array, y: Array) -> tuple[Array, float]:
    """HSIC of each binary column of ``masks`` (n, D) with ``y`` (n,): Dirac input kernel, Gaussian output
    kernel with the median pairwise distance as bandwidth. Returns the estimates and the bandwidth."""
    n = len(y)
    dist = np.abs(y[:, None] - y[None, :])
    off = dist[np.triu_indices(n, 1)]
    width = float(np.median(off)) if off.size else 0.0
    if not width > 0:
        width = float(off.max()) if off.size and off.max() > 0 else 1.0
    gram = np.exp(-(dist**2) / (2 * width**2))
    xc = masks - masks.mean(axis=0)
    return 2.0 * np.einsum("nd,nd->d", xc, gram @ xc) / (n - 1) ** 2, width
