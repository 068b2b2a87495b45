"""Locally smooth explanation (Lim, Lee & Kim, CVPR 2021, "Building Reliable Explanations of Unreliable
Neural Networks: Locally Smoothing Perspective of Model Interpretation").

The paper shows that explanations consistent over a neighbourhood of the input are learned from a batch of
noisy copies of the input with an L1 penalty on the saliency map. Here: a preservation mask ``m`` in [0, 1]
on a coarse grid (upsampled bilinearly) is learned by Adam on

    mean_i[ -log p_target(m * x_i + (1 - m) * b) ] + l1_coeff * mean(m),   x_i = x + N(0, (noise * range)^2)

with fresh noisy copies ``x_i`` (``n_samples`` per step) at every step and ``b`` the baseline (zeros); the
attribution is ``m`` on the image (broadcast over channels). Defaults: 16 copies per step, noise 0.1 of the
input range (the paper's noise scale for its smoothness analysis), l1_coeff 0.05, Adam with learning rate
0.1 for 200 steps, a mask grid of 1/4 of the image side. The mask form (preservation, coarse grid) is this
module's reading of "a saliency map learned with L1 regularization"; the loss and the noisy batch follow the
paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import Method, register_method
from smugkit.attribution.learned_mask import MaskOptimizer, check_number
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.units import detect_layout, make_baseline


@dataclass(frozen=True)
class LocalSmoothOptions:
    """Noisy copies per step, their noise (fraction of ``input_range``), L1 weight, optimiser, mask grid."""

    n_samples: int = 16
    noise: float = 0.1
    l1_coeff: float = 0.05
    lr: float = 0.1
    n_iter: int = 200
    mask_size: int | None = None  # None: 1/4 of the image side
    baselines: str = "zeros"
    input_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    layout: str = "auto"

    def __post_init__(self) -> None:
        check_number("n_samples", self.n_samples, 1, integer=True, strict=False)
        check_number("n_iter", self.n_iter, 1, integer=True, strict=False)
        check_number("noise", self.noise, strict=False)
        check_number("l1_coeff", self.l1_coeff, strict=False)
        check_number("lr", self.lr)
        if self.mask_size is not None:
            check_number("mask_size", self.mask_size, 1, integer=True, strict=False)
        if not isinstance(self.baselines, str):
            raise InputError("local_smooth takes a named baseline (zeros, black, white, blur, uniform)")


@register_method
class LocalSmooth(Method):
    """Lim et al.'s saliency learned over noisy copies of the input with an L1 penalty."""

    name = "local_smooth"
    Options = LocalSmoothOptions
    needs = frozenset({"probs", "grad"})

    def compute(self, model: Model, x: np.ndarray, target: int):
        o = self.options
        layout = detect_layout(model.network, o.layout)
        cells = o.mask_size or max(1, round(max(layout.height, layout.width) / 4))
        base = make_baseline(o.baselines, x, input_range=o.input_range, seed=o.seed)
        lo, hi = o.input_range
        rng = np.random.default_rng(o.seed)
        opt = MaskOptimizer(layout, cells, init=0.5, lr=o.lr)
        calls = dict(model.calls)
        losses = []
        for _ in range(o.n_iter):
            mask = opt.to_input(opt.image())
            noisy = x + rng.normal(0.0, o.noise * (hi - lo), (o.n_samples, *x.shape))
            points = base + (noisy - base) * mask
            p = np.maximum(model.probs(points).reshape(o.n_samples, -1)[:, target], 1e-12)
            g = model.grad(points, target, kind="probability")
            # d/dmask of mean(-log p): -(1/S) sum_i g_i / p_i * (x_i - b)
            shape = (o.n_samples,) + (1,) * x.ndim
            g_mask = -np.mean(g * (noisy - base) / p.reshape(shape), axis=0)
            opt.step(opt.pull_back(g_mask) + o.l1_coeff / opt.m.size)
            losses.append(float(-np.log(p).mean()))
        keep = opt.image()
        diagnostics = {
            "kept_fraction": float(opt.m.mean()),
            "loss_first": losses[0],
            "loss_last": losses[-1],
            "mask_grid": list(opt.m.shape),
            "model_calls": {k: model.calls[k] - calls.get(k, 0) for k in model.calls},
        }
        return opt.to_input(keep), model.input.name, diagnostics
