"""Integrated Gradients (Sundararajan et al. 2017) on the input or on any internal tensor, with a completeness check.

``IG_i = (x_i - b_i) * integral_0^1 df/dx_i (b + a (x - b)) da``, the integral taken by a quadrature rule.
On an internal tensor ``T`` the path runs from a baseline of ``T`` to ``T(x)`` and ``f`` is the rest of the
network evaluated on top of ``T`` (what SMUG ranks first-layer neurons with). Completeness,
``sum(IG) = f(x) - f(b)``, holds exactly for the integral; its error measures the quadrature, so the
result reports it and a user sees when the steps are too few.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from smugkit.attribution.base import Method, register_method
from smugkit.attribution.gradient_tools import points_per_call
from smugkit.errors import GradientError, InputError
from smugkit.ir import Network
from smugkit.model.gradient import provider_for, required_inputs
from smugkit.model.model import Model
from smugkit.model.providers import GradientProvider
from smugkit.model.targets import (
    KINDS,
    one_hot,
    resolve_output,
    softmax_cotangent,
    stack_feeds,
    target_index,
    target_kind,
    unstack,
)
from smugkit.units.baselines import BASELINES, make_baseline

Array = np.ndarray
RULES = ("riemann_left", "riemann_right", "riemann_mid", "trapezoid", "gauss_legendre")


@dataclass
class IGResult:
    """Attributions with the tensor's shape, and how well they add up to ``f(x) - f(baseline)``."""

    attributions: Array
    tensor: str
    output_name: str
    target: tuple[int, ...]
    output: str  # "logit" or "probability"
    steps: int
    rule: str
    baseline: str
    provider: str
    f_x: float
    f_baseline: float
    completeness_error: float
    relative_error: float
    evaluations: int
    seconds: float
    baseline_value: Array | None = field(default=None, repr=False)  # path start (black_white: their mean)
    options: dict = field(default_factory=dict)  # batch size, seed, input range, blur, tensor baseline

    def record(self) -> dict:
        """Every field except the arrays, JSON-ready, for reproducible result files."""
        skip = {"attributions", "baseline_value"}
        out = {k: v for k, v in self.__dict__.items() if k not in skip}
        out["target"] = list(self.target)
        out["attribution_sum"] = float(np.sum(self.attributions))
        return out

    def summary(self) -> str:
        """One line: target, rule, steps and the completeness error."""
        return (
            f"IG of {self.output} {self.target} of {self.output_name!r} w.r.t. {self.tensor!r}: "
            f"{self.rule} x{self.steps}, baseline {self.baseline}, provider {self.provider}; "
            f"sum {float(np.sum(self.attributions)):.6g} vs f(x)-f(b) {self.f_x - self.f_baseline:.6g} "
            f"(error {self.completeness_error:.2e}, relative {self.relative_error:.2e})"
        )


def quadrature(rule: str, steps: int) -> tuple[Array, Array]:
    """Nodes in [0, 1] and weights of a rule with ``steps`` intervals (trapezoid: steps + 1 nodes)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps must be an integer >= 1, got {steps!r}")
    m = int(steps)
    k = np.arange(m, dtype=np.float64)
    if rule == "riemann_left":
        return k / m, np.full(m, 1.0 / m)
    if rule == "riemann_right":
        return (k + 1) / m, np.full(m, 1.0 / m)
    if rule == "riemann_mid":
        return (k + 0.5) / m, np.full(m, 1.0 / m)
    if rule == "trapezoid":
        w = np.full(m + 1, 1.0 / m)
        w[[0, -1]] /= 2
        return np.arange(m + 1) / m, w
    if rule == "gauss_legendre":
        t, w = np.polynomial.legendre.leggauss(m)
        return (t + 1) / 2, w / 2
    raise InputError(f"unknown quadrature rule {rule!r}; choose one of {RULES}")


def _batch_size(net: Network, tensor: str, batch_size: int | None, n: int) -> int:
    """Path points per provider call: ``batch_size`` or what fits ~256 MB of float64 activations (x2 for VJPs),
    shrunk to what the memory guard allows (`gradient_tools.points_per_call`)."""
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise InputError(f"batch_size must be >= 1, got {batch_size!r}")
    return points_per_call(net, n, None if batch_size is None else int(batch_size))


def _path_integral(
    prov: GradientProvider,
    fixed: dict[str, Array],
    tensor: str,
    start: Array,
    end: Array,
    output: str,
    cot: Array,
    axis: int | None,
    alphas: Array,
    weights: Array,
    batch: int,
) -> Array:
    """``(end - start) * sum_k w_k grad(start + a_k (end - start))`` over the tensor's model shape."""
    diff = end - start
    acc = np.zeros(start.shape)
    for i in range(0, alphas.size, batch):
        a = alphas[i : i + batch]
        pts = start[None] + a.reshape((-1,) + (1,) * start.ndim) * diff[None]
        feeds = {k: np.repeat(v[None], a.size, axis=0) for k, v in fixed.items()}
        feeds[tensor] = pts
        g = prov.vjp(feeds, output, np.repeat(cot[None], a.size, axis=0), tensor, axis)
        acc += np.tensordot(weights[i : i + batch], g, axes=1)
    return diff * acc


def is_affine_tail(net: Network, tensor: str, output: str, fixed: dict[str, Array] | None = None) -> bool:
    """True when every node between ``tensor`` (and the held ``fixed`` inputs) and ``output`` is affine."""
    nodes = net._schedule([output], {tensor, *(fixed or {})})
    return bool(nodes) and all(n.affine for n in nodes)


def _affine_path_integral(
    prov: GradientProvider,
    fixed: dict[str, Array],
    tensor: str,
    start: Array,
    end: Array,
    output: str,
    cot: Array,
    axis: int | None,
    alphas: Array,
    weights: Array,
) -> Array:
    """`_path_integral` for an output affine in the tensor: ``out(a) = out(start) + a (out(end) - out(start))``.

    The gradient is ``J^T c(a)`` with a constant Jacobian ``J``, so the weighted sum over the path is one VJP of
    ``sum_k w_k c(a_k)``: two forward passes and one VJP instead of one VJP per quadrature node.
    """
    feeds = {k: np.repeat(v[None], 2, axis=0) for k, v in fixed.items()}
    feeds[tensor] = np.stack([start, end])
    if axis is None:
        c = cot * float(np.sum(weights))
    else:
        o = np.asarray(prov.outputs(feeds, output), dtype=np.float64)
        logits = o[0][None] + alphas.reshape((-1,) + (1,) * cot.ndim) * (o[1] - o[0])[None]
        _, ck = softmax_cotangent(logits, np.broadcast_to(cot, logits.shape), axis + 1)
        c = np.tensordot(weights, ck, axes=1)
    one = {k: v[:1] for k, v in feeds.items()}
    g = prov.vjp(one, output, c[None], tensor, None)[0]
    return (end - start) * g


def _values(
    prov: GradientProvider,
    fixed: dict[str, Array],
    tensor: str,
    points: list[Array],
    output: str,
    cot: Array,
    axis: int | None,
) -> Array:
    feeds = {k: np.repeat(v[None], len(points), axis=0) for k, v in fixed.items()}
    feeds[tensor] = np.stack(points)
    return prov.target_values(feeds, output, np.repeat(cot[None], len(points), axis=0), axis)


def integrated_gradients(
    model: Model | Network,
    x,
    *,
    target=None,
    tensor: str | None = None,
    baseline="zeros",
    steps: int = 200,
    rule: str = "riemann_mid",
    kind: str | None = None,
    output: str | None = None,
    gradients: str | GradientProvider | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    input_range: tuple[float, float] = (0.0, 1.0),
    blur_sigma: float | None = None,
    blur_axes: tuple[int, ...] | None = None,
    tensor_baseline: str | None = None,
    provider_options: dict | None = None,
    affine_tail: bool = True,
) -> IGResult:
    """Integrated Gradients of one output unit for one point ``x``, on the input or an internal ``tensor``.

    ``baseline``: "zeros", "black" (input_range low), "white" (input_range high), "black_white" (the average of
    the black and white results, as in the SMUG paper), "blur" (Gaussian blur over the spatial axes), "uniform"
    (noise in input_range, ``seed``), or an array. For an internal tensor the path starts at zeros of that
    tensor (``tensor_baseline="zeros"``, the default for the "zeros" baseline) or at the tensor's value at the
    input baseline (``tensor_baseline="input"``, the default for every other baseline); an array of the
    tensor's shape is used as is. ``kind``: "logit" or "probability" (softmax over the class axis); None
    picks probability when a Softmax was cut off the model; ``output`` names the output tensor. ``target``:
    class index, index tuple, or None for the predicted unit. ``gradients`` names the provider (default: the
    `Model`'s, or "ir" for a `Network`). With ``affine_tail`` (default) a tensor from which the output is
    affine (e.g. SMUG's first-layer activations under pooling and a dense head) is integrated in closed form:
    the logits move linearly along the path, so one VJP of the summed softmax cotangents gives the exact
    quadrature of the same rule (`_affine_path_integral`).
    """
    t0 = time.perf_counter()
    net = model.network if isinstance(model, Model) else model
    if not isinstance(net, Network):
        raise InputError(f"expected a smugkit Model or Network, got {type(model).__name__}")
    point, mode, squeeze = _single_point(net, x)
    out = resolve_output(net, output)
    kind = target_kind(net, kind)
    tensor, info = _float_tensor(net, tensor)
    alphas, weights = quadrature(rule, steps)
    is_input = tensor in point
    fixed = _fixed_inputs(net, out, tensor, point)
    value = point[tensor] if is_input else np.asarray(net.run(point, [tensor])[tensor], dtype=np.float64)
    starts, desc = _starts(
        net,
        tensor,
        is_input,
        point,
        value,
        baseline,
        tensor_baseline,
        input_range,
        blur_sigma,
        blur_axes,
        seed,
    )
    options = dict(provider_options or {})
    name = gradients if gradients is not None else getattr(model, "gradients", "ir")
    if name == "fd" and "input_scale" not in options:  # the scale of the path, not of each step's point
        options["input_scale"] = max(float(np.abs(v).max()) for v in [value, *starts])
    _, prov = provider_for(model, gradients, **options)

    shape = net.tensor(out).shape
    values = (
        prov.outputs({tensor: value[None], **{k: v[None] for k, v in fixed.items()}}, out)[0]
        if target is None
        else None
    )
    idx = target_index(shape, target, values)
    cot = one_hot(shape, [idx])[0]
    axis = len(shape) - 1 if kind == "probability" else None
    batch = _batch_size(net, tensor, batch_size, alphas.size)
    closed = affine_tail and is_affine_tail(net, tensor, out, fixed)
    if closed:
        attrs = [
            _affine_path_integral(prov, fixed, tensor, s, value, out, cot, axis, alphas, weights)
            for s in starts
        ]
    else:
        attrs = [
            _path_integral(prov, fixed, tensor, s, value, out, cot, axis, alphas, weights, batch)
            for s in starts
        ]
    fvals = _values(prov, fixed, tensor, [value, *starts], out, cot, axis)
    if isinstance(model, Model):  # path points, plus the end points whose values check completeness
        model.calls["grad"] += (1 if closed else alphas.size) * len(starts)
        model.calls["scores"] += 1 + len(starts) * (3 if closed else 1)
    attr = np.mean(attrs, axis=0)
    f_x, f_b = float(fvals[0]), float(np.mean(fvals[1:]))
    err = abs(float(attr.sum()) - (f_x - f_b))
    rel = err / max(abs(f_x - f_b), 1e-12)
    tensor_mode = mode if (mode != "batch" or info.shape and info.shape[0] == 1) else "stacked"
    attr = unstack(attr[None], tensor_mode)
    if squeeze and attr.ndim and attr.shape[0] == 1:
        attr = attr[0]
    return IGResult(
        attributions=attr,
        tensor=tensor,
        output_name=out,
        target=idx,
        output=kind,
        steps=int(steps),
        rule=rule,
        baseline=desc,
        provider=prov.name,
        f_x=f_x,
        f_baseline=f_b,
        completeness_error=err,
        relative_error=rel,
        evaluations=len(starts) * alphas.size,
        seconds=time.perf_counter() - t0,
        baseline_value=np.mean(starts, axis=0),
        options={
            "batch_size": batch,
            "seed": seed,
            "input_range": [float(v) for v in input_range],
            "blur_sigma": blur_sigma,
            "blur_axes": None if blur_axes is None else list(blur_axes),
            "tensor_baseline": tensor_baseline,
            "precision": prov.precision,
            "affine_tail": bool(closed),
        },
    )


def _single_point(net: Network, x) -> tuple[dict[str, Array], str, bool]:
    """One point as model-shaped float64 arrays, its calling convention, and whether a batch axis was added."""
    x, squeeze = _as_model_shape(net, x)
    feeds, mode = stack_feeds(net, x)
    n = next(iter(feeds.values())).shape[0]
    if n != 1:
        raise InputError(f"integrated_gradients explains one point; got {n} (loop over the points)")
    return (
        {k: v[0] if v.dtype.kind in "iu" else v[0].astype(np.float64) for k, v in feeds.items()},
        mode,
        squeeze,
    )


def _float_tensor(net: Network, tensor: str | None):
    """The tensor to attribute to (default: the single input) and its info; integer id tensors are refused."""
    if tensor is None:
        if len(net.inputs) != 1:
            raise InputError(f"model has inputs {[t.name for t in net.inputs]}: name the tensor with tensor=")
        tensor = net.input.name
    info = net.tensor(tensor)
    if info.dtype.startswith(("int", "uint")):
        raise GradientError(
            f"tensor {tensor!r} holds integer ids ({info.dtype}); integrate on a float tensor "
            f"such as an embedding output instead"
        )
    return tensor, info


def _fixed_inputs(net: Network, out: str, tensor: str, point: dict[str, Array]) -> dict[str, Array]:
    """Model inputs the output needs besides the tensor (other inputs, skip connections), held at the point."""
    others = [k for k in required_inputs(net, out, {tensor}) if k != tensor]
    missing = [k for k in others if k not in point]
    if missing:
        raise InputError(f"the output also needs inputs {missing}: pass all inputs in a dict")
    return {k: point[k] for k in others}


def _as_model_shape(net: Network, x) -> tuple[object, bool]:
    """Accept one point without its leading batch axis of 1 (e.g. CHW for a 1xCxHxW model): add it back."""
    if isinstance(x, dict) or len(net.inputs) != 1:
        return x, False
    shape = net.input.shape
    arr = np.asarray(x)
    if len(shape) > 1 and shape[0] == 1 and arr.shape == shape[1:]:
        return arr.reshape(shape), True
    return x, False


def _starts(
    net: Network,
    tensor: str,
    is_input: bool,
    point: dict[str, Array],
    value: Array,
    baseline,
    tensor_baseline: str | None,
    input_range,
    blur_sigma,
    blur_axes,
    seed,
) -> tuple[list[Array], str]:
    """The path start(s) for the tensor (two for black_white) and a description of the baseline."""
    kinds = ["black", "white"] if isinstance(baseline, str) and baseline == "black_white" else [baseline]
    name = baseline if isinstance(baseline, str) else "array"
    if is_input:
        return [
            make_baseline(k, value, input_range=input_range, blur_sigma=blur_sigma, axes=blur_axes, seed=seed)
            for k in kinds
        ], name
    if tensor_baseline not in (None, "zeros", "input"):
        raise InputError(f"tensor_baseline must be 'zeros', 'input' or None, got {tensor_baseline!r}")
    if not isinstance(baseline, str) and np.shape(baseline) == value.shape and tensor_baseline != "input":
        return [make_baseline(baseline, value)], f"array on {tensor!r}"
    mode = tensor_baseline or ("zeros" if isinstance(baseline, str) and baseline == "zeros" else "input")
    if mode == "zeros":
        if not (isinstance(baseline, str) and baseline == "zeros"):
            raise InputError(
                f"baseline {name!r} is an input baseline but tensor_baseline='zeros' starts the path "
                f"at zeros of {tensor!r}; pass tensor_baseline='input' to map it through the network"
            )
        return [np.zeros_like(value)], f"zeros of {tensor!r}"
    if len(net.inputs) != 1:
        raise InputError("tensor_baseline='input' needs a single-input model")
    x_in = point[net.input.name]
    starts = []
    for k in kinds:
        b = make_baseline(k, x_in, input_range=input_range, blur_sigma=blur_sigma, axes=blur_axes, seed=seed)
        starts.append(net.run({net.input.name: b}, [tensor])[tensor])
    return starts, f"{tensor!r} at input baseline {name}"


@dataclass(frozen=True)
class IGOptions:
    """Integrated Gradients options (see `integrated_gradients`); validated when the method is made."""

    steps: int = 200
    baseline: str = "zeros"
    rule: str = "riemann_mid"
    kind: str | None = None
    tensor: str | None = None
    tensor_baseline: str | None = None
    input_range: tuple[float, float] = (0.0, 1.0)
    blur_sigma: float | None = None
    batch_size: int | None = None
    seed: int = 0
    # Captum's names: n_steps for steps, internal_batch_size for batch_size, baselines for baseline
    # (also "black+white", the SMUG paper's average of the black and white results)
    n_steps: int | None = None
    internal_batch_size: int | None = None
    baselines: str | None = None

    def __post_init__(self) -> None:
        for alias, own, default in (
            ("n_steps", "steps", 200),
            ("internal_batch_size", "batch_size", None),
            ("baselines", "baseline", "zeros"),
        ):
            value = getattr(self, alias)
            if alias == "baselines" and value == "black+white":
                value = "black_white"
            if value is None:
                continue
            if getattr(self, own) not in (default, value):
                raise InputError(
                    f"give {own} or its Captum name {alias}, not both ({getattr(self, own)!r}, {value!r})"
                )
            object.__setattr__(self, own, value)
        if self.baseline == "black+white":
            object.__setattr__(self, "baseline", "black_white")
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1
        ):
            raise InputError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        quadrature(self.rule, self.steps)
        if self.baseline not in BASELINES:
            raise InputError(f"unknown baseline {self.baseline!r}; choose one of {BASELINES}")
        if self.kind is not None and self.kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS} or None, got {self.kind!r}")


@register_method
class IntegratedGradients(Method):
    """Integrated Gradients on the input (or an internal tensor), with its completeness error as a diagnostic."""

    name = "integrated_gradients"
    Options = IGOptions
    needs = frozenset({"grad"})
    fast_gradients = True

    def compute(self, model: Model, x: Array, target: int):
        o = self.options
        res = integrated_gradients(
            model,
            x,
            target=target,
            tensor=o.tensor,
            baseline=o.baseline,
            steps=o.steps,
            rule=o.rule,
            kind=o.kind,
            batch_size=o.batch_size,
            seed=o.seed,
            input_range=o.input_range,
            blur_sigma=o.blur_sigma,
            tensor_baseline=o.tensor_baseline,
        )
        diagnostics = {
            k: v
            for k, v in res.record().items()
            if k in ("f_x", "f_baseline", "completeness_error", "relative_error", "evaluations", "baseline")
        }
        return res.attributions, res.tensor, diagnostics
