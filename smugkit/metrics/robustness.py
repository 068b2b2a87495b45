"""Robustness of explanations under small input noise: max-sensitivity and top-k intersection.

Both draw ``samples`` seeded perturbations ``x + u`` with ``u`` uniform in ``[-radius, radius]`` per input
value and re-run the scored method (same options, same target) on each.
``max_sensitivity`` (Yeh et al., 2019): ``max_u ||a(x+u) - a(x)|| / ||a(x)||`` (Frobenius norms); lower is
better. ``topk_intersection`` (Ghorbani et al., 2019): the share of the ``k`` pixels with the largest
|map| (summed over channels) that stay among the top ``k`` of the perturbed map, averaged over the samples;
higher is better. An all-zero map has no relative change or ranking: NaN with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, as_array, register_metric
from smugkit.metrics.image import as_plane, explainer, image_layout
from smugkit.model.targets import model_input


@dataclass(frozen=True)
class NoiseOptions:
    """``radius``: the uniform noise's half-width, in input units; ``samples``; ``seed``; ``k``: top-k
    size as a fraction of the pixels (top-k intersection only)."""

    radius: float = 0.02
    samples: int = 10
    seed: int = 0
    k: float = 0.1

    def __post_init__(self) -> None:
        if not (np.isfinite(self.radius) and self.radius > 0):
            raise InputError(f"radius must be > 0, got {self.radius!r}")
        if not (isinstance(self.samples, int) and self.samples >= 1):
            raise InputError(f"samples must be an integer >= 1, got {self.samples!r}")
        if not 0 < self.k <= 1:
            raise InputError(f"k must be a fraction in (0, 1], got {self.k!r}")


def noisy_inputs(x: np.ndarray, radius: float, samples: int, seed: int) -> np.ndarray:
    """``samples`` perturbations of ``x``, uniform in the L-infinity ball of ``radius`` (seeded)."""
    return x[None] + np.random.default_rng(seed).uniform(-radius, radius, (samples, *x.shape))


@register_metric
class MaxSensitivity(Metric):
    """Largest relative change of the map under uniform input noise (lower is better)."""

    name = "max_sensitivity"
    Options = NoiseOptions
    needs = frozenset({"scores"})
    higher_is_better = False

    def compute(self, attribution, model, x, truth=None):
        a = as_array(attribution.values)
        norm = float(np.linalg.norm(a))
        if norm == 0.0:
            return float("nan"), {"reason": "the map is all zeros (no relative change)"}
        run = explainer(attribution, self.name)
        o = self.options
        x = model_input(model.network, x)
        ratios = [
            float(np.linalg.norm(run(model, xn).reshape(-1) - a)) / norm
            for xn in noisy_inputs(x, o.radius, o.samples, o.seed)
        ]
        return max(ratios), {"sensitivities": ratios}


@register_metric
class TopkIntersection(Metric):
    """Share of the top-k pixels of the map that stay top-k under uniform input noise (higher is better)."""

    name = "topk_intersection"
    Options = NoiseOptions
    needs = frozenset({"scores"})
    higher_is_better = True

    def compute(self, attribution, model, x, truth=None):
        layout = image_layout(model, self.name)
        plane = np.abs(as_plane(attribution.values, layout, self.name)).reshape(-1)
        if not np.any(plane):
            return float("nan"), {"reason": "the map is all zeros (no top pixels)"}
        o = self.options
        k = max(1, round(o.k * plane.size))
        top = set(np.argsort(-plane, kind="stable")[:k].tolist())
        run = explainer(attribution, self.name)
        x = model_input(model.network, x)
        shares = []
        for xn in noisy_inputs(x, o.radius, o.samples, o.seed):
            p = np.abs(as_plane(run(model, xn), layout, self.name)).reshape(-1)
            shares.append(len(top & set(np.argsort(-p, kind="stable")[:k].tolist())) / k)
        return float(np.mean(shares)), {"intersections": shares, "k": k}
