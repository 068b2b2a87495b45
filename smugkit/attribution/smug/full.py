"""SMUG's full-network encoding: the whole ReLU network over the masked input, the label's logit must win.

Each ReLU becomes a DSL ReLU term with interval and symbolic bounds (`bounds`); the affine pieces between
them come from `ir.linearize` as sparse matrices. A MaxPool is a chain ``y = a + relu(b - a)`` over the
inputs of its window that can still be the maximum: inputs that another one dominates on every mask (by
the symbolic bounds of their difference) are dropped, and a ReLU feeding only a MaxPool is applied once
after the max (``max(relu(a), relu(b)) = relu(max(a, b))``), so dead inputs drop out too. Dense affine
layers that several terms read become variables of their own, so the MILP rows stay sparse.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from smugkit.attribution.smug.bounds import affine_source, pair_bounds, symbolic_bounds, widen
from smugkit.errors import ModelError
from smugkit.ir import Network
from smugkit.ir.linear import window_view
from smugkit.ir.linearize import affine_rows
from smugkit.units import MaskUnits

#: affine arguments with more non-zeros per row than this get a variable of their own before a max
DENSE_ROW = 40


def _affine_expr(net: Network, tensor: str, known: dict):
    src = affine_source(net, tensor, known)
    if src == tensor:
        return known[src]
    C, off = affine_rows(net, tensor, np.arange(net.tensors[tensor].size), source=src)
    return C @ known[src] + off


def _as_variable(expr, lo: np.ndarray, hi: np.ndarray, relu, name: str):
    """``expr`` as ``relu(expr - lo) + lo``: the identity (``lo`` is a sound lower bound), so the MILP gets
    one equality row per entry and every later row reads one column instead of ``expr``'s non-zeros."""
    base = lo - 1e-9 * (np.abs(lo) + 1.0)
    return relu(expr - base, bounds=(np.zeros_like(lo), hi - base), name=name) + base


def pool_windows(net: Network, node) -> np.ndarray:
    """Flat input index of every (output, window position) of a MaxPool; -1 for padding."""
    shape = net.tensors[node.inputs[0]].shape
    idx = np.arange(int(np.prod(shape))).reshape((1,) + shape).astype(np.float64)
    x4, _ = node._to4(idx)
    cols = window_view(
        node._pad(x4, -1.0), node.attrs["kernel"], node.attrs["strides"], node.attrs["dilations"]
    )
    return cols.reshape(-1, cols.shape[-2] * cols.shape[-1]).astype(np.int64)


def candidates(cols: np.ndarray, dlo: np.ndarray, dhi: np.ndarray, lo: np.ndarray, hi: np.ndarray, floor):
    """Window positions that can be the maximum, best lower bound first (``n_out x k``, -1 for none).

    ``dlo``/``dhi[o, i, j]`` bound ``a_i - a_j``; input ``i`` is dropped when a kept ``j`` has
    ``a_i <= a_j`` on every mask, or (``floor = 0``: a ReLU follows the max) when ``a_i <= 0`` on every mask
    while another input is kept. At least one input per window is kept.
    """
    n_out, k = cols.shape
    valid = cols >= 0
    clo = np.where(valid, lo[np.where(valid, cols, 0)], -np.inf)
    order = np.argsort(-clo, axis=1, kind="stable")
    r = np.arange(n_out)
    keep = valid.copy()
    for i in order.T[::-1]:  # worst first: a dominated input leaves before it could dominate another
        dom = np.zeros(n_out, bool)
        for j in range(k):
            dom |= (j != i) & keep[r, j] & (dhi[r, i, j] <= 0)
        if floor is not None:
            others = keep.sum(axis=1) - keep[r, i] > 0
            dom |= others & (hi[np.where(valid[r, i], cols[r, i], 0)] <= floor)
        keep[r, i] &= ~dom
    pos = np.where(np.take_along_axis(keep, order, 1), order, -1)
    return np.take_along_axis(pos, np.argsort(pos < 0, axis=1, kind="stable"), 1)  # kept ones first


def _max_terms(arg, cols, pos, dlo, dhi, lo, hi, relu, tag: str):
    """``max`` over each window's candidate positions ``pos`` as a chain of ReLUs, with bounds of each
    difference ``c - y`` from the pairwise bounds (``y`` is one of the inputs before ``c``)."""
    n_out = cols.shape[0]
    r = np.arange(n_out)
    first = cols[r, pos[:, 0]]
    y = arg[first]
    ylo, yhi = lo[first].copy(), hi[first].copy()
    for j in range(1, pos.shape[1]):
        rows = np.flatnonzero(pos[:, j] >= 0)
        if rows.size == 0:
            continue
        c = pos[rows, j]
        prev = pos[rows, :j]
        vlo = np.take_along_axis(dlo[rows, c], prev, 1)  # bounds of c - a_i for the inputs before c
        vhi = np.take_along_axis(dhi[rows, c], prev, 1)
        src = cols[rows, c]
        rr = relu(arg[src] - y[rows], bounds=(vlo.min(axis=1), vhi.min(axis=1)), name=f"{tag}_{j}")
        scatter = sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(n_out, rows.size))
        y = y + scatter @ rr
        ylo[rows] = np.maximum(ylo[rows], lo[src])
        yhi[rows] = np.maximum(yhi[rows], hi[src])
    return y, ylo, yhi


def network_logits(
    net: Network,
    x: np.ndarray,
    windows: MaskUnits,
    mask_value: float,
    m,
    tight_bounds: bool = True,
    max_ones: int | None = None,
    kept: np.ndarray | None = None,
):
    """The logits of ``net`` on ``x`` with windows ``m`` kept (0/1 or in [0, 1]: the encoding and its bounds
    hold on the whole box) and the rest at ``mask_value``, as a DSL expression over ReLU terms. ``kept``
    flags windows whose ``m`` is fixed to 1 (by the caller's variable bounds): the bounds treat them as
    constants."""
    from smugkit.dsl import relu

    x = np.asarray(x, np.float64).reshape(net.input.shape)
    d = x.reshape(-1) - mask_value
    known = {net.input.name: (sp.diags(d) @ windows.incidence()) @ m + mask_value}
    lo_in, hi_in = np.minimum(x, mask_value), np.maximum(x, mask_value)
    if kept is not None:
        on = (windows.incidence() @ np.asarray(kept, float).reshape(-1) > 0).reshape(x.shape)
        lo_in, hi_in = np.where(on, x, lo_in), np.where(on, x, hi_in)
    boxes = net.bounds(lo_in, hi_in)
    forms: dict = {}
    sym = symbolic_bounds(net, x, windows, mask_value, forms, max_ones, kept) if tight_bounds else None
    needed = {n.name for n in net._schedule([net.output.name], {net.input.name})}
    nodes = [n for n in net.nodes if n.name in needed]
    fused = {  # ReLUs whose only reader is a MaxPool: applied after the max instead
        n.output
        for n in nodes
        if n.op_type == "Relu"
        and [c.op_type for c in net.consumers(n.output)] == ["MaxPool"]
        and n.output not in {o.name for o in net.outputs}
    }
    pending: dict[str, tuple] = {}  # fused ReLU output -> (argument, its tensor name)
    for k, node in enumerate(nodes):
        if node.affine:
            continue
        if node.op_type == "Relu" and node.output in fused:
            pending[node.output] = (_affine_expr(net, node.inputs[0], known), node.inputs[0])
            continue
        if node.op_type == "MaxPool" and node.inputs[0] in pending:
            arg, t = pending.pop(node.inputs[0])
            floor = 0.0
        else:
            arg, t, floor = None, node.inputs[0], None
        if arg is None:
            arg = _affine_expr(net, t, known)
        lo, hi = widen(*(b.reshape(-1) for b in boxes[t]))
        if sym is not None and t in sym:  # the tighter of interval and symbolic bounds
            slo, shi = sym[t]
            lo, hi = np.maximum(lo, slo), np.minimum(hi, shi)
        if node.op_type == "Relu":
            known[node.output] = relu(arg, bounds=(lo, hi), name=f"h{k}")
        elif node.op_type == "MaxPool":
            cols = pool_windows(net, node)
            dlo, dhi = pair_bounds(forms.get(t), cols, lo, hi)
            pos = candidates(cols, dlo, dhi, lo, hi, floor)
            if arg.nnz > DENSE_ROW * arg.size and (pos[:, 1:] >= 0).any():
                arg = _as_variable(arg, lo, hi, relu, f"z{k}")
            y, ylo, yhi = _max_terms(arg, cols, pos, dlo, dhi, lo, hi, relu, f"p{k}")
            if floor is not None:
                known[node.output] = relu(y, bounds=(ylo, yhi), name=f"h{k}")
            else:
                known[node.output] = _as_variable(y, ylo, yhi, relu, f"q{k}")
        else:
            raise ModelError(
                f"full encoding: {node.op_type} node {node.name!r} is not supported "
                f"(networks of affine layers, ReLU and MaxPool)"
            )
    return _affine_expr(net, net.output.name, known)


def full_network_problem(
    net: Network,
    x: np.ndarray,
    label: int,
    windows: MaskUnits,
    mask_value: float,
    delta: float,
    strict: bool = False,
    tight_bounds: bool = True,
    max_ones: int | None = None,
):
    """DSL problem: minimise the mask such that the label's logit beats every other by ``delta``.

    ReLU and MaxPool arguments get the tighter of interval and symbolic bounds (`bounds.symbolic_bounds`;
    ``tight_bounds=False`` keeps intervals only), widened outward so no exact value falls outside them.
    ``max_ones`` (e.g. one less than a known valid mask) adds ``sum(m) <= max_ones``; the symbolic bounds
    then hold over those masks only, which makes them much tighter when it is small.
    """
    from smugkit.dsl import Problem

    p = Problem("smug_full_network")
    m = p.binary("m", windows.count)
    logits = network_logits(net, x, windows, mask_value, m, tight_bounds, max_ones)
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
    if max_ones is not None:
        p.add(m.sum() <= max_ones)
    p.minimize(m.sum())
    return p, m
