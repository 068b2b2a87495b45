"""Exact integer scaling of a compiled problem into pseudo-Boolean / integer rows.

Every float is a dyadic rational, so a row over integer columns multiplied by its common power-of-two
denominator has integer coefficients with no rounding at all; dividing by the gcd of the coefficients then
rounds only the right-hand side, which is exact over integer columns (``a.x >= b  <=>  (a/g).x >= ceil(b/g)``).
Strict rows become non-strict (``a.x < b  <=>  a.x <= b - 1``). The result feeds solvers with exact integer
arithmetic (Exact, z3's pseudo-Boolean constraints); big coefficients stay big integers, never rounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from smugkit.dsl.problem import Compiled
from smugkit.dsl.rational import integer_row
from smugkit.errors import ProblemError


@dataclass
class PbRow:
    """``lo <= sum coefs*x[cols] <= hi`` over integer columns (``None``: no bound on that side).

    ``factor`` is the exact multiplier applied to the original row (``coefs == factor * original``).
    """

    cols: list[int]
    coefs: list[int]
    lo: int | None
    hi: int | None
    factor: Fraction


@dataclass
class PbProblem:
    """A compiled problem over bounded integer columns with integer rows."""

    lb: list[int]
    ub: list[int]
    rows: list[PbRow]
    trivially_infeasible: bool  # a row with no columns that fails (or an equality with no integer solution)

    @property
    def binary(self) -> bool:
        """True when every column is 0/1 (a pure pseudo-Boolean problem)."""
        return all(lo >= 0 and hi <= 1 for lo, hi in zip(self.lb, self.ub))

    def binary_on(self, cols: np.ndarray) -> bool:
        """True when ``cols`` is not empty and each of them is 0/1 (what nogood enumeration needs)."""
        return cols.size > 0 and all(self.lb[j] >= 0 and self.ub[j] <= 1 for j in cols.tolist())


def pb_unsupported(c: Compiled) -> str | None:
    """Why ``c`` has no exact integer form (real columns, ReLUs, unbounded integers), or None."""
    if c.relus:
        return "ReLU constraints (real-valued outputs) have no pseudo-Boolean form"
    if not c.integral.all():
        return "real-valued variables have no pseudo-Boolean form"
    if not (np.isfinite(c.lb).all() and np.isfinite(c.ub).all()):
        return "integer variables need finite bounds"
    return None


def scale_row(coefs: list[float], rhs: float, sense: int) -> PbRow:
    """One row ``coefs.x (<=, <, ==)[sense] rhs`` over integer columns as exact integers (cols left empty)."""
    ints, r, scale = integer_row(coefs, rhs)
    g = math.gcd(*ints) if any(ints) else 0
    if sense == 2:  # equality: divide only when the right-hand side stays integral
        if g > 1 and r % g == 0:
            ints, r, scale = [a // g for a in ints], r // g, Fraction(scale, g)
        return PbRow([], ints, r, r, Fraction(scale))
    hi = r - 1 if sense == 1 else r
    if g > 1:
        ints, hi, scale = [a // g for a in ints], hi // g, Fraction(scale, g)  # floor: exact over integers
    return PbRow([], ints, None, hi, Fraction(scale))


def pb_problem(c: Compiled) -> PbProblem:
    """The exact integer form of ``c``; raises ProblemError when it has none (see `pb_unsupported`)."""
    why = pb_unsupported(c)
    if why is not None:
        raise ProblemError(why)
    lb = [math.ceil(v) for v in c.lb.tolist()]
    ub = [math.floor(v) for v in c.ub.tolist()]
    A = c.A.tocsr()
    rows: list[PbRow] = []
    bad = any(lo > hi for lo, hi in zip(lb, ub))
    for i in range(c.m):
        s, e = A.indptr[i], A.indptr[i + 1]
        cols = A.indices[s:e].tolist()
        coefs = A.data[s:e].tolist()
        keep = [k for k, a in enumerate(coefs) if a != 0.0]
        cols, coefs = [cols[k] for k in keep], [coefs[k] for k in keep]
        row = scale_row(coefs, float(c.b[i]), int(c.sense[i]))
        row.cols = cols
        if not cols:  # a constant row: decide it here
            ok = (row.lo is None or row.lo <= 0) and (row.hi is None or 0 <= row.hi)
            bad = bad or not ok
            continue
        if row.lo is not None and row.lo == row.hi and any(row.coefs) and row.lo % math.gcd(*row.coefs):
            bad = True  # no integer point on this equality
        rows.append(row)
    return PbProblem(lb, ub, rows, bad)


def check_integer_point(pb: PbProblem, x: list[int]) -> bool:
    """Whether integer point ``x`` satisfies every scaled row and bound (exact integer arithmetic)."""
    if any(v < lo or v > hi for v, lo, hi in zip(x, pb.lb, pb.ub)):
        return False
    for row in pb.rows:
        t = sum(a * x[j] for a, j in zip(row.coefs, row.cols))
        if (row.lo is not None and t < row.lo) or (row.hi is not None and t > row.hi):
            return False
    return not pb.trivially_infeasible
