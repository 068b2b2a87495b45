"""Symbolic interval bounds (linear in the mask bits) for the full-network encoding, in numpy.

Every tensor is bounded by two affine functions of the mask ``m`` in ``[0, 1]^n``:
``L m + l <= t(m) <= U m + u``, propagated through affine layers by the signs of their weights, through a
ReLU by the triangle relaxation (DeepPoly/CROWN's, Singh et al. 2019: upper chord, lower ``0`` or the
identity) and through a max-pool by its best lower input. Their extremes over the box are much tighter
than plain interval arithmetic after a few layers, which shrinks the big-M constants of the MILP and fixes
ReLUs that are stable on every mask. Bounds are widened outward by a relative 1e-9 so that float rounding
never makes them cut off an exact value.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from smugkit.errors import ModelError
from smugkit.ir import Network
from smugkit.ir.linear import window_view
from smugkit.ir.linearize import affine_rows
from smugkit.units import MaskUnits

#: relative outward widening of every concrete bound (float64 errors of the products are ~1e-13)
WIDEN = 1e-9
#: dense symbolic matrices larger than this (neurons x bits) fall back to interval bounds
MAX_ENTRIES = 60_000_000


def top_sum(A: np.ndarray, k: int | None) -> np.ndarray:
    """Per row, the sum of the ``k`` largest positive entries (all of them when ``k`` is None): the maximum
    of ``A m`` over 0/1 (or [0, 1]) masks ``m`` with at most ``k`` ones."""
    P = np.maximum(A, 0)
    if k is None or k >= A.shape[1]:
        return P.sum(axis=1)
    if k <= 0:
        return np.zeros(A.shape[0])
    return np.partition(P, A.shape[1] - k, axis=1)[:, A.shape[1] - k :].sum(axis=1)


class _Sym:
    """``L m + l <= t <= U m + u`` for a flat tensor, with its concrete bounds over ``m`` in the box (with at
    most ``k`` ones when ``k`` is set)."""

    def __init__(self, L: np.ndarray, l0: np.ndarray, U: np.ndarray, u0: np.ndarray, k: int | None = None):
        self.L, self.l0, self.U, self.u0, self.k = L, l0, U, u0, k

    def concrete(self) -> tuple[np.ndarray, np.ndarray]:
        return widen(self.l0 - top_sum(-self.L, self.k), self.u0 + top_sum(self.U, self.k))

    def affine(self, C: sp.spmatrix, off: np.ndarray) -> _Sym:
        """The bounds of ``C t + off``."""
        P, N = C.maximum(0).tocsr(), C.minimum(0).tocsr()
        return _Sym(
            np.asarray(P @ self.L + N @ self.U),
            P @ self.l0 + N @ self.u0 + off,
            np.asarray(P @ self.U + N @ self.L),
            P @ self.u0 + N @ self.l0 + off,
            self.k,
        )


def widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi]`` moved outward by ``WIDEN`` relative to their magnitude (plus a tiny absolute term)."""
    return lo - WIDEN * (np.abs(lo) + 1e-12), hi + WIDEN * (np.abs(hi) + 1e-12)


def _relu(s: _Sym, lo: np.ndarray, hi: np.ndarray) -> _Sym:
    active, dead = lo >= 0, hi <= 0
    cross = ~active & ~dead
    lam = np.where(cross, hi / np.where(cross, hi - lo, 1.0), active.astype(float))
    up0 = np.where(cross, -lam * lo, 0.0)
    alpha = np.where(cross, (hi >= -lo).astype(float), active.astype(float))  # lower: identity or 0
    return _Sym(s.L * alpha[:, None], s.l0 * alpha, s.U * lam[:, None], s.u0 * lam + up0, s.k)


def _maxpool(net: Network, node, s: _Sym, lo: np.ndarray, hi: np.ndarray) -> _Sym:
    shape = net.tensors[node.inputs[0]].shape
    idx = np.arange(int(np.prod(shape))).reshape((1,) + shape).astype(np.float64)
    x4, _ = node._to4(idx)
    cols = window_view(
        node._pad(x4, -1.0), node.attrs["kernel"], node.attrs["strides"], node.attrs["dilations"]
    )
    cols = cols.reshape(-1, cols.shape[-2] * cols.shape[-1]).astype(np.int64)  # outputs x window positions
    valid = cols >= 0
    safe = np.where(valid, cols, 0)
    clo = np.where(valid, lo[safe], -np.inf)
    chi = np.where(valid, hi[safe], -np.inf)
    best = safe[np.arange(cols.shape[0]), clo.argmax(axis=1)]  # the input with the largest lower bound
    top = chi.max(axis=1)
    others = np.where(safe == best[:, None], -np.inf, chi).max(axis=1)
    wins = lo[best] >= others  # that input is the max on every mask: its upper function holds too
    U = np.where(wins[:, None], s.U[best], 0.0)
    u0 = np.where(wins, s.u0[best], top)
    return _Sym(s.L[best], s.l0[best], U, u0, s.k)


def symbolic_bounds(
    net: Network,
    x: np.ndarray,
    windows: MaskUnits,
    mask_value: float,
    forms: dict | None = None,
    max_ones: int | None = None,
    kept: np.ndarray | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Sound ``(lo, hi)`` of the input of every ReLU and MaxPool over all masks (with at most ``max_ones``
    kept windows besides those flagged in ``kept``, fixed to 1), or None when too large;
    ``forms`` (a dict) receives their linear bounds too, for `pair_bounds`."""
    d = np.asarray(x, np.float64).reshape(-1) - mask_value
    E = windows.incidence()
    n_bits = E.shape[1]
    if d.size * n_bits > MAX_ENTRIES:
        return None
    M = (sp.diags(d) @ E).toarray()
    base = np.full(d.size, float(mask_value))
    if kept is not None:  # constants, not variables
        fixed = np.asarray(kept, bool).reshape(-1)
        base += M[:, fixed].sum(axis=1)
        M[:, fixed] = 0.0
    known = {net.input.name: _Sym(M, base, M, base.copy(), max_ones)}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    needed = {n.name for n in net._schedule([net.output.name], {net.input.name})}
    for node in (n for n in net.nodes if n.name in needed):
        if node.affine:
            continue
        t = node.inputs[0]
        try:
            src = affine_source(net, t, known)
        except ModelError:
            return None
        if src == t:
            s = known[t]
        else:
            C, off = affine_rows(net, t, np.arange(net.tensors[t].size), source=src)
            if C.shape[0] * n_bits > MAX_ENTRIES:
                return None
            s = known[src].affine(C, off)
        lo, hi = s.concrete()
        out[t] = (lo, hi)
        if forms is not None:
            forms[t] = s
        if node.op_type == "Relu":
            known[node.output] = _relu(s, lo, hi)
        elif node.op_type == "MaxPool":
            known[node.output] = _maxpool(net, node, s, lo, hi)
        else:
            return None
    return out


def pair_bounds(
    form: _Sym | None, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``a_i - a_j`` for every pair of positions of every pooling window (``n_out x k x k``).

    From the linear bounds ``form`` when given (``U_i - L_j`` over the box, much tighter than
    ``hi_i - lo_j`` when both inputs move with the same mask bits), else from the intervals; padding
    positions get ``-inf``/``+inf`` and are never read.
    """
    valid = cols >= 0
    c = np.where(valid, cols, 0)
    dlo = lo[c][:, :, None] - hi[c][:, None, :]
    dhi = hi[c][:, :, None] - lo[c][:, None, :]
    if form is not None:
        k = cols.shape[1]
        for i in range(k):
            for j in range(k):
                if i == j:
                    continue
                a, b = c[:, i], c[:, j]
                up = form.u0[a] - form.l0[b] + top_sum(form.U[a] - form.L[b], form.k)
                low = form.l0[a] - form.u0[b] - top_sum(form.U[b] - form.L[a], form.k)
                low, up = widen(low, up)
                dlo[:, i, j] = np.maximum(dlo[:, i, j], low)
                dhi[:, i, j] = np.minimum(dhi[:, i, j], up)
    both = valid[:, :, None] & valid[:, None, :]
    return np.where(both, dlo, -np.inf), np.where(both, dhi, np.inf)


def affine_source(net: Network, tensor: str, known: dict) -> str:
    """The single encoded tensor that ``tensor`` is an affine function of (a `ModelError` says why not)."""
    found, stack, seen = set(), [tensor], set()
    while stack:
        t = stack.pop()
        if t in known:
            found.add(t)
            continue
        if t in seen:
            continue
        seen.add(t)
        p = net.producer(t)
        if p is None:
            raise ModelError(f"full encoding: tensor {t!r} is a model input that is not encoded")
        if not p.affine:
            raise ModelError(
                f"full encoding: {p.op_type} node {p.name!r} is not supported (ReLU and MaxPool only)"
            )
        stack.extend(p.inputs)
    if len(found) != 1:
        raise ModelError(
            f"full encoding: tensor {tensor!r} depends on {len(found)} encoded layers; only chains of "
            f"layers are supported"
        )
    return found.pop()
