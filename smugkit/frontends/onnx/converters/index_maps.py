"""Converters of data-movement ops lowered to `IndexMap`: Concat, Gather, Slice, Split, Pad (and Embedding)."""

from __future__ import annotations

import numpy as np
import onnx

from smugkit.frontends.onnx.context import Context
from smugkit.frontends.onnx.converters.common import F64
from smugkit.guard import check_bytes, nbytes
from smugkit.ir import shape_ops as so


def _index_op(ctx: Context, name, kind, operands, fn, output, extra_fill=None) -> None:
    """Lower a data-movement op to `IndexMap` by applying ``fn`` to arrays of source positions."""
    var = [ctx.resolve(t) for t, is_const in operands if not is_const]
    sizes = [nbytes(ctx.shapes[v], 1) for v in var]
    check_bytes(
        8 * (sum(sizes) + sum(ctx.const(t).size for t, c in operands if c)), f"{ctx.label}: {kind} {name!r}"
    )
    total = sum(sizes)
    pos, fills, start, fstart = [], [], 0, total
    vi = 0
    for t, is_const in operands:
        if is_const:
            c = np.asarray(ctx.const(t), F64)
            pos.append(np.arange(fstart, fstart + c.size).reshape(c.shape))
            fills.append(c.reshape(-1))
            fstart += c.size
        else:
            n = sizes[vi]
            pos.append(np.arange(start, start + n).reshape(ctx.shapes[var[vi]]))
            start += n
            vi += 1
    fill_value_index = fstart
    if extra_fill is not None:
        fills.append(np.asarray([extra_fill], F64))
    idx = np.asarray(fn(*pos, fill_value_index))
    params = {"index": idx.reshape(-1).astype(np.int64)}
    if fills:
        params["fill"] = np.concatenate(fills)
    ctx.add(
        so.IndexMap(
            name=name,
            inputs=var,
            output=output,
            params=params,
            attrs={"shape": tuple(idx.shape), "sizes": sizes, "kind": kind},
        )
    )


def concat(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Concatenate variable and constant tensors along ``axis``."""
    axis = a["axis"]
    ops = [(t, ctx.is_const(t)) for t in node.input if t]
    _index_op(ctx, name, "Concat", ops, lambda *p: np.concatenate(p[:-1], axis=axis), node.output[0])


def gather(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Constant indices into a tensor are an index map; variable ids into a constant table an Embedding."""
    data, ind = node.input[0], node.input[1]
    axis = a.get("axis", 0)
    if ctx.is_const(data) and not ctx.is_const(ind):
        table = np.asarray(ctx.const(data), F64)
        if axis != 0:
            return ctx.reject(node, name, "Gather on a constant table along an axis other than 0")
        ctx.add(
            so.Embedding(name=name, inputs=[ctx.resolve(ind)], output=node.output[0], params={"table": table})
        )
    elif ctx.is_const(ind):
        idx = np.asarray(ctx.const(ind)).astype(np.int64)
        _index_op(
            ctx, name, "Gather", [(data, False)], lambda p, _: np.take(p, idx, axis=axis), node.output[0]
        )
    else:
        ctx.reject(node, name, "Gather with non-constant data and indices")


def _onnx_slice(start: int, end: int, step: int, dim: int) -> slice:
    """A Python slice with ONNX's clamping (a negative step clamps the start to ``dim - 1``, not to empty)."""
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, end if end >= 0 else None, step)


def slice_(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Slice with constant starts/ends/axes/steps (attributes before opset 10, inputs after)."""
    if "starts" in a:  # opset < 10
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
    else:
        if not all(ctx.is_const(t) for t in node.input[1:]):
            return ctx.reject(node, name, "Slice with non-constant bounds")
        starts, ends = (list(np.asarray(ctx.const(t)).reshape(-1)) for t in node.input[1:3])
        axes = (
            list(np.asarray(ctx.const(node.input[3])).reshape(-1))
            if len(node.input) > 3 and node.input[3]
            else None
        )
        steps = (
            list(np.asarray(ctx.const(node.input[4])).reshape(-1))
            if len(node.input) > 4 and node.input[4]
            else None
        )
    shape = ctx.arg_shape(node)
    rank = len(shape)
    axes = list(range(len(starts))) if axes is None else axes
    steps = steps or [1] * len(starts)
    sl = [slice(None)] * rank
    for s, e, ax, st in zip(starts, ends, axes, steps):
        sl[int(ax) % rank] = _onnx_slice(int(s), int(e), int(st), shape[int(ax) % rank])
    _index_op(ctx, name, "Slice", [(node.input[0], False)], lambda p, _: p[tuple(sl)], node.output[0])


def split(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Split along ``axis`` into given sizes or equal parts; one index map per used output."""
    shape = ctx.arg_shape(node)
    axis = a.get("axis", 0) % len(shape)
    if "split" in a:
        parts = list(a["split"])
    elif len(node.input) > 1 and node.input[1]:
        parts = [int(v) for v in np.asarray(ctx.const(node.input[1])).reshape(-1)]
    else:
        n = a.get("num_outputs", len(node.output))
        chunk = -(-shape[axis] // n)
        parts = [min(chunk, shape[axis] - i * chunk) for i in range(n)]
    if len(parts) != len(node.output) or any(q < 0 for q in parts) or sum(parts) != shape[axis]:
        raise ValueError(
            f"split sizes {parts} must be {len(node.output)} non-negative sizes summing to the axis {axis} "
            f"length {shape[axis]}"
        )
    bounds = np.cumsum([0] + parts)
    for k, out in enumerate(node.output):
        if not out:
            continue
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        _index_op(
            ctx,
            f"{name}/{k}",
            "Split",
            [(node.input[0], False)],
            lambda p, _, lo=lo, hi=hi: np.take(p, np.arange(lo, hi), axis=axis),
            out,
        )


def pad(ctx: Context, node: onnx.NodeProto, name: str, a: dict) -> None:
    """Pad with constant pads in constant, reflect, edge or wrap mode."""
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    shape = ctx.arg_shape(node)
    rank = len(shape)
    if "pads" in a:
        pads, value = list(a["pads"]), float(a.get("value", 0.0))
        axes = list(range(rank))
    else:
        if not all(ctx.is_const(t) for t in node.input[1:] if t):
            return ctx.reject(node, name, "Pad with non-constant pads")
        pads = [int(v) for v in np.asarray(ctx.const(node.input[1])).reshape(-1)]
        value = (
            float(np.asarray(ctx.const(node.input[2])).reshape(-1)[0])
            if len(node.input) > 2 and node.input[2]
            else 0.0
        )
        axes = (
            [int(v) % rank for v in np.asarray(ctx.const(node.input[3])).reshape(-1)]
            if len(node.input) > 3 and node.input[3]
            else list(range(rank))
        )
    n = len(axes)
    width = [(0, 0)] * rank
    for i, ax in enumerate(axes):
        width[ax] = (pads[i], pads[i + n])
    if any(p < 0 for pr in width for p in pr):
        return ctx.reject(node, name, "Pad with negative pads")
    np_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}.get(mode)
    if np_mode is None:
        return ctx.reject(node, name, f"Pad mode {mode!r}")

    def fn(p, fill_at):
        if np_mode == "constant":
            return np.pad(p, width, constant_values=fill_at)
        return np.pad(p, width, mode=np_mode)

    _index_op(
        ctx,
        name,
        f"Pad({mode})",
        [(node.input[0], False)],
        fn,
        node.output[0],
        extra_fill=value if np_mode == "constant" else None,
    )
