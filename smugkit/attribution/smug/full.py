"""SMUG's full-network encoding: the whole ReLU network over the masked input, the label's logit must win.

Each ReLU (and each MaxPool, as a chain ``y = a + relu(b - a)``) becomes a DSL ReLU term with interval
and symbolic bounds (`bounds`); the affine pieces between them come from `ir.linearize` as sparse matrices.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from smugkit.attribution.smug.bounds import affine_source, symbolic_bounds, widen
from smugkit.errors import ModelError
from smugkit.ir import Network
from smugkit.ir.linear import window_view
from smugkit.ir.linearize import affine_rows
from smugkit.units import MaskUnits


def _affine_expr(net: Network, tensor: str, known: dict):
    src = affine_source(net, tensor, known)
    if src == tensor:
        return known[src]
    C, off = affine_rows(net, tensor, np.arange(net.tensors[tensor].size), source=src)
    return C @ known[src] + off


def _maxpool_terms(net: Network, node, arg, lo: np.ndarray, hi: np.ndarray, relu, tag: str):
    """``max`` over each pooling window as a chain of ReLUs, with interval bounds carried along."""
    shape = net.tensors[node.inputs[0]].shape
    idx = np.arange(int(np.prod(shape))).reshape((1,) + shape).astype(np.float64)
    x4, _ = node._to4(idx)
    cols = window_view(
        node._pad(x4, -1.0), node.attrs["kernel"], node.attrs["strides"], node.attrs["dilations"]
    )
    cols = cols.reshape(-1, cols.shape[-2] * cols.shape[-1]).astype(np.int64)  # outputs x window positions
    n_out = cols.shape[0]
    first = cols[np.arange(n_out), np.argmax(cols >= 0, axis=1)]
    y = arg[first]
    ylo, yhi = lo[first], hi[first]
    for j in range(cols.shape[1]):
        c = cols[:, j]
        rows = np.flatnonzero((c >= 0) & (c != first))
        if rows.size == 0:
            continue
        diff = arg[c[rows]] - y[rows]
        dlo, dhi = lo[c[rows]] - yhi[rows], hi[c[rows]] - ylo[rows]
        r = relu(diff, bounds=(dlo, dhi), name=f"{tag}_{j}")
        scatter = sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n_out, rows.size))
        y = y + scatter @ r
        ylo[rows] = np.maximum(ylo[rows], lo[c[rows]])
        yhi[rows] = np.maximum(yhi[rows], hi[c[rows]])
    return y


def full_network_problem(
    net: Network,
    x: np.ndarray,
    label: int,
    windows: MaskUnits,
    mask_value: float,
    delta: float,
    strict: bool = False,
    tight_bounds: bool = True,
):
    """DSL problem: minimise the mask such that the label's logit beats every other by ``delta``.

    ReLU and MaxPool arguments get the tighter of interval and symbolic bounds (`bounds.symbolic_bounds`;
    ``tight_bounds=False`` keeps intervals only), widened outward so no exact value falls outside them.
    """
    from smugkit.dsl import Problem, relu

    x = np.asarray(x, np.float64).reshape(net.input.shape)
    p = Problem("smug_full_network")
    m = p.binary("m", windows.count)
    d = x.reshape(-1) - mask_value
    known = {net.input.name: (sp.diags(d) @ windows.incidence()) @ m + mask_value}
    lo_in, hi_in = np.minimum(x, mask_value), np.maximum(x, mask_value)
    boxes = net.bounds(lo_in, hi_in)
    sym = symbolic_bounds(net, x, windows, mask_value) if tight_bounds else None
    needed = {n.name for n in net._schedule([net.output.name], {net.input.name})}
    for k, node in enumerate(n for n in net.nodes if n.name in needed):
        if node.affine:
            continue
        arg = _affine_expr(net, node.inputs[0], known)
        lo, hi = widen(*(b.reshape(-1) for b in boxes[node.inputs[0]]))
        if sym is not None and node.inputs[0] in sym:  # the tighter of interval and symbolic bounds
            slo, shi = sym[node.inputs[0]]
            lo, hi = np.maximum(lo, slo), np.minimum(hi, shi)
        if node.op_type == "Relu":
            known[node.output] = relu(arg, bounds=(lo, hi), name=f"h{k}")
        elif node.op_type == "MaxPool":
            known[node.output] = _maxpool_terms(net, node, arg, lo.copy(), hi.copy(), relu, f"p{k}")
        else:
            raise ModelError(
                f"full encoding: {node.op_type} node {node.name!r} is not supported "
                f"(networks of affine layers, ReLU and MaxPool)"
            )
    logits = _affine_expr(net, net.output.name, known)
    n_cls = logits.size
    if not 0 <= label < n_cls:
        raise ModelError(f"label {label} out of range for {n_cls} outputs")
    others = np.array([j for j in range(n_cls) if j != label])
    diff = sp.csr_matrix(
        (
            np.r_[np.ones(others.size), -np.ones(others.size)],
            (
                np.r_[np.arange(others.size), np.arange(others.size)],
                np.r_[np.full(others.size, label), others],
            ),
        ),
        shape=(others.size, n_cls),
    )
    margin = diff @ logits
    p.add(margin > delta if strict else margin >= delta)
    p.minimize(m.sum())
    return p, m
