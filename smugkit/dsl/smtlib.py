"""SMT-LIB 2.6 printing of a Problem (QF_LRA / QF_LIA / QF_LIRA), with the optional z3/OptiMathSAT
``(minimize ...)`` extension.

Rows over integer variables only are scaled by their (power of two) common denominator, so an all-integer
problem prints as pure QF_LIA with exact integer coefficients; other rows use exact ``(/ n d)`` literals.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smugkit.dsl.domains import Domain
from smugkit.dsl.problem import Compiled, Problem
from smugkit.dsl.rational import integer_row, ratio

_OPS = ("<=", "<", "=")


def int_lit(n: int) -> str:
    """An SMT-LIB Int literal."""
    return str(n) if n >= 0 else f"(- {-n})"


def real_lit(value: float | tuple[int, int]) -> str:
    """An exact SMT-LIB Real literal of a float (or a numerator/denominator pair)."""
    n, d = ratio(value) if not isinstance(value, tuple) else value
    body = f"{abs(n)}.0" if d == 1 else f"(/ {abs(n)} {d})"
    return body if n >= 0 else f"(- {body})"


class SmtWriter:
    """Builds SMT-LIB text for one compiled problem; reused by the smtlib backend for search queries."""

    def __init__(self, c: Compiled, binary_as: str = "int") -> None:
        self.c = c
        self.names = [f"{v.name}.{i}" for v in c.variables for i in range(v.size)]
        self.is_bool = np.array(
            [d is Domain.BOOL or (d is Domain.BINARY and binary_as == "bool") for d in c.domain], dtype=bool
        )
        self.integral = c.integral
        has_int = bool(self.integral.any())
        has_real = bool((~self.integral).any()) or bool(c.relus)
        self.logic = "QF_LIRA" if has_int and has_real else ("QF_LIA" if has_int else "QF_LRA")

    # ----- atoms --------------------------------------------------------------------------
    def _int_atom(self, j: int) -> str:
        return f"(ite {self.names[j]} 1 0)" if self.is_bool[j] else self.names[j]

    def _real_atom(self, j: int) -> str:
        if self.is_bool[j]:
            return f"(ite {self.names[j]} 1.0 0.0)"
        return f"(to_real {self.names[j]})" if self.integral[j] else self.names[j]

    def linear(self, cols: Any, coefs: Any, const: float = 0.0) -> tuple[str, bool]:
        """An SMT-LIB sum ``sum coefs*x[cols] + const`` and whether it is Int-sorted (unscaled)."""
        cols = [int(j) for j in cols]
        parts = []
        for j, a in zip(cols, coefs):
            parts.append(f"(* {real_lit(float(a))} {self._real_atom(j)})")
        if const != 0.0:
            parts.append(real_lit(float(const)))
        return _sum(parts, "0.0"), False

    def row(self, cols: Any, coefs: Any, rhs: float, op: str) -> str:
        """``sum coefs*x[cols] op rhs``; integer-only rows are scaled to integer coefficients."""
        cols = [int(j) for j in cols]
        if all(self.integral[j] for j in cols):
            ints, r, _ = integer_row(coefs, rhs)
            parts = [
                self._int_atom(j) if a == 1 else f"(* {int_lit(a)} {self._int_atom(j)})"
                for j, a in zip(cols, ints)
            ]
            return f"({op} {_sum(parts, '0')} {int_lit(r)})"
        lhs, _ = self.linear(cols, coefs)
        return f"({op} {lhs} {real_lit(float(rhs))})"

    # ----- blocks -------------------------------------------------------------------------
    def declarations(self) -> list[str]:
        """One declare-fun per scalar, plus bound assertions."""
        out = []
        for j, name in enumerate(self.names):
            sort = "Bool" if self.is_bool[j] else ("Int" if self.integral[j] else "Real")
            out.append(f"(declare-fun {name} () {sort})")
        for j, name in enumerate(self.names):
            if self.is_bool[j]:
                if self.c.ub[j] < 1:
                    out.append(f"(assert (not {name}))")
                elif self.c.lb[j] > 0:
                    out.append(f"(assert {name})")
                continue
            lo, hi = self.c.lb[j], self.c.ub[j]
            lit = (lambda v: int_lit(int(v))) if self.integral[j] else real_lit
            if np.isfinite(lo) and np.isfinite(hi):
                out.append(f"(assert (<= {lit(lo)} {name} {lit(hi)}))")
            elif np.isfinite(lo):
                out.append(f"(assert (<= {lit(lo)} {name}))")
            elif np.isfinite(hi):
                out.append(f"(assert (<= {name} {lit(hi)}))")
        return out

    def constraints(self) -> list[str]:
        """One assertion per row and per ReLU output."""
        c, out = self.c, []
        A = c.A
        for r in range(c.m):
            lo, hi = A.indptr[r], A.indptr[r + 1]
            out.append(f"(assert {self.row(A.indices[lo:hi], A.data[lo:hi], c.b[r], _OPS[c.sense[r]])})")
        for rl in c.relus:
            R = rl.R
            for i in range(rl.out.size):
                lo, hi = R.indptr[i], R.indptr[i + 1]
                arg, _ = self.linear(R.indices[lo:hi], R.data[lo:hi], rl.r[i])
                y = self.names[int(rl.out[i])]
                if rl.lo[i] >= 0:
                    out.append(f"(assert (= {y} {arg}))")
                elif rl.hi[i] <= 0:
                    out.append(f"(assert (= {y} 0.0))")
                else:
                    out.append(f"(assert (= {y} (ite (>= {arg} 0.0) {arg} 0.0)))")
        return out

    def int_sum(self, cols: Any, ints: Any) -> str:
        """``sum ints*x[cols]`` as an Int term."""
        parts = [
            self._int_atom(int(j)) if a == 1 else f"(* {int_lit(int(a))} {self._int_atom(int(j))})"
            for j, a in zip(cols, ints)
        ]
        return _sum(parts, "0")

    def objective(self) -> tuple[str, int] | None:
        """The objective term without its constant, integer-scaled when possible, and the scale."""
        c = self.c
        if c.obj is None:
            return None
        nz = np.flatnonzero(c.obj)
        if all(self.integral[j] for j in nz):
            ints, _, scale = integer_row(c.obj[nz], 0.0)
            parts = [
                self._int_atom(int(j)) if a == 1 else f"(* {int_lit(a)} {self._int_atom(int(j))})"
                for j, a in zip(nz, ints)
            ]
            return _sum(parts, "0"), scale
        return self.linear(nz, c.obj[nz])[0], 1

    def model_query(self) -> str:
        """A get-value command for every scalar."""
        return f"(get-value ({' '.join(self.names)}))"

    def script(self, optimize: bool = False, get_model: bool = True, extra: list[str] | None = None) -> str:
        """The whole script: logic, declarations, assertions, optional objective, check-sat."""
        lines = [
            f"; problem with {len(self.names)} scalars and {self.c.m} rows",
            "(set-option :produce-models true)",
            f"(set-logic {self.logic})",
        ]
        lines += self.declarations() + self.constraints() + (extra or [])
        obj = self.objective()
        if optimize and obj is not None:
            lines.append(f"({'minimize' if self.c.obj_sense == 'min' else 'maximize'} {obj[0]})")
        lines.append("(check-sat)")
        if get_model:
            lines.append(self.model_query())
        return "\n".join(lines) + "\n"


def _sum(parts: list[str], zero: str) -> str:
    """SMT-LIB n-ary sum of terms (0 for none, the term itself for one)."""
    if not parts:
        return zero
    return parts[0] if len(parts) == 1 else f"(+ {' '.join(parts)})"


def to_smtlib(
    problem: Problem,
    optimize: bool = False,
    get_model: bool = False,
    logic: str | None = None,
    binary_as: str = "int",
) -> str:
    """SMT-LIB 2.6 script of ``problem``; ``optimize`` adds the z3/OptiMathSAT (minimize ...) extension."""
    w = SmtWriter(problem.compile(), binary_as=binary_as)
    if logic is not None:
        w.logic = logic
    return w.script(optimize=optimize, get_model=get_model)
