"""Numeric check of a candidate assignment, in floats with a tolerance or exactly in rationals.

The exact mode is fast: a row's float residual is trusted when it is farther from zero than the
standard forward-error bound of a dot product (Higham, *Accuracy and Stability*, 3.1); only the rows
within that band, and equality rows, are recomputed exactly: in integers (`smugkit.dsl.dyadic`) for float
values, with ``fractions.Fraction`` for rational ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from smugkit.dsl import dyadic
from smugkit.dsl.dyadic import exact_dot, exact_residuals
from smugkit.dsl.problem import Compiled
from smugkit.errors import ProblemError

_U = 2.0**-53
_SENSE = ("<=", "<", "==")


@dataclass
class Evaluation:
    """Outcome of checking an assignment: feasibility, objective, smallest slack and what failed."""

    feasible: bool
    objective: float | None
    exact: bool
    min_slack: float
    max_violation: float
    violations: list[str] = field(default_factory=list)
    objective_exact: Fraction | None = None

    def __bool__(self) -> bool:
        return self.feasible


def _is_fraction_input(assignment: dict[str, Any]) -> bool:
    """True when some value is given as Python rationals (object arrays)."""
    return any(np.asarray(v).dtype == object for v in assignment.values())


def _error_bound(A: sp.csr_matrix, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-row bound on |fl(A x - b) - (A x - b)| for a float x (generous by a factor of two)."""
    nnz = np.diff(A.indptr) + 1
    gamma = nnz * _U / np.maximum(1.0 - nnz * _U, 0.5)
    mag = abs(A) @ np.abs(x) + np.abs(b)
    return 2.0 * gamma * mag * (1 + 4 * _U) + 1e-300


def _row_exact(A: sp.csr_matrix, b: np.ndarray, xq: list[Any], r: int) -> Fraction:
    """Exact residual ``A[r] @ x - b[r]`` with rational x."""
    lo, hi = A.indptr[r], A.indptr[r + 1]
    total = -Fraction(float(b[r]))
    for a, j in zip(A.data[lo:hi].tolist(), A.indices[lo:hi].tolist()):
        xj = xq[j]
        if xj:
            total += Fraction(a) * xj
    return total


class _Lazy:
    """Column values as Fractions, converted on first use."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.cache: dict[int, Fraction] = {}

    def __getitem__(self, j: int) -> Fraction:
        q = self.cache.get(j)
        if q is None:
            v = self.x[j]
            q = v if isinstance(v, Fraction) else Fraction(v)
            self.cache[j] = q
        return q


def _residual_signs(
    A: sp.csr_matrix, b: np.ndarray, x: np.ndarray, xq: _Lazy, exact: bool, tol: float, force_exact: bool
) -> tuple[np.ndarray, dict[int, Fraction]]:
    """Float residuals and, where needed, exact ones (by row) for ``A x - b``."""
    s = A @ x - b if A.shape[0] else np.zeros(0)
    exact_vals: dict[int, Fraction] = {}
    if exact:
        bound = _error_bound(A, b, x) if A.shape[0] else np.zeros(0)
        doubtful = np.flatnonzero(np.abs(s) <= bound) if not force_exact else np.arange(A.shape[0])
        if force_exact:  # rational values: Fractions
            for r in doubtful.tolist():
                exact_vals[r] = _row_exact(A, b, xq, r)
        else:  # float values are dyadic: exact in integers, vectorised
            exact_vals = dict(zip(doubtful.tolist(), exact_residuals(A, b, x, doubtful)))
    return s, exact_vals


def exact_completion(c: Compiled, assignment: dict[str, Any]) -> dict[str, np.ndarray]:
    """The assignment with every ReLU output recomputed exactly (Fractions) from the other variables.

    ReLU blocks are registered after their inputs, so one pass in order suffices.
    """
    xf = np.array([float(v) for v in c.join(assignment, dtype=object)], dtype=np.float64)
    xf[c.integral] = np.round(xf[c.integral])
    X, E = dyadic.from_floats(xf)  # exact in integers: numerators over one power of two
    for rl in c.relus:
        Y, F = dyadic.affine_ints(rl.R, rl.r, X, E)
        Y = np.where(Y > 0, Y, 0)
        G = min(E, F)
        X, Y, E = dyadic.align(X, E, G), dyadic.align(Y, F, G), G
        X[rl.out] = Y
    x = dyadic.to_fractions(X, E)
    out = {}
    for v in c.variables:
        o = c.offsets[v.name]
        out[v.name] = x[o : o + v.size].reshape(v.shape)
    return out


def evaluate(c: Compiled, assignment: dict[str, Any], exact: bool = False, tol: float = 1e-9) -> Evaluation:
    """Check ``assignment`` against a compiled problem (see Problem.evaluate)."""
    rational_in = _is_fraction_input(assignment)
    exact = exact or rational_in
    xo = c.join(assignment, dtype=object) if rational_in else None
    x = c.join(assignment).astype(np.float64) if xo is None else np.array([float(v) for v in xo])
    if not np.all(np.isfinite(x)):
        raise ProblemError("assignment contains non-finite values")
    xq = _Lazy(xo if xo is not None else x)
    eps = 0.0 if exact else tol
    bad: list[str] = []
    worst = 0.0
    count = 0

    def note(msg: str, amount: float) -> None:
        nonlocal worst, count
        worst = max(worst, amount)
        count += 1
        if msg and len(bad) < 20:
            bad.append(msg)

    # bounds and integrality
    for v in c.variables:
        o = c.offsets[v.name]
        xv = x[o : o + v.size]
        below, above = v.lb.ravel() - xv, xv - v.ub.ravel()
        if rational_in:  # compare exactly
            vals = [xq[o + i] for i in range(v.size)]
            below = np.array(
                [float(Fraction(lo) - q) if np.isfinite(lo) else -1.0 for lo, q in zip(v.lb.ravel(), vals)]
            )
            above = np.array(
                [float(q - Fraction(hi)) if np.isfinite(hi) else -1.0 for hi, q in zip(v.ub.ravel(), vals)]
            )
        over = np.maximum(below, above)
        for i in np.flatnonzero(over > eps)[:5].tolist():
            note(f"{v.name}.{i} = {x[o + i]} outside [{v.lb.ravel()[i]}, {v.ub.ravel()[i]}]", float(over[i]))
        if v.domain.integral:
            frac = np.abs(xv - np.round(xv))
            if rational_in:
                frac = np.array([0.0 if xq[o + i].denominator == 1 else 1.0 for i in range(v.size)])
            for i in np.flatnonzero(frac > eps)[:5].tolist():
                note(f"{v.name}.{i} = {x[o + i]} is not an integer", float(frac[i]))

    # constraint rows
    s, ex = _residual_signs(c.A, c.b, x, xq, exact, tol, force_exact=rational_in)
    slack = np.inf
    if c.m:
        sense = c.sense
        res = s.copy()
        for r, q in ex.items():
            res[r] = float(q)
        ok = np.empty(c.m, dtype=bool)
        ok[sense == 0] = res[sense == 0] <= eps
        ok[sense == 1] = res[sense == 1] < eps
        ok[sense == 2] = np.abs(res[sense == 2]) <= eps
        for r, q in ex.items():  # exact verdicts override the float ones
            ok[r] = q <= 0 if sense[r] == 0 else (q < 0 if sense[r] == 1 else q == 0)
        if exact:  # equality rows need an exact zero; float residuals cannot prove it
            todo = [r for r in np.flatnonzero((sense == 2) & ok).tolist() if r not in ex]
            qs = (
                [_row_exact(c.A, c.b, xq, r) for r in todo]
                if rational_in
                else exact_residuals(c.A, c.b, x, np.array(todo, np.int64))
            )
            for r, q in zip(todo, qs):
                ok[r] = q == 0
                res[r] = float(q)
        ineq = sense != 2
        if ineq.any():
            slack = float(np.min(-res[ineq]))
        for r in np.flatnonzero(~ok)[:10].tolist():
            block = c.block_names[c.row_block[r]]
            note(
                f"row {r} of constraint {block!r}: residual {res[r]:.6g} violates '{_SENSE[sense[r]]} 0'",
                abs(float(res[r])),
            )
        for r in np.flatnonzero(~ok)[10:].tolist():
            note("", abs(float(res[r])))

    # ReLU definitions: out == max(arg, 0)
    dy = None
    if exact and c.relus:
        dy = dyadic.from_fractions(xo) if rational_in else dyadic.from_floats(x)
    for rl in c.relus:
        arg = rl.R @ x + rl.r
        out = x[rl.out]
        diff = np.abs(out - np.maximum(arg, 0.0))
        if exact and dy is not None:  # every value dyadic: exact in integers, vectorised
            Y, F = dyadic.affine_ints(rl.R, rl.r, dy[0], dy[1])
            G = min(F, dy[1])
            want = dyadic.align(np.where(Y > 0, Y, 0), F, G)
            got = dyadic.align(dy[0][rl.out], dy[1], G)
            for i in np.flatnonzero(got != want).tolist():
                note(f"relu {rl.name}.{i}: output {out[i]} != max({arg[i]}, 0)", float(diff[i]))
        elif exact:
            args = None if rational_in else exact_residuals(rl.R, -rl.r, x, np.arange(rl.out.size))
            for i in range(rl.out.size):
                a = _row_exact(rl.R, -rl.r, xq, i) if args is None else args[i]
                want = a if a > 0 else Fraction(0)
                if xq[int(rl.out[i])] != want:
                    note(
                        f"relu {rl.name}.{i}: output {out[i]} != max({float(a)}, 0)",
                        float(abs(xq[int(rl.out[i])] - want)),
                    )
        else:
            for i in np.flatnonzero(diff > tol * (1 + np.abs(arg)))[:5].tolist():
                note(f"relu {rl.name}.{i}: output {out[i]} != max({arg[i]}, 0)", float(diff[i]))

    objective, objective_exact = None, None
    if c.obj is not None:
        objective = float(c.obj @ x + c.obj_const)
        if exact:
            nz = np.flatnonzero(c.obj)
            if rational_in:
                objective_exact = Fraction(c.obj_const) + sum(
                    (Fraction(float(c.obj[j])) * xq[int(j)] for j in nz.tolist()), Fraction(0)
                )
            else:
                objective_exact = exact_dot(c.obj[nz], x[nz], float(c.obj_const))
            objective = float(objective_exact)
    return Evaluation(count == 0, objective, exact, slack, worst, bad, objective_exact)
