"""Sanity checks that change the model and re-run the scored method, as rank-correlation curves.

``model_randomisation`` is the cascading model-parameter randomisation of Adebayo et al. (2018): from the
output layer down, each layer's weights and biases are replaced, cumulatively, by seeded Gaussian draws
with that tensor's standard deviation, the method is re-run for the same target, and the Spearman rank
correlation with the original map is recorded per step (of |values| with ``abs_values``). A map that
explains the model changes: the value is the mean correlation over the steps, lower is better.

``model_perturbation`` is the check of the geometrically-guided IG paper (Rahman, Lewis and Plis, 2022),
the complement of randomisation: every layer's weights get additive Gaussian noise of growing scale
(``scales`` times each tensor's standard deviation), and the correlation should fall gradually rather
than collapse while the model is barely changed. The value is the mean correlation over the scales
(higher: the map follows small model changes smoothly); the details say whether each perturbed model
still predicts the target.

Both re-run the method on models rebuilt from the IR (exact numpy forward and reverse mode), so they need a
method that runs on any `Model` (SMUG's masks on those models are not re-checked with onnxruntime: they
have no ONNX file); a constant map has no rank correlation (NaN with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network
from smugkit.metrics.base import Metric, as_array, register_metric
from smugkit.metrics.image import explainer, spearman
from smugkit.model import Model
from smugkit.model.targets import model_input


def layers(net: Network) -> list[int]:
    """Indices of the nodes that hold weights, in network order."""
    return [i for i, n in enumerate(net.nodes) if any(np.size(p) > 1 for p in _floats(n.params).values())]


def _floats(params: dict) -> dict[str, np.ndarray]:
    return {k: p for k, p in params.items() if np.issubdtype(np.asarray(p).dtype, np.floating)}


def with_params(model: Model, change: dict[int, dict[str, np.ndarray]], label: str) -> Model:
    """A `Model` over a copy of the network whose nodes ``change`` maps get new params (IR gradients)."""
    net = model.network
    nodes = [
        replace(n, params={**n.params, **change[i]}) if i in change else n for i, n in enumerate(net.nodes)
    ]
    origin = replace(net.origin, model=None, source=f"{net.origin.source} [{label}]")
    return Model(
        Network(list(net.inputs), list(net.outputs), nodes, dict(net.tensors), origin), gradients="ir"
    )


def _std(p: np.ndarray) -> float:
    s = float(np.std(p))
    return s if s > 0 else float(np.max(np.abs(p))) or 1.0


class _ModelCheck(Metric):
    """Correlate the map with the method's maps on changed models; a subclass yields the changed models."""

    needs = frozenset({"scores"})

    def variants(self, model: Model, rng, idx: list[int], attribution, x):
        """Yield ``(changed model, {detail: value})`` per step."""
        raise NotImplementedError

    def compute(self, attribution, model, x, truth=None):
        run = explainer(attribution, self.name)
        base = _prep(as_array(attribution.values), self.options.abs_values)
        if np.ptp(base) == 0:
            return float("nan"), {"reason": "the map is constant (no ranking to correlate)"}
        rng = np.random.default_rng(self.options.seed)
        corr, details = [], {}
        for m, step in self.variants(model, rng, layers(model.network), attribution, x):
            corr.append(spearman(base, _prep(run(m, x), self.options.abs_values)))
            for k, v in step.items():
                details.setdefault(k, []).append(v)
        value = float(np.nanmean(corr)) if np.any(np.isfinite(corr)) else float("nan")
        return value, {"correlations": corr, **details}


@dataclass(frozen=True)
class RandomisationOptions:
    """``abs_values``: correlate |values|; ``seed`` for the draws."""

    abs_values: bool = True
    seed: int = 0


@register_metric
class ModelRandomisation(_ModelCheck):
    """Mean Spearman correlation of the map with maps of cascadingly randomised models (lower is better)."""

    name = "model_randomisation"
    Options = RandomisationOptions
    higher_is_better = False

    def variants(self, model, rng, idx, attribution, x):
        change: dict[int, dict[str, np.ndarray]] = {}
        for i in reversed(idx):
            node = model.network.nodes[i]
            change[i] = {k: rng.normal(0.0, _std(p), np.shape(p)) for k, p in _floats(node.params).items()}
            yield with_params(model, dict(change), f"randomised from {node.name}"), {"layers": node.name}


@dataclass(frozen=True)
class PerturbationOptions:
    """``scales``: noise standard deviations relative to each weight tensor's; ``abs_values``; ``seed``."""

    scales: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
    abs_values: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.scales or any(not (np.isfinite(s) and s > 0) for s in self.scales):
            raise InputError(f"scales must be positive numbers, got {self.scales!r}")


@register_metric
class ModelPerturbation(_ModelCheck):
    """Mean Spearman correlation of the map with maps of noise-perturbed models (higher is better)."""

    name = "model_perturbation"
    Options = PerturbationOptions
    higher_is_better = True

    def variants(self, model, rng, idx, attribution, x):
        params = {i: _floats(model.network.nodes[i].params) for i in idx}
        noise = {i: {k: rng.standard_normal(np.shape(p)) for k, p in ps.items()} for i, ps in params.items()}
        for s in self.options.scales:
            change = {
                i: {k: p + s * _std(p) * noise[i][k] for k, p in ps.items()} for i, ps in params.items()
            }
            m = with_params(model, change, f"weights perturbed by {s} std")
            kept = bool(m.predict(model_input(m.network, x)) == attribution.target)
            yield m, {"scales": s, "prediction_kept": kept}


def _prep(values, abs_values: bool) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.abs(v) if abs_values else v
