"""Gradients of one output unit (logit or softmax probability) w.r.t. any tensor, through any provider."""

from __future__ import annotations

import numpy as np

from smugkit.errors import GradientError, InputError
from smugkit.ir import Network
from smugkit.model.providers import GradientProvider, get_provider
from smugkit.model.targets import one_hot, resolve_output, stack_feeds, target_index, target_kind, unstack
from smugkit.runtime.vjp_graph import needed_nodes

Array = np.ndarray


def provider_for(
    model, gradients: str | GradientProvider | None = None, /, **options
) -> tuple[Network, GradientProvider]:
    """The network and gradient provider behind ``model`` (a `Model` or a `Network`).

    A `Model` keeps its own provider unless ``gradients`` (or provider options) ask for another one.
    """
    from smugkit.model.model import Model

    if isinstance(model, Model):
        if gradients is None and not options:
            return model.network, model.provider
        if gradients is None or gradients == model.gradients:
            options = {**model.provider_options, **options}
        return model.network, get_provider(gradients or model.gradients, model.network, **options)
    if not isinstance(model, Network):
        raise InputError(f"expected a smugkit Model or Network, got {type(model).__name__}")
    return model, get_provider(gradients or "ir", model, **options)


def fastest_provider(net: Network) -> str:
    """The fastest exact provider for ``net``: "onnx" (one batched onnxruntime call, float32) when every op
    of the network has an ONNX gradient emitter, else "ir" (numpy, float64)."""
    from smugkit.runtime.vjp_graph import EMITTERS

    return "onnx" if {n.op_type for n in net.nodes} <= set(EMITTERS) else "ir"


def gradient(
    model,
    x,
    /,
    *,
    target=None,
    tensor: str | None = None,
    kind: str | None = None,
    output: str | None = None,
    gradients: str | GradientProvider | None = None,
    batch_size: int | None = None,
    **provider_options,
) -> Array:
    """Gradient of one output unit (logit or softmax probability) w.r.t. ``tensor`` at the points ``x``.

    ``x`` holds model inputs (array or dict, the IR's point conventions); ``tensor`` defaults to the single
    input; ``target`` is a class index, an index tuple into the output, or None for each point's predicted
    unit; ``kind`` is "logit" or "probability", None meaning what the ONNX model outputs (probability when a
    Softmax was cut off its end); ``output`` names the output tensor (default: the single output). ``model`` is
    a `Model` (its gradient provider is used unless ``gradients`` names another) or a `Network`
    (``gradients`` defaults to "ir"). The result has ``tensor``'s shape in the same convention as ``x``.
    """
    from smugkit.model.model import Model

    net, prov = provider_for(model, gradients, **provider_options)
    feeds, mode = stack_feeds(net, x)
    out = resolve_output(net, output)
    kind = target_kind(net, kind)
    wrt = tensor if tensor is not None else (net.input.name if len(net.inputs) == 1 else None)
    if wrt is None:
        raise InputError(f"model has inputs {[t.name for t in net.inputs]}: name the tensor with tensor=")
    if net.tensor(wrt).dtype.startswith(("int", "uint")):
        raise GradientError(f"tensor {wrt!r} holds integer ids ({net.tensor(wrt).dtype}); it has no gradient")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    shape = net.tensor(out).shape
    axis = len(shape) - 1 if kind == "probability" else None
    s = next(iter(feeds.values())).shape[0]
    if isinstance(model, Model):
        model.calls["grad"] += s
    values = prov.outputs(feeds, out) if target is None else None
    idx = [target_index(shape, target, None if values is None else values[i]) for i in range(s)]
    cot = one_hot(shape, idx)
    step = batch_size or s
    parts = [
        prov.vjp({k: v[i : i + step] for k, v in feeds.items()}, out, cot[i : i + step], wrt, axis)
        for i in range(0, s, step)
    ]
    return unstack(np.concatenate(parts), mode if _tensor_follows(net, wrt, mode) else "stacked")


def _tensor_follows(net: Network, tensor: str, mode: str) -> bool:
    """True when results for ``tensor`` can use the input's convention (a batch needs a leading 1 axis)."""
    shape = net.tensor(tensor).shape
    return mode != "batch" or bool(shape) and shape[0] == 1


def required_inputs(net: Network, output: str, fed: set[str]) -> list[str]:
    """Model inputs the output still needs when the tensors in ``fed`` are given (e.g. skip connections)."""
    inputs = {i.name for i in net.inputs}
    need = set()
    for n in needed_nodes(net, [output], fed | inputs):
        need.update(t for t in n.inputs if t in inputs and t not in fed)
    if output in inputs and output not in fed:
        need.add(output)
    return sorted(need)
