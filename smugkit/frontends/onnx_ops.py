"""Converters from ONNX nodes to IR ops, one function per op family (registered in `frontends.onnx`)."""

from __future__ import annotations

import math

import numpy as np
import onnx

from smugkit.errors import ModelError
from smugkit.frontends.onnx import _Context, _unsupported, converter
from smugkit.ir import activations as act
from smugkit.ir import elementwise as ew
from smugkit.ir import linear as lin
from smugkit.ir import pooling as pool
from smugkit.ir import shape_ops as so

F64 = np.float64


def _in(ctx: _Context, node: onnx.NodeProto, k: int) -> str:
    return ctx.resolve(node.input[k]) if k < len(node.input) and node.input[k] else ""


def _shape(ctx: _Context, node, k: int = 0) -> tuple[int, ...]:
    return ctx.shapes[_in(ctx, node, k)]


def _fresh(ctx: _Context, base: str) -> str:
    k, name = 0, base
    taken = set(ctx.shapes) | set(ctx.consts)
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


# -- linear layers ----------------------------------------------------------------------------------------
def _dense(ctx, name, x, w, b, out):
    params = {"W": np.asarray(w, F64)}
    if b is not None:
        params["b"] = np.asarray(b, F64)
    ctx.add(lin.Dense(name=name, inputs=[x], output=out, params=params))


def _transpose(ctx, name, x, perm, out=None):
    out = out or _fresh(ctx, f"{x}_T")
    ctx.add(so.Transpose(name=name, inputs=[x], output=out, attrs={"perm": tuple(perm)}))
    return out


def _gemm_bias(ctx, name: str, inp: str, out: str, c: np.ndarray) -> None:
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


@converter("Gemm")
def gemm(ctx: _Context, node, name, a):
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    ta, tb = a.get("transA", 0), a.get("transB", 0)
    A, B = node.input[0], node.input[1]
    C = node.input[2] if len(node.input) > 2 and node.input[2] else ""
    if C and not ctx.is_const(C):
        return _unsupported(ctx, node, name, "Gemm with a non-constant C")
    c = beta * ctx.const(C) if C else None
    if ctx.is_const(B) and not ctx.is_const(A):
        w = alpha * (ctx.const(B).T if tb else ctx.const(B))
        x = ctx.resolve(A)
        if ta:
            x = _transpose(ctx, f"{name}/transA", x, (1, 0))
        if c is not None and c.size == w.shape[1] and (c.ndim < 2 or c.shape[0] == 1):  # not a (M, 1) column
            return _dense(ctx, name, x, w, c.reshape(-1), node.output[0])
        if c is None:
            return _dense(ctx, name, x, w, None, node.output[0])
        mid = _fresh(ctx, f"{node.output[0]}_mm")
        _dense(ctx, name, x, w, None, mid)
        _gemm_bias(ctx, name, mid, node.output[0], c)
    elif ctx.is_const(A) and not ctx.is_const(B):
        m = alpha * (ctx.const(A).T if ta else ctx.const(A))
        x = ctx.resolve(B)
        if tb:
            x = _transpose(ctx, f"{name}/transB", x, (1, 0))
        out = node.output[0] if c is None else _fresh(ctx, f"{node.output[0]}_mm")
        ctx.add(lin.MatMulLeft(name=name, inputs=[x], output=out, params={"A": np.asarray(m, F64)}))
        if c is not None:
            _gemm_bias(ctx, name, out, node.output[0], c)
    else:
        _unsupported(ctx, node, name, "Gemm of two non-constant tensors")


@converter("MatMul")
def matmul(ctx: _Context, node, name, a):
    A, B = node.input
    if ctx.is_const(B) and not ctx.is_const(A):
        _dense(ctx, name, ctx.resolve(A), ctx.const(B), None, node.output[0])
    elif ctx.is_const(A) and not ctx.is_const(B):
        if ctx.const(A).ndim != 2:
            return _unsupported(ctx, node, name, "MatMul with a constant left operand of rank != 2")
        ctx.add(
            lin.MatMulLeft(
                name=name,
                inputs=[ctx.resolve(B)],
                output=node.output[0],
                params={"A": np.asarray(ctx.const(A), F64)},
            )
        )
    else:
        _unsupported(ctx, node, name, "MatMul of two non-constant tensors")


def _spatial(ctx: _Context, node, name, a, in_shape, kernel, ceil_mode=False):
    """Normalise kernel/stride/dilation/pads (auto_pad, ceil_mode) to 2-D attrs; None if not 1-D/2-D."""
    nsp = len(in_shape) - 2
    if nsp not in (1, 2):
        return None
    strides = list(a.get("strides", [1] * nsp))
    dil = list(a.get("dilations", [1] * nsp))
    pads = list(a.get("pads", [0] * 2 * nsp))
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    size = in_shape[2:]
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * 2 * nsp
        for i in range(nsp):
            out = math.ceil(size[i] / strides[i])
            total = max(0, (out - 1) * strides[i] + eff[i] - size[i])
            small, big = total // 2, total - total // 2
            pads[i], pads[i + nsp] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto == "VALID":
        pads = [0] * 2 * nsp
    extra = [0] * nsp
    if ceil_mode:
        for i in range(nsp):
            span = size[i] + pads[i] + pads[i + nsp] - eff[i]
            out = math.ceil(span / strides[i]) + 1
            if (out - 1) * strides[i] >= size[i] + pads[i]:
                out -= 1
            extra[i] = max(0, (out - 1) * strides[i] + eff[i] - (size[i] + pads[i] + pads[i + nsp]))
            pads[i + nsp] += extra[i]
    if nsp == 1:
        return {
            "kernel": (1, kernel[0]),
            "strides": (1, strides[0]),
            "dilations": (1, dil[0]),
            "pads4": (0, pads[0], 0, pads[1]),
            "one_d": True,
            "ceil_extra": (0, extra[0]),
        }
    return {
        "kernel": tuple(kernel),
        "strides": tuple(strides),
        "dilations": tuple(dil),
        "pads4": (pads[0], pads[1], pads[2], pads[3]),
        "one_d": False,
        "ceil_extra": tuple(extra),
    }


@converter("Conv")
def conv(ctx: _Context, node, name, a):
    if not ctx.is_const(node.input[1]):
        return _unsupported(ctx, node, name, "Conv with non-constant weights")
    w = np.asarray(ctx.const(node.input[1]), F64)
    b = np.asarray(ctx.const(node.input[2]), F64) if len(node.input) > 2 and node.input[2] else None
    x = _in(ctx, node, 0)
    attrs = _spatial(ctx, node, name, a, ctx.shapes[x], list(a.get("kernel_shape", w.shape[2:])))
    if attrs is None:
        return _unsupported(ctx, node, name, f"Conv with {len(ctx.shapes[x]) - 2} spatial axes")
    attrs["group"] = a.get("group", 1)
    attrs.pop("ceil_extra")
    params = {"W": w} if b is None else {"W": w, "b": b}
    ctx.add(lin.Conv(name=name, inputs=[x], output=node.output[0], params=params, attrs=attrs))


# -- element-wise -----------------------------------------------------------------------------------------
BINARY = {"Add": ew.Add, "Sub": ew.Sub, "Mul": ew.Mul, "Div": ew.Div}


@converter(*BINARY)
def binary(ctx: _Context, node, name, a):
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
    if _fold_bias(ctx, node, name, params, inputs):
        return
    ctx.add(
        BINARY[node.op_type](
            name=name,
            inputs=inputs,
            output=node.output[0],
            params=params,
            attrs={"slots": slots, "rank": max(ranks)},
        )
    )


def _fold_bias(ctx: _Context, node, name, params, inputs) -> bool:
    """Fold ``Add``/``Sub`` of a constant into the bias of the Dense/Conv that alone feeds it."""
    if node.op_type not in ("Add", "Sub") or len(inputs) != 1 or "c1" not in params and node.op_type == "Sub":
        return False
    x = inputs[0]
    prod = ctx.producer_op(x)
    if prod is None or prod.op_type not in ("Dense", "Conv") or ctx.onnx_consumers.get(x, 0) != 1:
        return False
    c = params.get("c1", params.get("c0"))
    shape = ctx.shapes[x]
    if prod.op_type == "Dense":
        m = shape[-1] if shape else 1
        ok = c.size == m and (c.ndim <= 1 or c.shape[-1] == m) and c.ndim <= len(shape)
        vec = c.reshape(-1) if ok else None
    else:
        m = shape[1]
        ok = (
            c.ndim <= len(shape)
            and c.size == m
            and (c.ndim == 0 or c.shape[-(len(shape) - 1)] == m if c.ndim >= len(shape) - 1 else False)
        )
        vec = c.reshape(-1) if ok else None
    if vec is None:
        return False
    sign = -1.0 if node.op_type == "Sub" else 1.0
    prod.params["b"] = prod.params.get("b", np.zeros(m)) + sign * np.broadcast_to(vec, (m,))
    _take_over(ctx, prod, node.output[0])
    ctx.notes.append(f"folded {node.op_type} {name!r} into the bias of {prod.op_type} {prod.name!r}")
    return True


def _take_over(ctx: _Context, prod, output: str) -> None:
    """Let ``prod`` produce the folded node's output directly, so IR and ONNX tensor names keep their values."""
    old = prod.output
    prod.output = output
    ctx.shapes[output] = ctx.shapes[old]
    ctx.dtypes[output] = ctx.dtypes.get(old, "float32")
    ctx.alias[old] = output


@converter("BatchNormalization")
def batchnorm(ctx: _Context, node, name, a):
    if a.get("training_mode", 0):
        raise ModelError(
            f"{ctx.label}: BatchNormalization {name!r} has training_mode=1 and normalises with batch "
            f"statistics; export the model in evaluation mode"
        )
    if len(node.output) > 1 and any(node.output[1:]):
        return _unsupported(ctx, node, name, "BatchNormalization in training mode")
    if not all(ctx.is_const(t) for t in node.input[1:5]):
        return _unsupported(ctx, node, name, "BatchNormalization with non-constant statistics")
    gamma, beta, mean, var = (np.asarray(ctx.const(t), F64) for t in node.input[1:5])
    scale = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
    shift = beta - mean * scale
    x = _in(ctx, node, 0)
    prod = ctx.producer_op(x)
    if (
        prod is not None
        and prod.op_type in ("Conv", "Dense")
        and ctx.onnx_consumers.get(x, 0) == 1
        and (prod.op_type == "Conv" or len(ctx.shapes[x]) == 2)
    ):
        w = prod.params["W"]
        prod.params["W"] = (
            w * scale.reshape((-1,) + (1,) * (w.ndim - 1)) if prod.op_type == "Conv" else w * scale
        )
        prod.params["b"] = prod.params.get("b", np.zeros(scale.size)) * scale + shift
        _take_over(ctx, prod, node.output[0])
        ctx.notes.append(f"folded BatchNormalization {name!r} into {prod.op_type} {prod.name!r}")
        return
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


# -- activations ------------------------------------------------------------------------------------------
@converter("Relu", "Sigmoid", "Tanh")
def simple_activation(ctx: _Context, node, name, a):
    cls = {"Relu": act.Relu, "Sigmoid": act.Sigmoid, "Tanh": act.Tanh}[node.op_type]
    ctx.add(cls(name=name, inputs=[_in(ctx, node, 0)], output=node.output[0]))


@converter("LeakyRelu")
def leaky_relu(ctx: _Context, node, name, a):
    ctx.add(
        act.LeakyRelu(
            name=name,
            inputs=[_in(ctx, node, 0)],
            output=node.output[0],
            attrs={"alpha": float(a.get("alpha", 0.01))},
        )
    )


@converter("Clip")
def clip(ctx: _Context, node, name, a):
    lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    for k, default in ((1, None), (2, None)):
        if len(node.input) > k and node.input[k]:
            if not ctx.is_const(node.input[k]):
                return _unsupported(ctx, node, name, "Clip with non-constant bounds")
            v = float(ctx.const(node.input[k]))
            lo, hi = (v, hi) if k == 1 else (lo, v)
    ctx.add(
        act.Clip(
            name=name,
            inputs=[_in(ctx, node, 0)],
            output=node.output[0],
            attrs={"min": float(lo), "max": float(hi)},
        )
    )


@converter("Softmax")
def softmax(ctx: _Context, node, name, a):
    x = _in(ctx, node, 0)
    shape = ctx.shapes[x]
    default = -1 if ctx.opset >= 13 else 1
    axis = a.get("axis", default) % len(shape)
    if ctx.opset >= 13 or axis == len(shape) - 1:
        ctx.add(act.Softmax(name=name, inputs=[x], output=node.output[0], attrs={"axis": axis}))
        return
    flat = (int(np.prod(shape[:axis])), int(np.prod(shape[axis:])))
    mid = _fresh(ctx, f"{x}_2d")
    ctx.add(so.Reshape(name=f"{name}/flatten", inputs=[x], output=mid, attrs={"shape": flat}))
    sm = _fresh(ctx, f"{mid}_softmax")
    ctx.add(act.Softmax(name=name, inputs=[mid], output=sm, attrs={"axis": 1}))
    ctx.add(so.Reshape(name=f"{name}/restore", inputs=[sm], output=node.output[0], attrs={"shape": shape}))


# -- pooling ----------------------------------------------------------------------------------------------
@converter("MaxPool", "AveragePool")
def pooling(ctx: _Context, node, name, a):
    if len(node.output) > 1 and node.output[1]:
        return _unsupported(ctx, node, name, "MaxPool with an Indices output")
    x = _in(ctx, node, 0)
    attrs = _spatial(ctx, node, name, a, ctx.shapes[x], list(a["kernel_shape"]), bool(a.get("ceil_mode", 0)))
    if attrs is None:
        return _unsupported(ctx, node, name, f"{node.op_type} with {len(ctx.shapes[x]) - 2} spatial axes")
    if node.op_type == "MaxPool":
        attrs.pop("ceil_extra")
        ctx.add(pool.MaxPool(name=name, inputs=[x], output=node.output[0], attrs=attrs))
    else:
        attrs["count_include_pad"] = bool(a.get("count_include_pad", 0))
        ctx.add(pool.AveragePool(name=name, inputs=[x], output=node.output[0], attrs=attrs))


@converter("GlobalAveragePool")
def global_average_pool(ctx: _Context, node, name, a):
    ctx.add(pool.GlobalAveragePool(name=name, inputs=[_in(ctx, node, 0)], output=node.output[0]))


@converter("ReduceMean")
def reduce_mean(ctx: _Context, node, name, a):
    """A mean over every spatial axis (the dynamo export of ``AdaptiveAvgPool2d(1)``) is a GlobalAveragePool."""
    x = _in(ctx, node, 0)
    shape = ctx.shapes[x]
    if len(node.input) > 1 and node.input[1] and not ctx.is_const(node.input[1]):
        return _unsupported(ctx, node, name, "ReduceMean with non-constant axes")
    axes = _axes(ctx, node, a)
    axes = sorted({ax % len(shape) for ax in axes}) if axes else list(range(len(shape)))
    if len(shape) < 3 or axes != list(range(2, len(shape))):
        return _unsupported(ctx, node, name, "ReduceMean over axes other than all spatial axes")
    if a.get("keepdims", 1):
        ctx.add(pool.GlobalAveragePool(name=name, inputs=[x], output=node.output[0]))
        return
    mid = _fresh(ctx, f"{node.output[0]}_keepdims")
    ctx.add(pool.GlobalAveragePool(name=name, inputs=[x], output=mid))
    ctx.add(
        so.Reshape(name=f"{name}/squeeze", inputs=[mid], output=node.output[0], attrs={"shape": shape[:2]})
    )


@converter("GlobalMaxPool")
def global_max_pool(ctx: _Context, node, name, a):
    x = _in(ctx, node, 0)
    shape = ctx.shapes[x]
    attrs = _spatial(ctx, node, name, {}, shape, list(shape[2:]))
    if attrs is None:
        return _unsupported(ctx, node, name, f"GlobalMaxPool with {len(shape) - 2} spatial axes")
    attrs.pop("ceil_extra")
    ctx.add(pool.MaxPool(name=name, inputs=[x], output=node.output[0], attrs=attrs))


# -- shape-only ops ---------------------------------------------------------------------------------------
def _reshape_to(ctx: _Context, node, name, shape):
    ctx.add(
        so.Reshape(
            name=name,
            inputs=[_in(ctx, node, 0)],
            output=node.output[0],
            attrs={"shape": tuple(int(d) for d in shape)},
        )
    )


@converter("Reshape")
def reshape(ctx: _Context, node, name, a):
    if not ctx.is_const(node.input[1]):
        return _unsupported(ctx, node, name, "Reshape to a non-constant shape")
    src = _shape(ctx, node)
    target = [int(d) for d in ctx.const(node.input[1]).reshape(-1)]
    if not a.get("allowzero", 0):
        target = [src[i] if d == 0 else d for i, d in enumerate(target)]
    try:
        shape = np.empty(src, dtype=np.int8).reshape(target).shape
    except ValueError:
        raise ModelError(f"{ctx.label}: Reshape {name!r} cannot reshape {list(src)} to {target}") from None
    _reshape_to(ctx, node, name, shape)


@converter("Flatten")
def flatten(ctx: _Context, node, name, a):
    src = _shape(ctx, node)
    axis = a.get("axis", 1)
    axis = axis + len(src) if axis < 0 else axis
    _reshape_to(ctx, node, name, (int(np.prod(src[:axis])), int(np.prod(src[axis:]))))


def _axes(ctx: _Context, node, a) -> list[int] | None:
    if "axes" in a:
        return list(a["axes"])
    if len(node.input) > 1 and node.input[1]:
        return [int(v) for v in np.asarray(ctx.const(node.input[1])).reshape(-1)]
    return None


@converter("Squeeze")
def squeeze(ctx: _Context, node, name, a):
    src = _shape(ctx, node)
    axes = _axes(ctx, node, a)
    axes = [i for i, d in enumerate(src) if d == 1] if axes is None else [x % len(src) for x in axes]
    _reshape_to(ctx, node, name, [d for i, d in enumerate(src) if i not in axes])


@converter("Unsqueeze")
def unsqueeze(ctx: _Context, node, name, a):
    src = list(_shape(ctx, node))
    axes = sorted(x % (len(src) + len(_axes(ctx, node, a))) for x in _axes(ctx, node, a))
    for ax in axes:
        src.insert(ax, 1)
    _reshape_to(ctx, node, name, src)


@converter("Transpose")
def transpose(ctx: _Context, node, name, a):
    rank = len(_shape(ctx, node))
    _transpose(ctx, name, _in(ctx, node, 0), a.get("perm", list(range(rank))[::-1]), node.output[0])


def _alias(ctx: _Context, output: str, x: str) -> None:
    """Make ``output`` another name of ``x``; its ONNX consumers become consumers of ``x`` (for folding)."""
    ctx.alias[output] = x
    ctx.onnx_consumers[x] = ctx.onnx_consumers.get(x, 0) - 1 + ctx.onnx_consumers.get(output, 0)


@converter("Identity")
def identity(ctx: _Context, node, name, a):
    _alias(ctx, node.output[0], _in(ctx, node, 0))


@converter("Dropout")
def dropout(ctx: _Context, node, name, a):
    if len(node.output) > 1 and node.output[1] and ctx.onnx_consumers.get(node.output[1], 0):
        return _unsupported(ctx, node, name, "Dropout whose mask output is used")
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
    _alias(ctx, node.output[0], _in(ctx, node, 0))


@converter("Cast")
def cast(ctx: _Context, node, name, a):
    to = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
    x = _in(ctx, node, 0)
    if to.kind == "f" or to.kind in "iu" and ctx.dtypes.get(x, "float32").startswith(("int", "uint")):
        _alias(ctx, node.output[0], x)
        return
    _unsupported(ctx, node, name, f"Cast of a float tensor to {to.name}")


# -- index maps: Slice, Pad, Gather, Concat, Split ----------------------------------------------------------
def _index_op(ctx: _Context, name, kind, operands, fn, output, extra_fill=None):
    """Lower a data-movement op to `IndexMap` by applying ``fn`` to arrays of source positions."""
    var = [ctx.resolve(t) for t, is_const in operands if not is_const]
    sizes = [int(np.prod(ctx.shapes[v])) for v in var]
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


@converter("Concat")
def concat(ctx: _Context, node, name, a):
    axis = a["axis"]
    ops = [(t, ctx.is_const(t)) for t in node.input if t]
    _index_op(ctx, name, "Concat", ops, lambda *p: np.concatenate(p[:-1], axis=axis), node.output[0])


@converter("Gather")
def gather(ctx: _Context, node, name, a):
    data, ind = node.input[0], node.input[1]
    axis = a.get("axis", 0)
    if ctx.is_const(data) and not ctx.is_const(ind):
        table = np.asarray(ctx.const(data), F64)
        if axis != 0:
            return _unsupported(ctx, node, name, "Gather on a constant table along an axis other than 0")
        ctx.add(
            so.Embedding(name=name, inputs=[ctx.resolve(ind)], output=node.output[0], params={"table": table})
        )
    elif ctx.is_const(ind):
        idx = np.asarray(ctx.const(ind)).astype(np.int64)
        _index_op(
            ctx, name, "Gather", [(data, False)], lambda p, _: np.take(p, idx, axis=axis), node.output[0]
        )
    else:
        _unsupported(ctx, node, name, "Gather with non-constant data and indices")


def _onnx_slice(start: int, end: int, step: int, dim: int) -> slice:
    """A Python slice with ONNX's clamping (a negative step clamps the start to ``dim - 1``, not to empty)."""
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        return slice(min(max(start, 0), dim), min(max(end, 0), dim), step)
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return slice(start, end if end >= 0 else None, step)


@converter("Slice")
def slice_(ctx: _Context, node, name, a):
    if "starts" in a:  # opset < 10
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
    else:
        if not all(ctx.is_const(t) for t in node.input[1:]):
            return _unsupported(ctx, node, name, "Slice with non-constant bounds")
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
    shape = _shape(ctx, node)
    rank = len(shape)
    axes = list(range(len(starts))) if axes is None else axes
    steps = steps or [1] * len(starts)
    sl = [slice(None)] * rank
    for s, e, ax, st in zip(starts, ends, axes, steps):
        sl[int(ax) % rank] = _onnx_slice(int(s), int(e), int(st), shape[int(ax) % rank])
    _index_op(ctx, name, "Slice", [(node.input[0], False)], lambda p, _: p[tuple(sl)], node.output[0])


@converter("Split")
def split(ctx: _Context, node, name, a):
    shape = _shape(ctx, node)
    axis = a.get("axis", 0) % len(shape)
    if "split" in a:
        parts = list(a["split"])
    elif len(node.input) > 1 and node.input[1]:
        parts = [int(v) for v in np.asarray(ctx.const(node.input[1])).reshape(-1)]
    else:
        n = a.get("num_outputs", len(node.output))
        chunk = -(-shape[axis] // n)
        parts = [min(chunk, shape[axis] - i * chunk) for i in range(n)]
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


@converter("Pad")
def pad(ctx: _Context, node, name, a):
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    shape = _shape(ctx, node)
    rank = len(shape)
    if "pads" in a:
        pads, value = list(a["pads"]), float(a.get("value", 0.0))
        axes = list(range(rank))
    else:
        if not all(ctx.is_const(t) for t in node.input[1:] if t):
            return _unsupported(ctx, node, name, "Pad with non-constant pads")
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
        return _unsupported(ctx, node, name, "Pad with negative pads")
    np_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge", "wrap": "wrap"}.get(mode)
    if np_mode is None:
        return _unsupported(ctx, node, name, f"Pad mode {mode!r}")

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
