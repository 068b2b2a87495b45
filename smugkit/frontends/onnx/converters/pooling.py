"""Converters of pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, spatial ReduceMean/Max."""

from __future__ import annotations

import onnx

from smugkit.frontends.onnx.context import Context
from smugkit.frontends.onnx.converters.common import axes, flag, spatial
from smugkit.ir import pooling as pool
from smugkit.ir import shape_ops as so


def pooling(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """MaxPool / AveragePool over 1 or 2 spatial axes (auto_pad and ceil_mode become explicit pads)."""
    if len(node.output) > 1 and node.output[1]:
        return ctx.reject(node, name, "MaxPool with an Indices output")
    x = ctx.arg(node, 0)
    attrs = spatial(a, ctx.shapes[x], list(a["kernel_shape"]), flag(a, "ceil_mode"))
    if attrs is None:
        return ctx.reject(node, name, f"{node.op_type} with {len(ctx.shapes[x]) - 2} spatial axes")
    if node.op_type == "MaxPool":
        attrs.pop("ceil_extra")
        ctx.add(pool.MaxPool(name=name, inputs=[x], output=node.output[0], attrs=attrs))
    else:
        attrs["count_include_pad"] = flag(a, "count_include_pad")
        ctx.add(pool.AveragePool(name=name, inputs=[x], output=node.output[0], attrs=attrs))


def global_average_pool(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """The mean over all spatial axes."""
    ctx.add(pool.GlobalAveragePool(name=name, inputs=[ctx.arg(node, 0)], output=node.output[0]))


def reduce_mean(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """A mean over every spatial axis (the dynamo export of ``AdaptiveAvgPool2d(1)``) is a GlobalAveragePool."""
    x = ctx.arg(node, 0)
    shape = ctx.shapes[x]
    if len(node.input) > 1 and node.input[1] and not ctx.is_const(node.input[1]):
        return ctx.reject(node, name, "ReduceMean with non-constant axes")
    over = axes(ctx, node, a)
    over = sorted({ax % len(shape) for ax in over}) if over else list(range(len(shape)))
    if len(shape) < 3 or over != list(range(2, len(shape))):
        return ctx.reject(node, name, "ReduceMean over axes other than all spatial axes")
    if a.get("keepdims", 1):
        ctx.add(pool.GlobalAveragePool(name=name, inputs=[x], output=node.output[0]))
        return
    mid = ctx.fresh(f"{node.output[0]}_keepdims")
    ctx.add(pool.GlobalAveragePool(name=name, inputs=[x], output=mid))
    ctx.add(
        so.Reshape(name=f"{name}/squeeze", inputs=[mid], output=node.output[0], attrs={"shape": shape[:2]})
    )


def global_max_pool(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """The maximum over all spatial axes: a MaxPool whose kernel is the whole plane."""
    x = ctx.arg(node, 0)
    shape = ctx.shapes[x]
    attrs = spatial({}, shape, list(shape[2:]))
    if attrs is None:
        return ctx.reject(node, name, f"GlobalMaxPool with {len(shape) - 2} spatial axes")
    attrs.pop("ceil_extra")
    ctx.add(pool.MaxPool(name=name, inputs=[x], output=node.output[0], attrs=attrs))


def reduce_max(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """A max over every spatial axis (``amax`` over time in a text CNN) is a MaxPool over the whole plane."""
    x = ctx.arg(node, 0)
    shape = ctx.shapes[x]
    if len(node.input) > 1 and node.input[1] and not ctx.is_const(node.input[1]):
        return ctx.reject(node, name, "ReduceMax with non-constant axes")
    over = axes(ctx, node, a)
    over = sorted({ax % len(shape) for ax in over}) if over else list(range(len(shape)))
    if len(shape) < 3 or over != list(range(2, len(shape))):
        return ctx.reject(node, name, "ReduceMax over axes other than all spatial axes")
    attrs = spatial({}, shape, list(shape[2:]))
    if attrs is None:
        return ctx.reject(node, name, f"ReduceMax over {len(shape) - 2} spatial axes")
    attrs.pop("ceil_extra")
    if a.get("keepdims", 1):
        ctx.add(pool.MaxPool(name=name, inputs=[x], output=node.output[0], attrs=attrs))
        return
    mid = ctx.fresh(f"{node.output[0]}_keepdims")
    ctx.add(pool.MaxPool(name=name, inputs=[x], output=mid, attrs=attrs))
    ctx.add(
        so.Reshape(name=f"{name}/squeeze", inputs=[mid], output=node.output[0], attrs={"shape": shape[:2]})
    )
