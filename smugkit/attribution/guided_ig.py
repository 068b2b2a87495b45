"""Guided IG (Kapishnikov et al., CVPR 2021, "Guided Integrated Gradients: An Adaptive Path Method for
Removing Noise"): an adaptive path from the baseline to the input that, at each step, moves only the
features whose gradient is smallest in magnitude, staying within ``max_dist`` of the straight-line path.

At step ``k`` of ``steps`` the path point must reach L1 distance ``L1(x, b) * (1 - k / steps)`` from the
input; the ``fraction`` of features with the smallest ``|gradient|`` (features already at their upper
bound excluded) move towards the input, bounded by the straight path's position ``alpha = k / steps``
plus ``max_dist``, and features lagging more than ``max_dist`` behind are pulled up to ``alpha - max_dist``.
Each move adds ``(x_new - x_old) * gradient`` to the attribution, so ``sum ~ f(x) - f(b)``
(reported with its error in the diagnostics). Defaults are the authors' reference implementation in PAIR
saliency's ``GuidedIG``: ``steps=200``, ``fraction=0.25``, ``max_dist=0.02``, a black baseline. The path
is sequential (each step needs the previous gradient), so this method makes ``steps`` one-point model calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.gradient_tools import (
    GradientMethod,
    check_kind,
    check_number,
    check_range,
    completeness_diagnostics,
    progress,
)
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.units import make_baseline

EPSILON = 1e-9
NAMED_BASELINES = ("zeros", "black", "white", "blur", "uniform")


@dataclass(frozen=True)
class GuidedIGOptions:
    """Path steps, the fraction of features moved per step, the distance allowed off the straight path."""

    steps: int = 200
    fraction: float = 0.25
    max_dist: float = 0.02
    baselines: str = "black"
    input_range: tuple[float, float] = (0.0, 1.0)
    kind: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_number("steps", self.steps, 1, integer=True, strict=False)
        check_number("fraction", self.fraction)
        if self.fraction > 1:
            raise InputError(f"fraction must be in (0, 1], got {self.fraction!r}")
        check_number("max_dist", self.max_dist, strict=False)
        if self.max_dist > 1:
            raise InputError(f"max_dist must be in [0, 1], got {self.max_dist!r}")
        if self.baselines not in NAMED_BASELINES:
            raise InputError(f"unknown baseline {self.baselines!r}; choose one of {NAMED_BASELINES}")
        check_range(self.input_range)
        check_kind(self.kind)


def guided_path(grad, x: np.ndarray, baseline: np.ndarray, steps: int, fraction: float, max_dist: float):
    """Guided IG from ``baseline`` to ``x`` with ``grad(point) -> gradient``; the attribution array."""
    x = np.asarray(x, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    total = x - baseline
    attr = np.zeros_like(x)
    if np.abs(total).sum() == 0:
        return attr
    l1_total = float(np.abs(total).sum())
    moving = total != 0
    point = baseline.copy()
    for step in progress(range(steps), "guided_ig", unit="step"):
        g_actual = grad(point)
        g = g_actual.copy()
        alpha = (step + 1.0) / steps
        a_min, a_max = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
        x_min, x_max = baseline + total * a_min, baseline + total * a_max
        l1_target = l1_total * (1.0 - (step + 1) / steps)
        gamma = np.inf
        while gamma > 1.0:
            old = point.copy()
            with np.errstate(divide="ignore", invalid="ignore"):
                a_now = np.where(moving, (point - baseline) / np.where(moving, total, 1.0), a_max)
            behind = a_now < a_min
            point[behind] = x_min[behind]
            l1_now = float(np.abs(point - x).sum())
            if math.isclose(l1_target, l1_now, rel_tol=EPSILON, abs_tol=EPSILON):
                attr += (point - old) * g_actual
                break
            g[point == x_max] = np.inf
            threshold = np.quantile(np.abs(g), fraction, method="lower")
            chosen = (np.abs(g) <= threshold) & (g != np.inf)
            if not chosen.any():  # every feature is at its bound: the target is reached up to rounding
                break
            l1_chosen = float((np.abs(point - x_max) * chosen).sum())
            gamma = (l1_now - l1_target) / l1_chosen if l1_chosen > 0 else np.inf
            if gamma > 1.0:
                point[chosen] = x_max[chosen]
            else:
                point[chosen] = (point + (x_max - point) * gamma)[chosen]
            attr += (point - old) * g_actual
    return attr


@register_method
class GuidedIG(GradientMethod):
    """Integrated gradients along an adaptive path that first moves the features with small gradients."""

    name = "guided_ig"
    Options = GuidedIGOptions

    def compute(self, model: Model, x: np.ndarray, target: int):
        o = self.options
        base = make_baseline(o.baselines, x, input_range=o.input_range, seed=o.seed)
        calls = dict(model.calls)

        def grad(point: np.ndarray) -> np.ndarray:
            return np.asarray(model.grad(point, target, kind=o.kind), dtype=np.float64).reshape(x.shape)

        attr = guided_path(grad, x, base, o.steps, o.fraction, o.max_dist)
        diagnostics = completeness_diagnostics(model, x, base, attr, target, o.kind, calls)
        return attr, model.input.name, diagnostics
