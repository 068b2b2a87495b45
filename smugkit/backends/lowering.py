"""One lowering of a compiled Problem for every SMT API backend, through a small term-builder adapter.

Rows over integer columns are scaled to integer coefficients (exact: the common denominator of float
coefficients is a power of two); other rows get exact rational literals. BINARY columns become 0/1 Ints
by default (``binary_as="int"``) or Bools read through ``ite`` (``binary_as="bool"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from smugkit.backends.budget import Budget
from smugkit.backends.objective import ObjectiveSpec
from smugkit.dsl.domains import Domain
from smugkit.dsl.problem import Compiled
from smugkit.dsl.rational import integer_row


class TermBuilder(Protocol):
    """The few term constructors the lowering needs from a solver API."""

    def var(self, name: str, sort: str) -> Any: ...
    def int_(self, n: int) -> Any: ...
    def real(self, n: int, d: int) -> Any: ...
    def add(self, terms: list[Any]) -> Any: ...  # at least two terms
    def mul(self, coef: Any, x: Any) -> Any: ...
    def cmp(self, op: str, a: Any, b: Any) -> Any: ...  # op in <=, <, =, >=
    def ite(self, c: Any, a: Any, b: Any) -> Any: ...
    def to_real(self, x: Any) -> Any: ...
    def or_(self, terms: list[Any]) -> Any: ...
    def not_(self, x: Any) -> Any: ...


_OPS = ("<=", "<", "=")


@dataclass
class Lowered:
    """Solver terms of a problem: column variables, assertions and the minimised objective term."""

    cols: list[Any]
    is_bool: np.ndarray
    integral: np.ndarray
    assertions: list[Any]
    objective: Any | None
    decision: np.ndarray  # integer columns of declared (not defined) variables, used for blocking


class Lowerer:
    """Builds terms for one compiled problem with one TermBuilder."""

    def __init__(
        self,
        c: Compiled,
        tb: TermBuilder,
        binary_as: str = "int",
        int_rows: bool = True,
        budget: Budget | None = None,
    ) -> None:
        self.c, self.tb = c, tb
        self.budget = budget  # term building counts against the solve's budget (it can take minutes)
        self.int_rows = int_rows
        self.is_bool = np.array(
            [d is Domain.BOOL or (d is Domain.BINARY and binary_as == "bool") for d in c.domain], dtype=bool
        )
        self.integral = c.integral
        sorts = ["Bool" if b else ("Int" if i else "Real") for b, i in zip(self.is_bool, self.integral)]
        names = [f"{v.name}.{i}" for v in c.variables for i in range(v.size)]
        self.cols = [tb.var(n, s) for n, s in zip(names, sorts)]
        self._iatom: dict[int, Any] = {}
        self._ratom: dict[int, Any] = {}
        self._one, self._zero = tb.int_(1), tb.int_(0)
        self._rzero = tb.real(0, 1)

    def int_atom(self, j: int) -> Any:
        """Column j as an Int term."""
        t = self._iatom.get(j)
        if t is None:
            t = self.tb.ite(self.cols[j], self._one, self._zero) if self.is_bool[j] else self.cols[j]
            self._iatom[j] = t
        return t

    def real_atom(self, j: int) -> Any:
        """Column j as a Real term."""
        t = self._ratom.get(j)
        if t is None:
            if self.is_bool[j]:
                t = self.tb.ite(self.cols[j], self.tb.real(1, 1), self._rzero)
            else:
                t = self.tb.to_real(self.cols[j]) if self.integral[j] else self.cols[j]
            self._ratom[j] = t
        return t

    def _sum(self, parts: list[Any], zero: Any) -> Any:
        return zero if not parts else (parts[0] if len(parts) == 1 else self.tb.add(parts))

    def int_sum(self, cols: list[int], ints: list[int]) -> Any:
        """``sum ints*x[cols]`` as an Int term."""
        tb = self.tb
        parts = [
            self.int_atom(j) if a == 1 else tb.mul(tb.int_(a), self.int_atom(j)) for j, a in zip(cols, ints)
        ]
        return self._sum(parts, self._zero)

    def real_sum(self, cols: list[int], coefs: list[float], const: float = 0.0) -> Any:
        """``sum coefs*x[cols] + const`` as a Real term with exact literals."""
        tb = self.tb
        parts = []
        for j, a in zip(cols, coefs):
            n, d = a.as_integer_ratio()
            parts.append(self.real_atom(j) if n == d else tb.mul(tb.real(n, d), self.real_atom(j)))
        if const != 0.0:
            parts.append(tb.real(*float(const).as_integer_ratio()))
        return self._sum(parts, self._rzero)

    def row(self, cols: list[int], coefs: list[float], rhs: float, op: str) -> Any:
        """One constraint row."""
        if self.int_rows and all(self.integral[j] for j in cols):
            ints, r, _ = integer_row(coefs, rhs)
            return self.tb.cmp(op, self.int_sum(cols, ints), self.tb.int_(r))
        return self.tb.cmp(op, self.real_sum(cols, coefs), self.tb.real(*float(rhs).as_integer_ratio()))

    def bounds(self) -> list[Any]:
        """Bound assertions: numeric bounds of non-Bool columns, fixed values of Bool columns."""
        tb, c, out = self.tb, self.c, []
        for j in range(c.n):
            if self.is_bool[j]:
                if c.ub[j] < 1:
                    out.append(tb.not_(self.cols[j]))
                elif c.lb[j] > 0:
                    out.append(self.cols[j])
                continue
            for op, v in ((">=", c.lb[j]), ("<=", c.ub[j])):
                if np.isfinite(v):
                    lit = tb.int_(int(v)) if self.integral[j] else tb.real(*float(v).as_integer_ratio())
                    out.append(tb.cmp(op, self.cols[j], lit))
        return out

    def rows(self) -> list[Any]:
        """Assertions of every constraint row and ReLU output."""
        c, out = self.c, []
        A = c.A
        for r in range(c.m):
            if r % 64 == 0:
                self._tick(f"building solver terms (row {r} of {c.m})")
            lo, hi = A.indptr[r], A.indptr[r + 1]
            out.append(
                self.row(A.indices[lo:hi].tolist(), A.data[lo:hi].tolist(), float(c.b[r]), _OPS[c.sense[r]])
            )
        for rl in c.relus:
            R = rl.R
            for i in range(rl.out.size):
                if i % 64 == 0:
                    self._tick(f"building solver terms (ReLU {i} of {rl.out.size})")
                lo, hi = R.indptr[i], R.indptr[i + 1]
                arg = self.real_sum(R.indices[lo:hi].tolist(), R.data[lo:hi].tolist(), float(rl.r[i]))
                y = self.cols[int(rl.out[i])]
                if rl.lo[i] >= 0:
                    out.append(self.tb.cmp("=", y, arg))
                elif rl.hi[i] <= 0:
                    out.append(self.tb.cmp("=", y, self._rzero))
                else:
                    pos = self.tb.cmp(">=", arg, self._rzero)
                    out.append(self.tb.cmp("=", y, self.tb.ite(pos, arg, self._rzero)))
        return out

    def _tick(self, what: str) -> None:
        if self.budget is not None:
            self.budget.check(what)

    def objective(self, spec: ObjectiveSpec | None) -> Any | None:
        """The minimised objective term (Int when the objective is integral)."""
        if spec is None:
            return None
        cols = spec.cols.tolist()
        if spec.integral:
            return self.int_sum(cols, list(spec.coefs))
        return self.real_sum(cols, list(spec.coefs))

    def bound(self, obj: Any, op: str, value: int | Fraction, integral: bool) -> Any:
        """``obj op value``."""
        if integral:
            return self.tb.cmp(op, obj, self.tb.int_(int(value)))
        q = Fraction(value)
        return self.tb.cmp(op, obj, self.tb.real(q.numerator, q.denominator))

    def decision_columns(self) -> np.ndarray:
        """Integer columns of declared variables (ReLU outputs are determined by them)."""
        cols = []
        for v in self.c.variables:
            if v.definition is None and v.domain.integral:
                o = self.c.offsets[v.name]
                cols.extend(range(o, o + v.size))
        return np.asarray(cols, dtype=np.int64)

    def block(self, x: np.ndarray, cols: np.ndarray) -> Any:
        """A clause excluding the values ``x`` takes on ``cols``."""
        tb, lits = self.tb, []
        for j in cols.tolist():
            v = round(x[j])
            if self.is_bool[j]:
                lits.append(tb.not_(self.cols[j]) if v else self.cols[j])
            else:
                lits.append(tb.not_(tb.cmp("=", self.cols[j], tb.int_(v))))
        return tb.or_(lits)

    def lower(self, spec: ObjectiveSpec | None) -> Lowered:
        """All terms at once."""
        return Lowered(
            self.cols,
            self.is_bool,
            self.integral,
            self.bounds() + self.rows(),
            self.objective(spec),
            self.decision_columns(),
        )
