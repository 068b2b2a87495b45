"""A valid lower bound for a minimisation the solver left without one: the LP relaxation, or a row cover bound.

An SMT solver stopped at its budget proves nothing about the optimum (its bound stays at the a-priori 0).
Two cheap bounds fill the gap for problems with an integral objective (ReLU terms enter the LP as their
triangle relaxation over the pre-activation bounds):

- the LP relaxation (HiGHS through scipy). Its floats are not trusted as they are: the row duals ``λ`` only
  choose a Lagrangian bound ``Σ_j min_{x_j} d_j x_j - λ·b`` with ``d = c + Aᵀλ``, which holds for *any* ``λ``
  of the right sign; it is evaluated with a margin covering float rounding and rounded up;
- per row, the least objective cost that can meet the row at all (a fractional cover of its deficit by the
  objective columns' gains), when the LP solve does not finish in its short time limit.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.results import join_messages
from smugkit.backends.search import SearchResult
from smugkit.dsl.problem import Compiled

if TYPE_CHECKING:
    from smugkit.backends.base import SolveContext

#: relative size of the float-rounding margin (a dot product of n terms errs by at most n * 1.1e-16 of its
#: absolute sum; 1e-9 covers n up to about 9 million terms)
ROUNDING = 1e-9
RELU_LP_COLUMNS = 4096  # problems with ReLU terms get the LP only up to this many columns
LP = "the LP relaxation (dual-checked)"
COVER = "a row cover bound"


def _weights(c: Compiled, spec: ObjectiveSpec) -> np.ndarray | None:
    """The minimised form's integer weights per column, or None when the form is not an integral linear one."""
    if not spec.integral or not spec.cols.size:
        return None
    if not c.integral[spec.cols].all() or max(abs(int(a)) for a in spec.coefs) >= 2**52:
        return None
    w = np.zeros(c.n)
    w[spec.cols] = np.asarray(spec.coefs, dtype=np.float64)
    return w


def _rows_le(c: Compiled, relus: bool = True) -> tuple[sp.csr_matrix, np.ndarray, sp.csr_matrix, np.ndarray]:
    """``A_ub x <= b_ub`` (strict rows relaxed, ReLUs as triangles unless ``relus`` is off) and ``A_eq x = b_eq``."""
    eq = c.sense == 2
    A, b = [c.A[~eq]], [c.b[~eq]]
    for r in c.relus if relus else []:
        tri_A, tri_b = _triangle(r, c.n)
        A.append(tri_A)
        b.append(tri_b)
    return sp.vstack(A, format="csr"), np.concatenate(b), c.A[eq], c.b[eq]


def _triangle(r, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The LP relaxation of ``y = max(z, 0)``, ``z = R x + r`` with ``lo <= z <= hi``, as ``<=`` rows:
    ``y >= 0``, ``y >= z``, and ``y <= s (z - lo)`` with ``s = hi / (hi - lo)`` (``y <= z`` when ``lo >= 0``,
    ``y <= 0`` when ``hi <= 0``). The slope is rounded up a little: a looser row, never a wrong one."""
    k = r.out.size
    Y = sp.csr_matrix((np.ones(k), (np.arange(k), r.out)), shape=(k, n))
    R = sp.csr_matrix(r.R)
    lo, hi = np.asarray(r.lo, float), np.asarray(r.hi, float)
    span = np.where(hi > lo, hi - lo, 1.0)
    s = np.where(lo >= 0, 1.0, np.where(hi <= 0, 0.0, hi / span * (1 + 1e-9)))
    shift = np.where(lo >= 0, 0.0, -lo)  # y <= s (z + shift); at lo >= 0 this is y <= z exactly
    S = sp.diags(s)
    rows = sp.vstack([-Y, R - Y, Y - S @ R], format="csr")
    rhs = np.concatenate([np.zeros(k), -r.r, s * (r.r + shift)])
    return rows, rhs


def _ceil(value: float, margin: float) -> int | None:
    """The least integer at or above a float bound computed with error at most ``margin``."""
    low = value - margin
    return math.ceil(low) if np.isfinite(low) else None


def lp_bound(c: Compiled, w: np.ndarray, seconds: float) -> int | None:
    """A rigorous integer lower bound on ``min w·x`` over the LP relaxation of ``c``, or None."""
    from scipy.optimize import linprog

    A_ub, b_ub, A_eq, b_eq = _rows_le(c)
    try:
        res = linprog(
            w,
            A_ub=A_ub if A_ub.shape[0] else None,
            b_ub=b_ub if A_ub.shape[0] else None,
            A_eq=A_eq if A_eq.shape[0] else None,
            b_eq=b_eq if A_eq.shape[0] else None,
            bounds=np.column_stack([c.lb, c.ub]),
            method="highs",
            options={"time_limit": max(0.05, seconds), "presolve": True},
        )
    except (ValueError, MemoryError):
        return None
    if res.status != 0:
        return None
    lam_ub = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0) if A_ub.shape[0] else np.zeros(0)
    lam_eq = -np.asarray(res.eqlin.marginals) if A_eq.shape[0] else np.zeros(0)
    return dual_bound(c, w, lam_ub, lam_eq)


def dual_bound(c: Compiled, w: np.ndarray, lam_ub: np.ndarray, lam_eq: np.ndarray) -> int | None:
    """``ceil(Σ_j min_{lb<=x_j<=ub} d_j x_j - λ·b)`` with ``d = w + Aᵀλ``: a lower bound for any ``λ_ub >= 0``."""
    A_ub, b_ub, A_eq, b_eq = _rows_le(c)
    d = w + A_ub.T @ lam_ub + A_eq.T @ lam_eq
    d_abs = np.abs(w) + abs(A_ub).T @ np.abs(lam_ub) + abs(A_eq).T @ np.abs(lam_eq)
    end = np.where(d > 0, c.lb, c.ub)
    if not np.all(np.isfinite(end[d != 0])):
        return None  # a column unbounded in the direction that lowers the Lagrangian: no bound
    terms = np.where(d != 0, d * np.where(d != 0, end, 0.0), 0.0)
    value = terms.sum() - lam_ub @ b_ub - lam_eq @ b_eq
    size = np.maximum(
        np.abs(np.nan_to_num(c.lb, posinf=0, neginf=0)), np.abs(np.nan_to_num(c.ub, posinf=0, neginf=0))
    )
    margin = ROUNDING * (
        np.abs(terms).sum() + d_abs @ size + np.abs(lam_ub) @ np.abs(b_ub) + np.abs(lam_eq) @ np.abs(b_eq)
    )
    return _ceil(value, margin + ROUNDING)


def cover_bound(c: Compiled, w: np.ndarray) -> int | None:
    """The largest, over rows, least objective cost that can satisfy the row on its own (0/1 objective columns).

    Row ``g·x >= t`` (a ``<=`` row negated; an equality gives both): the columns outside the objective, and
    objective columns that only hurt, contribute at most their best end; the objective columns' gains must
    cover the rest, and the cheapest way (fractional, by gain per unit of weight) bounds the row's cost."""
    obj = w > 0
    if not obj.any() or np.any(w < 0) or np.any(c.lb[obj] != 0) or np.any(c.ub[obj] != 1):
        return None
    A_ub, b_ub, A_eq, b_eq = _rows_le(c, relus=False)  # a ReLU's rows hold no objective column
    G = sp.vstack([-A_ub, -A_eq, A_eq]).tocsr()
    t = np.concatenate([-b_ub, -b_eq, b_eq])
    best = 0
    for i in range(G.shape[0]):
        cols, g = G.indices[G.indptr[i] : G.indptr[i + 1]], G.data[G.indptr[i] : G.indptr[i + 1]]
        gain = obj[cols] & (g > 0)
        other = cols[~gain]
        top = np.maximum(g[~gain] * c.lb[other], g[~gain] * c.ub[other])
        if not np.all(np.isfinite(top)):
            continue
        need = t[i] - top.sum()
        margin = ROUNDING * (np.abs(top).sum() + abs(t[i]) + np.abs(g).sum()) + ROUNDING
        if need <= margin:
            continue
        gains, costs = g[gain], w[cols[gain]]
        order = np.argsort(-gains / costs, kind="stable")
        gains, costs = gains[order], costs[order]
        reach = np.cumsum(gains)
        k = int(np.searchsorted(reach, need - margin))
        if k >= gains.size:
            continue  # the row cannot be met at all: the problem is infeasible, which is not this bound's call
        before = reach[k - 1] if k else 0.0
        cost = costs[:k].sum() + costs[k] * max(0.0, need - margin - before) / gains[k]
        bound = _ceil(cost, ROUNDING * (1 + costs[: k + 1].sum()))
        best = max(best, bound or 0)
    return best


def fill_lower_bound(ctx: SolveContext, res: SearchResult, weak_only: bool = False) -> SearchResult:
    """``res`` with a relaxation bound when the solver stopped short of optimal with a weaker bound (or, with
    ``weak_only``, for solvers whose own bound includes the LP: only when it reports none).

    The LP gets a short time limit of its own (a tenth of the budget, 0.25 to 2 s), so the solve stays
    bounded; the message says where the bound came from."""
    spec, c = ctx.spec, ctx.compiled
    if spec is None or res.status not in ("feasible", "unknown"):
        return res
    known = [b for b in (res.lower, spec.lower) if b is not None]  # the solver's and the a-priori bound
    if weak_only and res.lower is not None and (spec.lower is None or res.lower > spec.lower):
        return res
    w = _weights(c, spec)
    if w is None:
        return res
    t0 = time.perf_counter()
    seconds = min(2.0, max(0.25, 0.1 * (ctx.timeout or 10.0)))
    found = [(b, COVER) for b in [cover_bound(c, w)] if b is not None]
    # the triangle LP of a whole network does not finish in seconds (digits_cnn28, 8704 columns: > 20 s)
    lp = lp_bound(c, w, seconds) if not c.relus or c.n <= RELU_LP_COLUMNS else None
    if lp is not None:
        found.append((lp, LP))
    if not found:
        return res
    bound, source = max(found, key=lambda f: f[0])
    if res.value is not None and bound > res.value:
        return res  # cannot happen for a valid bound; never report a bound above a checked solution
    if known and bound <= max(known):
        return res
    res.lower = bound
    res.message = join_messages(
        res.message, f"lower bound from {source} ({time.perf_counter() - t0:.2f} s after the solve)"
    )
    return res
