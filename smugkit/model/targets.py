"""Points, targets and cotangents: the calling conventions every gradient provider and the Model share.

Points follow the IR's conventions: an array of a tensor's model shape is one point, ``(S, *shape)`` is a
stack, and for a model whose batch axis is 1 a batch ``(N, *shape[1:])`` is N points. The target is one unit
of an output tensor: a logit (raw output) or a softmax probability over the output's class (last) axis.
"""

from __future__ import annotations

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network

Array = np.ndarray
KINDS = ("logit", "probability")


def stack_points(net: Network, name: str, value) -> tuple[Array, str]:
    """Points for tensor ``name`` as a stack ``(S, *shape)`` with the convention used ("single", "stacked", "batch")."""
    shape = net.tensor(name).shape
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"tensor {name!r}: expected a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InputError(f"tensor {name!r}: the values contain NaN or Inf")
    if arr.shape == shape:
        return arr[None], "single"
    if arr.shape[1:] == shape:
        return arr, "stacked"
    if shape and shape[0] == 1 and arr.ndim == len(shape) and arr.shape[1:] == shape[1:]:
        return arr[:, None], "batch"
    raise InputError(
        f"tensor {name!r}: expected shape {list(shape)} (or a stack of them), got {list(arr.shape)}"
    )


def unstack(value: Array, mode: str) -> Array:
    """Undo `stack_points` on a result: model shape for one point, ``(N, *shape[1:])`` for a batch."""
    if mode == "single":
        return value[0]
    if mode == "batch" and value.ndim >= 2 and value.shape[1] == 1:
        return value[:, 0]
    return value


def stack_feeds(net: Network, x) -> tuple[dict[str, Array], str]:
    """Stacked feeds from an array (single-input model) or a dict of arrays; all must agree on S and convention."""
    if not isinstance(x, dict):
        if len(net.inputs) != 1:
            raise InputError(f"model has inputs {[t.name for t in net.inputs]}: pass a dict of arrays")
        x = {net.inputs[0].name: x}
    feeds, modes, sizes = {}, set(), set()
    for name, value in x.items():
        feeds[name], mode = stack_points(net, name, value)
        modes.add(mode)
        sizes.add(feeds[name].shape[0])
    if not feeds:
        raise InputError("no input values given")
    if len(modes) > 1 or len(sizes) > 1:
        raise InputError(f"inputs disagree on stacking: sizes {sorted(sizes)}, conventions {sorted(modes)}")
    return feeds, modes.pop()


def resolve_output(net: Network, name: str | None) -> str:
    """The output tensor to explain: ``name`` or the single output."""
    if name is None:
        if len(net.outputs) != 1:
            raise InputError(f"model has outputs {[o.name for o in net.outputs]}: name one with output_name=")
        return net.outputs[0].name
    if name not in {o.name for o in net.outputs} and name not in net.tensors:
        raise InputError(f"no output named {name!r}; outputs: {[o.name for o in net.outputs]}")
    return name


def target_kind(net: Network, kind: str | None) -> str:
    """``"logit"`` or ``"probability"``; None means probability when a Softmax was cut off the model's end."""
    if kind is None:
        return "probability" if net.origin.post_processing == "softmax" else "logit"
    if kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS} (or None), got {kind!r}")
    return kind


def target_index(shape: tuple[int, ...], target, values: Array | None = None) -> tuple[int, ...]:
    """Validate a target against an output model shape; None is the predicted unit (argmax of ``values``)."""
    if target is None:
        if values is None:
            raise InputError("target=None needs the output values to pick the predicted class")
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(values)), shape))
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not shape:
            raise InputError("the output is a scalar: use target=() or None")
        if any(d != 1 for d in shape[:-1]):
            raise InputError(
                f"output shape {list(shape)} has several non-class axes: give target as an index "
                f"tuple of length {len(shape)}"
            )
        if not 0 <= int(target) < shape[-1]:
            raise InputError(
                f"target class {int(target)} out of range: the output has {shape[-1]} classes "
                f"(0..{shape[-1] - 1})"
            )
        return (0,) * (len(shape) - 1) + (int(target),)
    try:
        idx = tuple(int(i) for i in target)
    except (TypeError, ValueError):
        raise InputError(f"target must be None, a class index or an index tuple, got {target!r}") from None
    if len(idx) != len(shape) or any(not 0 <= i < d for i, d in zip(idx, shape)):
        raise InputError(f"target index {idx} out of range for output shape {list(shape)}")
    return idx


def one_hot(shape: tuple[int, ...], indices: list[tuple[int, ...]]) -> Array:
    """Stacked cotangent ``(S, *shape)`` with a 1 at each point's target index."""
    cot = np.zeros((len(indices),) + tuple(shape))
    for s, idx in enumerate(indices):
        cot[(s,) + idx] = 1.0
    return cot


def softmax(z: Array, axis: int = -1) -> Array:
    """Numerically stable softmax over ``axis`` (float64): the one softmax of the package."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cotangent(logits: Array, cotangent: Array, axis: int) -> tuple[Array, Array]:
    """Probabilities and the cotangent on the logits for a cotangent on the probabilities (stacked axis)."""
    p = softmax(logits, axis)
    return p, p * (cotangent - (cotangent * p).sum(axis=axis, keepdims=True))


def reduce_points(values: Array) -> Array:
    """Sum each stacked point's values: ``(S, ...) -> (S,)``."""
    return values.reshape(values.shape[0], -1).sum(axis=1)


def model_input(net: Network, x) -> np.ndarray:
    """One point of the model input's shape (a missing batch axis of 1 is added); NaN/Inf are refused."""
    x = np.asarray(x, dtype=np.float64)
    shape = net.input.shape
    squeezed = tuple(d for d in shape if d != 1)
    if x.shape != shape and tuple(d for d in x.shape if d != 1) == squeezed:
        x = x.reshape(shape)  # e.g. (1, 28, 28) for a (1, 1, 28, 28) input
    if x.shape != shape:
        raise InputError(
            f"input of shape {list(x.shape)} does not match the model input {net.input.name!r} "
            f"of shape {list(shape)}"
        )
    if not np.all(np.isfinite(x)):
        raise InputError("input contains NaN or Inf values")
    return x
