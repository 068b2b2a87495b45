"""Converters of activations: Relu, Sigmoid, Tanh, LeakyRelu, Clip, Softmax."""

from __future__ import annotations

import numpy as np
import onnx

from smugkit.frontends.onnx.context import Context
from smugkit.ir import OPS
from smugkit.ir import activations as act
from smugkit.ir import shape_ops as so


def unary(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """An attribute-free element-wise op: the IR op of the same op type on the first input."""
    ctx.add(OPS[node.op_type](name=name, inputs=[ctx.arg(node, 0)], output=node.output[0]))


def leaky_relu(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """LeakyRelu with its slope (ONNX's default 0.01)."""
    ctx.add(
        act.LeakyRelu(
            name=name,
            inputs=[ctx.arg(node, 0)],
            output=node.output[0],
            attrs={"alpha": float(a.get("alpha", 0.01))},
        )
    )


def clip(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Clip with constant bounds, from attributes (opset < 11) or inputs."""
    lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    for k in (1, 2):
        if len(node.input) > k and node.input[k]:
            if not ctx.is_const(node.input[k]):
                return ctx.reject(node, name, "Clip with non-constant bounds")
            v = float(ctx.const(node.input[k]))
            lo, hi = (v, hi) if k == 1 else (lo, v)
    ctx.add(
        act.Clip(
            name=name,
            inputs=[ctx.arg(node, 0)],
            output=node.output[0],
            attrs={"min": float(lo), "max": float(hi)},
        )
    )


def softmax(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Softmax over one axis; before opset 13 it normalises over all axes from ``axis`` on (a 2-D reshape)."""
    x = ctx.arg(node, 0)
    shape = ctx.shapes[x]
    default = -1 if ctx.opset >= 13 else 1
    axis = a.get("axis", default) % len(shape)
    if ctx.opset >= 13 or axis == len(shape) - 1:
        ctx.add(act.Softmax(name=name, inputs=[x], output=node.output[0], attrs={"axis": axis}))
        return
    flat = (int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))
    mid = ctx.fresh(f"{x}_2d")
    ctx.add(so.Reshape(name=f"{name}/flatten", inputs=[x], output=mid, attrs={"shape": flat}))
    sm = ctx.fresh(f"{mid}_softmax")
    ctx.add(act.Softmax(name=name, inputs=[mid], output=sm, attrs={"axis": 1}))
    ctx.add(so.Reshape(name=f"{name}/restore", inputs=[sm], output=node.output[0], attrs={"shape": shape}))
