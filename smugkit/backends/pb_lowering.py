"""Pseudo-Boolean lowering: Bools and PB rows, native where the solver has them (z3 ``PbGe``/``AtLeast``),
else linear integer rows ``sum ite(l, a, 0) >= k`` over the same Bools (cvc5, pySMT).

0/1 columns become Bools; each row, exactly scaled to integers (`pb_rows`), becomes ``sum a_j l_j >= k``
with positive coefficients over literals ``l_j`` (``x`` or ``not x``). With ``pb_bits=B`` the rows are
rounded *outward* to coefficients below ``2**B`` (``ceil(a/2^s)``, ``ceil(k/2^s)``): a relaxation, so its
UNSAT answers are valid bounds, and every model is re-checked on the exact rows; a violated exact row is
added for good and the check repeated (`PbSession`). Small coefficients are what PB engines like, and
z3's ``PbGe`` takes only C ``int`` coefficients: an exactly scaled row (up to ~57-bit integers from float
weights) that does not fit goes in as an exact linear integer row over the same Bools instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from smugkit.backends.lowering import Lowered
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.pb_rows import PbRow, pb_problem, pb_unsupported
from smugkit.backends.smt_common import Engine, SmtSession
from smugkit.dsl.problem import Compiled

# z3's PB constraints take C ints, and a row whose coefficients *sum* past 2**31 gave wrong optima (z3 4.x/5.4
# PB solver): such rows go in as exact linear integer rows, or, relaxed, are scaled down (`fit_machine_ints`)
PB_LIMIT = 2**31


def pb_encoding_unsupported(c: Compiled) -> str | None:
    """Why ``c`` has no pseudo-Boolean form over Bools (non-0/1 columns, reals, ReLUs), or None."""
    why = pb_unsupported(c)
    if why is None and not (np.all(c.lb >= 0) and np.all(c.ub <= 1)):
        why = "the pb encoding needs 0/1 variables (use encoding='lia' for wider integers)"
    return why


@dataclass
class GeRow:
    """``sum coefs * lits >= k`` with positive coefficients; ``neg[j]`` means the literal is ``not x_j``."""

    cols: list[int]
    coefs: list[int]
    neg: list[bool]
    k: int


def normalise(cols: list[int], coefs: list[int], k: int) -> GeRow:
    """``sum coefs*x >= k`` with every coefficient made positive (``a x = a - a (1-x)`` for ``a < 0``)."""
    neg = [a < 0 for a in coefs]
    k2 = k - sum(a for a in coefs if a < 0)
    return GeRow(cols, [abs(a) for a in coefs], neg, k2)


def ge_rows(row: PbRow) -> list[GeRow]:
    """The one or two ``>=`` rows of a scaled row."""
    out = []
    if row.lo is not None:
        out.append(normalise(row.cols, row.coefs, row.lo))
    if row.hi is not None:
        out.append(normalise(row.cols, [-a for a in row.coefs], -row.hi))
    return out


def over_columns(r: GeRow) -> tuple[list[int], int]:
    """``r`` over the columns themselves: signed coefficients and right-hand side (``a (1 - x) = a - a x``)."""
    coefs = [-a if neg else a for a, neg in zip(r.coefs, r.neg)]
    return coefs, r.k - sum(a for a, neg in zip(r.coefs, r.neg) if neg)


def round_outward(r: GeRow, bits: int | None) -> GeRow:
    """A relaxation of ``r`` with coefficients below ``2**bits`` (None: ``r`` itself)."""
    if bits is None or not r.coefs:
        return r
    top = max(r.coefs)
    if top < (1 << bits):
        return r
    shift = top.bit_length() - bits
    if -(-top // (1 << shift)) >= (1 << bits):  # ceil can reach 2**bits: one more bit off
        shift += 1
    d = 1 << shift
    return GeRow(r.cols, [-(-a // d) for a in r.coefs], r.neg, -(-r.k // d))


def fit_machine_ints(r: GeRow) -> GeRow:
    """A relaxation of ``r`` whose coefficient sum and bound stay below `PB_LIMIT` (C ints in z3's PB API).

    Rounding each coefficient alone is not enough: 784 coefficients of 30 bits sum past 2**31.
    """
    total = sum(r.coefs)
    if total < PB_LIMIT or r.k <= 0 or r.k > total:
        return r  # small enough, or a row that is always true / never true (decided by `term`)
    d = 1 << max(0, total.bit_length() - 30)
    return GeRow(r.cols, [-(-a // d) for a in r.coefs], r.neg, -(-r.k // d))


def holds(r: GeRow, x: np.ndarray) -> bool:
    """Exact check of ``r`` at 0/1 point ``x``."""
    v = np.rint(x[r.cols]).astype(np.int64)
    lits = np.where(r.neg, 1 - v, v)
    return sum(a * int(b) for a, b in zip(r.coefs, lits.tolist())) >= r.k


class PbLowerer:
    """Bools, PB rows and a PB objective bound over one builder (native ``pb_ge(lits, coefs, k)`` if it has it)."""

    def __init__(self, c: Compiled, tb: Any, bits: int | None = None) -> None:
        self.c, self.tb, self.bits = c, tb, bits
        names = [f"{v.name}.{i}" for v in c.variables for i in range(v.size)]
        self.cols = [tb.var(n, "Bool") for n in names]
        self._neg: dict[int, Any] = {}
        self.is_bool = np.ones(c.n, dtype=bool)
        self.integral = np.ones(c.n, dtype=bool)
        pb = pb_problem(c)
        self.infeasible = pb.trivially_infeasible
        self.exact = [g for row in pb.rows for g in ge_rows(row)]

    def lit(self, j: int, neg: bool) -> Any:
        """Column j's literal (negations built once)."""
        if not neg:
            return self.cols[j]
        t = self._neg.get(j)
        if t is None:
            t = self._neg[j] = self.tb.not_(self.cols[j])
        return t

    def term(self, r: GeRow) -> Any:
        """The solver term of one row: a PB constraint when it fits the solver's machine integers, else
        an exact linear integer row over the same Bools (``sum ite(l, a, 0) >= k``)."""
        tb = self.tb
        if r.k <= 0:
            return tb.not_(tb.or_([]))  # always true over 0/1 literals
        if not r.cols or r.k > sum(r.coefs):
            return tb.or_([])  # never true
        lits = [self.lit(j, n) for j, n in zip(r.cols, r.neg)]
        if hasattr(tb, "pb_ge") and sum(r.coefs) < PB_LIMIT and abs(r.k) < PB_LIMIT:
            return tb.pb_ge(lits, r.coefs, r.k)
        zero = tb.int_(0)
        parts = [tb.ite(lit, tb.int_(a), zero) for lit, a in zip(lits, r.coefs)]
        return tb.cmp(">=", parts[0] if len(parts) == 1 else tb.add(parts), tb.int_(r.k))

    def lower(self, spec: ObjectiveSpec | None) -> Lowered:
        c, out = self.c, []
        for j in range(c.n):
            if c.ub[j] < 1:
                out.append(self.tb.not_(self.cols[j]))
            elif c.lb[j] > 0:
                out.append(self.cols[j])
        if self.infeasible:
            out.append(self.tb.or_([]))
        rough = [round_outward(r, self.bits) for r in self.exact]
        out += [self.term(fit_machine_ints(r) if self.bits is not None else r) for r in rough]
        obj = None if spec is None else (spec.cols.tolist(), [int(a) for a in spec.coefs])
        decision = np.array(
            [
                j
                for v in c.variables
                if v.definition is None
                for j in range(c.offsets[v.name], c.offsets[v.name] + v.size)
            ],
            dtype=np.int64,
        )
        return Lowered(self.cols, self.is_bool, self.integral, out, obj, decision)

    def bound(self, obj: Any, op: str, value: int | Fraction, integral: bool) -> Any:
        """``objective <= value`` (or ``<``) as one PB row, exact (objectives are small integers)."""
        cols, coefs = obj
        v = int(value) - (1 if op == "<" else 0)
        return self.term(normalise(cols, [-a for a in coefs], -v))

    def block(self, x: np.ndarray, cols: np.ndarray) -> Any:
        """A clause excluding the values ``x`` takes on ``cols``."""
        lits = [self.lit(j, bool(round(x[j]))) for j in cols.tolist()]
        return self.tb.or_(lits)

    def violated(self, x: np.ndarray) -> list[GeRow]:
        """Exact rows the 0/1 point ``x`` violates (empty without rounding)."""
        return [] if self.bits is None else [r for r in self.exact if not holds(r, x)]


class PbSession(SmtSession):
    """An SMT session over PB rows; with rounded rows, a model violating an exact row adds it and retries."""

    def __init__(self, engine: Engine, lw: PbLowerer, lowered: Lowered, spec, bound_mode: str) -> None:
        super().__init__(engine, lw, lowered, spec, bound_mode)
        self.refinements = 0

    def check(self, bound, seconds: float) -> str:
        import time

        end = time.perf_counter() + seconds
        while True:
            ans = super().check(bound, max(0.0, end - time.perf_counter()))
            if ans != "sat":
                return ans
            bad = self.lw.violated(self._x)
            if not bad:
                return ans
            if end - time.perf_counter() <= 0:
                return "unknown"
            self.refinements += len(bad)
            for r in bad:  # the exact row replaces nothing: the relaxed one stays (it is implied)
                t = self.lw.term(r)
                self.permanent.append(t)
                if self.bound_mode != "fresh":
                    self.engine.add(t)
            if end - time.perf_counter() <= 0:
                return "unknown"
