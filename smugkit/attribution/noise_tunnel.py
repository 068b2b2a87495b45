"""SmoothGrad, SmoothGrad-squared and VarGrad: any gradient method averaged over noisy copies of the input.

- SmoothGrad (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise"): the mean of the wrapped
  method's attributions at ``x + N(0, sigma^2)``; the paper's defaults are 50 samples and a noise level
  ``sigma / (x_max - x_min)`` of 10-20 %, here ``stdevs=0.15`` of ``input_range``.
- SmoothGrad-squared (Hooker et al. 2019, "A Benchmark for Interpretability Methods in Deep Neural
  Networks"): the mean of the squared attributions (``squared=True``, or the method ``smoothgrad_sq``).
- VarGrad (Adebayo et al. 2018, "Local Explanation Methods for Deep Neural Networks Lack Sensitivity to
  Parameter Values"): their variance over the same noisy copies (population variance, as Captum's
  ``vargrad``), with SmoothGrad's noise model and defaults.

``base`` names the wrapped method (default ``gradient``; any registered gradient method, e.g.
``gradient_x_input`` or ``integrated_gradients``) and ``base_options`` its options; ``kind`` is passed on
to it. The copies are drawn from one seeded generator chunk by chunk (``batch_size`` copies per model call,
default: what fits the memory bound), so neither the chunking nor the memory bound changes the result.
Naming follows Captum's ``NoiseTunnel`` (``n_samples`` for ``nt_samples``, ``stdevs``), except that
``stdevs`` is a fraction of ``input_range`` (equal to Captum's absolute value for inputs in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from smugkit.attribution.base import METHODS, Method, get_method, register_method
from smugkit.attribution.gradient_tools import (
    check_batch_size,
    check_kind,
    check_number,
    check_range,
    chunks,
    points_per_call,
)
from smugkit.errors import InputError
from smugkit.model import Model

Array = np.ndarray


@dataclass(frozen=True)
class NoiseTunnelOptions:
    """Wrapped method and its options, copies, noise (fraction of ``input_range``), seed, copies per call."""

    base: str = "gradient"
    base_options: dict | None = None
    n_samples: int = 50
    stdevs: float = 0.15
    kind: str | None = None
    input_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    batch_size: int | None = None

    def __post_init__(self) -> None:
        check_number("n_samples", self.n_samples, 1, integer=True, strict=False)
        check_number("stdevs", self.stdevs, 0.0, strict=False)
        check_kind(self.kind)
        check_range(self.input_range)
        check_batch_size(self.batch_size)
        check_number("seed", self.seed, 0, integer=True, strict=False)
        if self.base_options is not None and not isinstance(self.base_options, dict):
            raise InputError(
                f"base_options must be a dict of the base method's options, got {self.base_options!r}"
            )
        cls = METHODS.get(self.base)
        if cls is None:
            raise InputError(f"unknown base method {self.base!r}; known methods: {sorted(METHODS)}")
        if "grad" not in cls.needs:
            gradient_methods = sorted(k for k, v in METHODS.items() if "grad" in v.needs)
            raise InputError(f"base {self.base!r} is not a gradient method; choose one of {gradient_methods}")


@dataclass(frozen=True)
class SmoothGradOptions(NoiseTunnelOptions):
    """SmoothGrad's options; ``squared`` averages the squared attributions (SmoothGrad-squared)."""

    squared: bool = False


@dataclass(frozen=True)
class SmoothGradSquaredOptions(SmoothGradOptions):
    """SmoothGrad-squared: SmoothGrad's options with ``squared`` on."""

    squared: bool = True


class NoiseTunnel(Method):
    """The wrapped method's attributions over seeded noisy copies, reduced by `reduce`."""

    needs = frozenset({"grad"})
    fast_gradients = True

    def __init__(self, **options) -> None:
        super().__init__(**options)
        o = self.options
        base_options = dict(o.base_options or {})
        known = {f.name for f in fields(METHODS[o.base].Options)}
        if o.kind is not None and "kind" in known:
            base_options.setdefault("kind", o.kind)
        self.inner = get_method(o.base, **base_options)

    def reduce(self, mean: Array, mean_sq: Array) -> Array:
        """The attribution from the mean and the mean square of the wrapped attributions."""
        raise NotImplementedError

    def compute(self, model: Model, x: Array, target: int):
        o = self.options
        lo, hi = check_range(o.input_range)
        sigma = o.stdevs * (hi - lo)
        rng = np.random.default_rng(o.seed)
        many = getattr(self.inner, "compute_many", None)
        step = points_per_call(model.network, o.n_samples, o.batch_size)
        calls = dict(model.calls)
        total = total_sq = 0.0
        for s in chunks(o.n_samples, step):
            xs = x[None] + sigma * rng.standard_normal((s.stop - s.start, *x.shape))
            if many is not None:
                a = np.asarray(many(model, xs, target), dtype=np.float64)
            else:
                a = np.stack([np.asarray(self.inner.compute(model, p, target)[0], np.float64) for p in xs])
            total = total + a.sum(axis=0)
            total_sq = total_sq + (a * a).sum(axis=0)
        mean, mean_sq = total / o.n_samples, total_sq / o.n_samples
        tensor = getattr(self.inner.options, "tensor", None) or model.input.name
        diagnostics = {
            "noise_sigma": sigma,
            "copies_per_call": step,
            "base_options": self.inner.record(model),
            "model_calls": {k: model.calls[k] - calls.get(k, 0) for k in model.calls},
        }
        return self.reduce(mean, mean_sq), tensor, diagnostics


@register_method
class SmoothGrad(NoiseTunnel):
    """SmoothGrad: the mean (``squared``: the mean square) of the wrapped attributions over noisy copies."""

    name = "smoothgrad"
    Options = SmoothGradOptions

    def reduce(self, mean: Array, mean_sq: Array) -> Array:
        return mean_sq if self.options.squared else mean


@register_method
class SmoothGradSquared(SmoothGrad):
    """SmoothGrad-squared (Hooker et al. 2019): the mean square of the wrapped attributions."""

    name = "smoothgrad_sq"
    Options = SmoothGradSquaredOptions


@register_method
class VarGrad(NoiseTunnel):
    """VarGrad: the variance of the wrapped attributions over noisy copies."""

    name = "vargrad"
    Options = NoiseTunnelOptions

    def reduce(self, mean: Array, mean_sq: Array) -> Array:
        return np.maximum(mean_sq - mean * mean, 0.0)
