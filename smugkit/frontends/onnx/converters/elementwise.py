"""Converters of broadcasting arithmetic: Add, Sub, Mul, Div (a constant bias is folded into the layer before)."""

from __future__ import annotations

import numpy as np
import onnx

from smugkit.frontends.onnx.context import Context
from smugkit.frontends.onnx.converters.common import F64
from smugkit.frontends.onnx.folding import fold_bias
from smugkit.ir import OPS


def binary(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """The IR op of the same op type; constant operands become its ``c0``/``c1`` params, the rest its inputs."""
    params, slots, inputs, ranks = {}, [], [], []
    for k in range(2):
        t = node.input[k]
        if ctx.is_const(t):
            c = np.asarray(ctx.const(t), F64)
            params[f"c{k}"] = c
            ranks.append(c.ndim)
        else:
            slots.append(k)
            inputs.append(ctx.resolve(t))
            ranks.append(len(ctx.shapes[ctx.resolve(t)]))
    if fold_bias(ctx, node, name, params, inputs):
        return
    ctx.add(
        OPS[node.op_type](
            name=name,
            inputs=inputs,
            output=node.output[0],
            params=params,
            attrs={"slots": slots, "rank": max(ranks)},
        )
    )
