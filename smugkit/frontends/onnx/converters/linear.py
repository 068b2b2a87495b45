"""Converters of weighted layers: Gemm, MatMul, Conv, and BatchNormalization (folded into them when it can)."""

from __future__ import annotations

import numpy as np
import onnx

from smugkit.errors import ModelError
from smugkit.frontends.onnx.context import Context
from smugkit.frontends.onnx.converters.common import F64, spatial, transpose
from smugkit.frontends.onnx.folding import fold_batchnorm
from smugkit.ir import elementwise as ew
from smugkit.ir import linear as lin


def _dense(ctx: Context, name: str, x: str, w, b, out: str) -> None:
    params = {"W": np.asarray(w, F64)}
    if b is not None:
        params["b"] = np.asarray(b, F64)
    ctx.add(lin.Dense(name=name, inputs=[x], output=out, params=params))


def _gemm_bias(ctx: Context, name: str, inp: str, out: str, c: np.ndarray) -> None:
    """Gemm's C term when it cannot be folded into the weights: a broadcast Add after the product."""
    ctx.add(
        ew.Add(
            name=f"{name}/C",
            inputs=[inp],
            output=out,
            params={"c1": np.asarray(c, F64)},
            attrs={"slots": [0], "rank": 2},
        )
    )


def gemm(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """``alpha * A' B' + beta * C`` with one constant factor: a Dense (or MatMulLeft) and a bias."""
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    ta, tb = a.get("transA", 0), a.get("transB", 0)
    A, B = node.input[0], node.input[1]
    C = node.input[2] if len(node.input) > 2 and node.input[2] else ""
    if C and not ctx.is_const(C):
        return ctx.reject(node, name, "Gemm with a non-constant C")
    c = beta * ctx.const(C) if C else None
    if ctx.is_const(B) and not ctx.is_const(A):
        w = alpha * (ctx.const(B).T if tb else ctx.const(B))
        x = ctx.resolve(A)
        if ta:
            x = transpose(ctx, f"{name}/transA", x, (1, 0))
        if c is not None and c.size == w.shape[1] and (c.ndim < 2 or c.shape[0] == 1):  # not a (M, 1) column
            return _dense(ctx, name, x, w, c.reshape(-1), node.output[0])
        if c is None:
            return _dense(ctx, name, x, w, None, node.output[0])
        mid = ctx.fresh(f"{node.output[0]}_mm")
        _dense(ctx, name, x, w, None, mid)
        _gemm_bias(ctx, name, mid, node.output[0], c)
    elif ctx.is_const(A) and not ctx.is_const(B):
        m = alpha * (ctx.const(A).T if ta else ctx.const(A))
        x = ctx.resolve(B)
        if tb:
            x = transpose(ctx, f"{name}/transB", x, (1, 0))
        out = node.output[0] if c is None else ctx.fresh(f"{node.output[0]}_mm")
        ctx.add(lin.MatMulLeft(name=name, inputs=[x], output=out, params={"A": np.asarray(m, F64)}))
        if c is not None:
            _gemm_bias(ctx, name, out, node.output[0], c)
    else:
        ctx.reject(node, name, "Gemm of two non-constant tensors")


def matmul(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """A product with a constant right factor is a Dense; with a constant 2-D left factor, a MatMulLeft."""
    A, B = node.input
    if ctx.is_const(B) and not ctx.is_const(A):
        _dense(ctx, name, ctx.resolve(A), ctx.const(B), None, node.output[0])
    elif ctx.is_const(A) and not ctx.is_const(B):
        if ctx.const(A).ndim != 2:
            return ctx.reject(node, name, "MatMul with a constant left operand of rank != 2")
        ctx.add(
            lin.MatMulLeft(
                name=name,
                inputs=[ctx.resolve(B)],
                output=node.output[0],
                params={"A": np.asarray(ctx.const(A), F64)},
            )
        )
    else:
        ctx.reject(node, name, "MatMul of two non-constant tensors")


def conv(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """A 1-D or 2-D convolution with constant weights."""
    if not ctx.is_const(node.input[1]):
        return ctx.reject(node, name, "Conv with non-constant weights")
    w = np.asarray(ctx.const(node.input[1]), F64)
    b = np.asarray(ctx.const(node.input[2]), F64) if len(node.input) > 2 and node.input[2] else None
    x = ctx.arg(node, 0)
    attrs = spatial(a, ctx.shapes[x], list(a.get("kernel_shape", w.shape[2:])))
    if attrs is None:
        return ctx.reject(node, name, f"Conv with {len(ctx.shapes[x]) - 2} spatial axes")
    group = a.get("group", 1)
    channels = ctx.shapes[x][1]
    if group < 1 or channels % group or w.ndim != len(ctx.shapes[x]) or w.shape[1] * group != channels:
        raise ValueError(
            f"group={group} and weight shape {list(w.shape)} do not fit {channels} input channels"
        )
    attrs["group"] = group
    attrs.pop("ceil_extra")
    params = {"W": w} if b is None else {"W": w, "b": b}
    ctx.add(lin.Conv(name=name, inputs=[x], output=node.output[0], params=params, attrs=attrs))


def batchnorm(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Inference-mode BatchNorm: folded into the Conv/Dense before it, else a per-channel Affine."""
    if a.get("training_mode", 0):
        raise ModelError(
            f"{ctx.label}: BatchNormalization {name!r} has training_mode=1 and normalises with batch "
            f"statistics; export the model in evaluation mode"
        )
    if len(node.output) > 1 and any(node.output[1:]):
        return ctx.reject(node, name, "BatchNormalization in training mode")
    if not all(ctx.is_const(t) for t in node.input[1:5]):
        return ctx.reject(node, name, "BatchNormalization with non-constant statistics")
    gamma, beta, mean, var = (np.asarray(ctx.const(t), F64) for t in node.input[1:5])
    scale = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
    shift = beta - mean * scale
    if fold_batchnorm(ctx, node, name, scale, shift):
        return
    x = ctx.arg(node, 0)
    rank = len(ctx.shapes[x])
    shp = (scale.size,) + (1,) * (rank - 2)
    ctx.add(
        ew.Affine(
            name=name,
            inputs=[x],
            output=node.output[0],
            params={"scale": scale.reshape(shp), "shift": shift.reshape(shp)},
        )
    )
    ctx.notes.append(f"kept BatchNormalization {name!r} as a per-channel affine op")
