"""Selected rows of an affine sub-network as a sparse matrix: ``tensor.flat[rows] = C @ source.flat + offset``.

This is how a first layer (with any affine pre-processing and layout transposes in front of it) becomes a
constraint system: a reverse sweep of sparse row blocks through the affine ops, one rule per op type, costing
work proportional to the non-zeros (a 7x7 conv row has 147 of them), never a dense Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from smugkit.errors import ModelError
from smugkit.ir.base import Op
from smugkit.ir.network import Network

Rule = Callable[[Op, sp.coo_matrix, list[tuple[int, ...]], tuple[int, ...]], list[sp.coo_matrix | None]]
RULES: dict[str, Rule] = {}


def rule(*op_types: str):
    """Register the sparse transposed-Jacobian rule of these op types."""

    def deco(fn: Rule) -> Rule:
        for t in op_types:
            RULES[t] = fn
        return fn

    return deco


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _remap(R: sp.coo_matrix, cols: np.ndarray, n_in: int, values: np.ndarray | None = None) -> sp.coo_matrix:
    """``R @ P`` where ``P[o, cols[o]] = 1`` (entries with ``cols < 0`` dropped), optionally scaling by values."""
    c = cols[R.col]
    v = R.data if values is None else R.data * values[R.col]
    keep = c >= 0
    return sp.coo_matrix((v[keep], (R.row[keep], c[keep])), shape=(R.shape[0], n_in))


def _broadcast_cols(in_shape, out_shape) -> np.ndarray:
    """For each output position of a broadcast, the flat input position it reads."""
    rank = len(out_shape)
    aligned = (1,) * (rank - len(in_shape)) + tuple(in_shape)
    return np.broadcast_to(np.arange(_size(in_shape)).reshape(aligned), out_shape).reshape(-1)


@rule("Reshape")
def _reshape(op, R, in_shapes, out_shape):
    return [R]


@rule("Transpose")
def _transpose(op, R, in_shapes, out_shape):
    cols = np.transpose(np.arange(_size(in_shapes[0])).reshape(in_shapes[0]), op.attrs["perm"]).reshape(-1)
    return [_remap(R, cols, _size(in_shapes[0]))]


@rule("IndexMap")
def _index_map(op, R, in_shapes, out_shape):
    idx = op.params["index"]
    out, start = [], 0
    for shape in in_shapes:
        n = _size(shape)
        local = np.where((idx >= start) & (idx < start + n), idx - start, -1)
        out.append(_remap(R, local, n))
        start += n
    return out


@rule("Add", "Sub", "Mul", "Div")
def _binary(op, R, in_shapes, out_shape):
    if not op.affine:
        raise ModelError(f"node {op.name!r} ({op.op_type}) multiplies two tensors; it is not affine")
    out = []
    for k, (slot, shape) in enumerate(zip(op.attrs["slots"], in_shapes)):
        if op.op_type == "Add" or op.op_type == "Sub" and slot == 0:
            scale = None
        elif op.op_type == "Sub":
            scale = -np.ones(_size(out_shape))
        elif op.op_type == "Mul":
            scale = np.broadcast_to(op.params[f"c{1 - slot}"], out_shape).reshape(-1)
        else:
            scale = np.broadcast_to(1.0 / op.params["c1"], out_shape).reshape(-1)
        out.append(_remap(R, _broadcast_cols(shape, out_shape), _size(shape), scale))
    return out


@rule("Affine")
def _affine(op, R, in_shapes, out_shape):
    scale = np.broadcast_to(op.params["scale"], out_shape).reshape(-1)
    return [_remap(R, _broadcast_cols(in_shapes[0], out_shape), _size(in_shapes[0]), scale)]


@rule("Dense")
def _dense(op, R, in_shapes, out_shape):
    w = op.params["W"]
    if w.ndim == 1:  # x @ v: one output per row of x
        w = w[:, None]
    if w.ndim != 2:
        raise ModelError(f"node {op.name!r}: Dense with a rank-{w.ndim} weight is not supported here")
    k, m = w.shape
    p, j = np.divmod(R.col, m)
    rows = np.repeat(R.row, k)
    cols = (p[:, None] * k + np.arange(k)).reshape(-1)
    vals = (R.data[:, None] * w[:, j].T).reshape(-1)
    return [sp.coo_matrix((vals, (rows, cols)), shape=(R.shape[0], _size(in_shapes[0])))]


@rule("MatMulLeft")
def _matmul_left(op, R, in_shapes, out_shape):
    a = op.params["A"]
    m, k = a.shape
    shape = in_shapes[0]
    if len(shape) == 1:
        rows = np.repeat(R.row, k)
        cols = np.tile(np.arange(k), R.nnz)
        vals = (R.data[:, None] * a[R.col]).reshape(-1)
    else:
        n = shape[-1]
        p, rest = np.divmod(R.col, m * n)
        i, c = np.divmod(rest, n)
        rows = np.repeat(R.row, k)
        cols = (p[:, None] * (k * n) + np.arange(k) * n + c[:, None]).reshape(-1)
        vals = (R.data[:, None] * a[i]).reshape(-1)
    return [sp.coo_matrix((vals, (rows, cols)), shape=(R.shape[0], _size(shape)))]


@rule("Conv")
def _conv(op, R, in_shapes, out_shape):
    a = op.attrs
    w = op.params["W"]
    w4 = w[:, :, None, :] if a["one_d"] else w
    in4 = in_shapes[0] if not a["one_d"] else in_shapes[0][:2] + (1,) + in_shapes[0][2:]
    out4 = out_shape if not a["one_d"] else out_shape[:2] + (1,) + out_shape[2:]
    _, c, h, wd = in4
    m, oh, ow = out4[1:]
    cg, kh, kw = w4.shape[1:]
    b, rest = np.divmod(R.col, m * oh * ow)
    mo, rest = np.divmod(rest, oh * ow)
    i, j = np.divmod(rest, ow)
    g = mo // (m // a["group"])
    sh, sw = a["strides"]
    dh, dw = a["dilations"]
    top, left = a["pads4"][:2]
    ch = g[:, None, None, None] * cg + np.arange(cg)[None, :, None, None]
    ii = i[:, None, None, None] * sh - top + (np.arange(kh) * dh)[None, None, :, None]
    jj = j[:, None, None, None] * sw - left + (np.arange(kw) * dw)[None, None, None, :]
    ok = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < wd)
    shape = (R.nnz, cg, kh, kw)
    cols = ((b[:, None, None, None] * c + ch) * h + ii) * wd + jj
    vals = R.data[:, None, None, None] * w4[mo]
    rows = np.broadcast_to(R.row[:, None, None, None], shape)
    ok = np.broadcast_to(ok, shape)
    cols = np.broadcast_to(cols, shape)
    return [sp.coo_matrix((vals[ok], (rows[ok], cols[ok])), shape=(R.shape[0], _size(in_shapes[0])))]


@rule("AveragePool")
def _average_pool(op, R, in_shapes, out_shape):
    a = op.attrs
    in4 = in_shapes[0] if not a["one_d"] else in_shapes[0][:2] + (1,) + in_shapes[0][2:]
    out4 = out_shape if not a["one_d"] else out_shape[:2] + (1,) + out_shape[2:]
    h, wd = in4[2:]
    oh, ow = out4[2:]
    kh, kw = a["kernel"]
    div = op.divisor(np.zeros((1, 1, h, wd))).reshape(-1)  # (oh * ow,) divisors of the windows
    bc, rest = np.divmod(R.col, oh * ow)  # bc = b * c + channel: pooling keeps channels apart
    i, j = np.divmod(rest, ow)
    ii = (
        i[:, None, None] * a["strides"][0]
        - a["pads4"][0]
        + (np.arange(kh) * a["dilations"][0])[None, :, None]
    )
    jj = (
        j[:, None, None] * a["strides"][1]
        - a["pads4"][1]
        + (np.arange(kw) * a["dilations"][1])[None, None, :]
    )
    shape = (R.nnz, kh, kw)
    ok = np.broadcast_to((ii >= 0) & (ii < h) & (jj >= 0) & (jj < wd), shape)
    cols = np.broadcast_to((bc[:, None, None] * h + ii) * wd + jj, shape)
    vals = np.broadcast_to((R.data / div[rest])[:, None, None], shape)
    rows = np.broadcast_to(R.row[:, None, None], shape)
    return [sp.coo_matrix((vals[ok], (rows[ok], cols[ok])), shape=(R.shape[0], _size(in_shapes[0])))]


@rule("GlobalAveragePool")
def _global_average_pool(op, R, in_shapes, out_shape):
    shape = in_shapes[0]
    n = _size(shape[2:])
    rows = np.repeat(R.row, n)
    cols = (R.col[:, None] * n + np.arange(n)).reshape(-1)
    vals = np.repeat(R.data / n, n)
    return [sp.coo_matrix((vals, (rows, cols)), shape=(R.shape[0], _size(shape)))]


def affine_rows(
    net: Network, tensor: str, rows: np.ndarray, source: str | None = None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows of the affine map from ``source`` (default: the input) to ``tensor`` as ``(C, offset)``.

    Raises `ModelError` naming the node when the path from ``source`` to ``tensor`` is not affine.
    """
    source = source or net.input.name
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    n_out = net.tensor(tensor).size
    if rows.size and (rows.min() < 0 or rows.max() >= n_out):
        raise ModelError(f"row indices out of range for tensor {tensor!r} of size {n_out}")
    k = rows.size
    blocks: dict[str, list[sp.coo_matrix]] = {
        tensor: [sp.coo_matrix((np.ones(k), (np.arange(k), rows)), shape=(k, n_out))]
    }
    order = [n for n in net._schedule([tensor], {source}) if _reaches(net, source, n)]
    for n in reversed(order):
        parts = blocks.pop(n.output, None)
        if parts is None:
            continue
        fn = RULES.get(n.op_type)
        if fn is None or not n.affine:
            raise ModelError(
                f"{tensor!r} is not an affine function of {source!r}: node {n.name!r} ({n.op_type}) "
                f"lies between them"
            )
        R = sum(parts[1:], parts[0]).tocoo() if len(parts) > 1 else parts[0]
        R.sum_duplicates()
        var_inputs = [t for t in n.inputs]
        for t, Rt in zip(
            var_inputs, fn(n, R, [net.tensors[t].shape for t in var_inputs], net.tensors[n.output].shape)
        ):
            if Rt is not None and _depends(net, source, t):
                blocks.setdefault(t, []).append(Rt)
    parts = blocks.get(source)
    C = (sum(parts[1:], parts[0]) if parts else sp.coo_matrix((k, net.tensor(source).size))).tocsr()
    C.sum_duplicates()
    zero = np.zeros(net.tensor(source).shape)
    offset = net.run({source: zero}, outputs=[tensor])[tensor].reshape(-1)[rows]
    return C, offset


def _depends(net: Network, source: str, tensor: str) -> bool:
    return net._feeds(source, tensor)


def _reaches(net: Network, source: str, node: Op) -> bool:
    return any(net._feeds(source, t) for t in node.inputs)
