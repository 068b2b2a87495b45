"""Converters of shape-only ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose; Identity, Dropout, Cast alias."""

from __future__ import annotations

import numpy as np
import onnx

from smugkit.errors import ModelError
from smugkit.frontends.onnx.context import Context
from smugkit.frontends.onnx.converters.common import axes, transpose
from smugkit.ir import shape_ops as so


def _reshape_to(ctx: Context, node: onnx.NodeProto, name: str, shape) -> None:
    ctx.add(
        so.Reshape(
            name=name,
            inputs=[ctx.arg(node, 0)],
            output=node.output[0],
            attrs={"shape": tuple(int(d) for d in shape)},
        )
    )


def reshape(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Reshape to a constant shape (0 copies the input's dimension unless ``allowzero``; -1 is inferred)."""
    if not ctx.is_const(node.input[1]):
        return ctx.reject(node, name, "Reshape to a non-constant shape")
    src = ctx.arg_shape(node)
    target = [int(d) for d in ctx.const(node.input[1]).reshape(-1)]
    if not a.get("allowzero", 0):
        target = [src[i] if d == 0 else d for i, d in enumerate(target)]
    try:
        shape = np.empty(src, dtype=np.int8).reshape(target).shape
    except ValueError:
        raise ModelError(f"{ctx.label}: Reshape {name!r} cannot reshape {list(src)} to {target}") from None
    _reshape_to(ctx, node, name, shape)


def flatten(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Flatten to 2-D around ``axis``."""
    src = ctx.arg_shape(node)
    axis = a.get("axis", 1)
    axis = axis + len(src) if axis < 0 else axis
    _reshape_to(ctx, node, name, (int(np.prod(src[:axis])), int(np.prod(src[axis:]))))


def squeeze(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Drop the given size-1 axes (all of them when none are given)."""
    src = ctx.arg_shape(node)
    drop = axes(ctx, node, a)
    drop = [i for i, d in enumerate(src) if d == 1] if drop is None else [x % len(src) for x in drop]
    _reshape_to(ctx, node, name, [d for i, d in enumerate(src) if i not in drop])


def unsqueeze(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Insert size-1 axes at the given positions of the output."""
    src = list(ctx.arg_shape(node))
    new = axes(ctx, node, a)
    for ax in sorted(x % (len(src) + len(new)) for x in new):
        src.insert(ax, 1)
    _reshape_to(ctx, node, name, src)


def transpose_(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Permute the axes (reversed when ``perm`` is absent)."""
    rank = len(ctx.arg_shape(node))
    transpose(ctx, name, ctx.arg(node, 0), a.get("perm", list(range(rank))[::-1]), node.output[0])


def identity(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """No op: the output is another name of the input."""
    ctx.make_alias(node.output[0], ctx.arg(node, 0))


def dropout(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Inference-mode Dropout is the identity; a training-mode one is refused."""
    if len(node.output) > 1 and node.output[1] and ctx.onnx_consumers.get(node.output[1], 0):
        return ctx.reject(node, name, "Dropout whose mask output is used")
    if len(node.input) > 2 and node.input[2] and not ctx.is_const(node.input[2]):
        raise ModelError(
            f"{ctx.label}: Dropout {name!r} takes training_mode from a graph input; export the model "
            f"in evaluation mode"
        )
    if len(node.input) > 2 and node.input[2] and bool(np.asarray(ctx.const(node.input[2])).reshape(-1)[0]):
        raise ModelError(
            f"{ctx.label}: Dropout {name!r} has training_mode=1 and is random at inference; "
            f"export the model in evaluation mode"
        )
    ctx.make_alias(node.output[0], ctx.arg(node, 0))


def cast(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """A Cast to a float type (or between integer types) is the identity on the IR's float64 values."""
    to = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
    x = ctx.arg(node, 0)
    if to.kind == "f" or to.kind in "iu" and ctx.dtypes.get(x, "float32").startswith(("int", "uint")):
        ctx.make_alias(node.output[0], x)
        return
    ctx.reject(node, name, f"Cast of a float tensor to {to.name}")
