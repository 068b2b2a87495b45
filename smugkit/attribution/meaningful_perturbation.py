"""Meaningful perturbation (Fong & Vedaldi, ICCV 2017, "Interpretable Explanations of Black Boxes by
Meaningful Perturbation"): the smallest smooth region whose deletion destroys the target's probability.

The deletion game: a mask ``m`` in [0, 1] on a coarse grid (1 keeps a pixel), upsampled bilinearly; the
perturbed input is ``m * x + (1 - m) * blur(x)`` (the paper's other perturbations, a constant or noise, are
``perturbation="zeros"`` etc.: on images whose background is a constant, such as digits, blur keeps the
evidence and a constant fill is the meaningful deletion); Adam minimises

    l1_coeff * mean(1 - m) + tv_coeff * TV_beta(m) + p_target(perturbed input)

and the attribution is the deleted evidence ``1 - m`` on the image (broadcast over channels). When the model
is saturated (p = 1.0 in float64) the probability has no gradient and the mask stays whole (the diagnostics
show ``probability_perturbed``); ``kind="logit"`` deletes against the target's logit instead. Defaults follow
the paper (a mask grid of 1/8 of the image side: 28 x 28 on 224 x 224; TV exponent beta = 3; Adam with
learning rate 0.1; 300 iterations; blur sigma 10 px on 224 px, here scaled with the image side) with the
area and TV weights of common re-implementations that average instead of sum (0.01, 0.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import Method, register_method
from smugkit.attribution.learned_mask import MaskOptimizer, check_number, total_variation
from smugkit.errors import InputError
from smugkit.model import KINDS, Model
from smugkit.units import detect_layout, make_baseline

PERTURBATIONS = ("blur", "zeros", "black", "white", "uniform")


@dataclass(frozen=True)
class MeaningfulPerturbationOptions:
    """Mask grid (``mask_size`` cells per side, None: 1/8 of the image side), penalties, optimiser, blur."""

    mask_size: int | None = None
    l1_coeff: float = 0.01
    tv_coeff: float = 0.2
    tv_beta: float = 3.0
    lr: float = 0.1
    n_iter: int = 300
    blur_sigma: float | None = None  # None: 10 px per 224 px of image side
    perturbation: str = "blur"  # or a constant baseline: "zeros", "black", "white", "uniform" (noise)
    input_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    kind: str = "probability"  # what deletion must destroy; "logit" when the probability saturates at 1
    layout: str = "auto"

    def __post_init__(self) -> None:
        if self.mask_size is not None:
            check_number("mask_size", self.mask_size, 1, integer=True, strict=False)
        check_number("n_iter", self.n_iter, 1, integer=True, strict=False)
        check_number("lr", self.lr)
        check_number("tv_beta", self.tv_beta, 1.0, strict=False)
        for name in ("l1_coeff", "tv_coeff"):
            check_number(name, getattr(self, name), strict=False)
        if self.blur_sigma is not None:
            check_number("blur_sigma", self.blur_sigma)
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.perturbation not in PERTURBATIONS:
            raise InputError(f"perturbation must be one of {PERTURBATIONS}, got {self.perturbation!r}")


@register_method
class MeaningfulPerturbation(Method):
    """Fong & Vedaldi's deletion mask: what must be blurred away to destroy the target's probability."""

    name = "meaningful_perturbation"
    Options = MeaningfulPerturbationOptions
    needs = frozenset({"probs", "grad"})

    def compute(self, model: Model, x: np.ndarray, target: int):
        o = self.options
        layout = detect_layout(model.network, o.layout)
        side = max(layout.height, layout.width)
        cells = o.mask_size or max(1, round(side / 8))
        sigma = o.blur_sigma or 10.0 * side / 224
        if o.perturbation == "blur":
            hwc = layout.to_hwc(x)
            blurred = layout.from_hwc(make_baseline("blur", hwc, blur_sigma=sigma, axes=(0, 1)))
        else:
            blurred = make_baseline(o.perturbation, x, input_range=o.input_range, seed=o.seed)
        delta = x - blurred
        opt = MaskOptimizer(layout, cells, init=1.0, lr=o.lr)
        calls = dict(model.calls)
        p0 = float(model.probs(x).reshape(-1)[target])
        for _ in range(o.n_iter):
            mask = opt.to_input(opt.image())
            g = model.grad(blurred + delta * mask, target, kind=o.kind)
            _, g_tv = total_variation(opt.m, o.tv_beta)
            grad = opt.pull_back(g * delta) - o.l1_coeff / opt.m.size + o.tv_coeff * g_tv
            opt.step(grad)
        keep = opt.to_input(opt.image())
        p_final = float(model.probs(blurred + delta * keep).reshape(-1)[target])
        diagnostics = {
            "probability": p0,
            "probability_perturbed": p_final,
            "deleted_fraction": float(1.0 - opt.m.mean()),
            "total_variation": total_variation(opt.m, o.tv_beta)[0],
            "mask_grid": list(opt.m.shape),
            "blur_sigma": sigma,
            "model_calls": {k: model.calls[k] - calls.get(k, 0) for k in model.calls},
        }
        return 1.0 - keep, model.input.name, diagnostics
