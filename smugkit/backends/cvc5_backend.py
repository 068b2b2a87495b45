"""cvc5 through its native base Python API (TermManager/Solver): exact rationals, search only (cvc5 has no
optimisation API); on 0/1 problems the default is core-guided search over pb rows (`cores`). Each check runs in a forked child killed at the deadline (cvc5's own time limits did
not stop hard checks here). Solvers share one TermManager, so a fresh solver per check reuses the terms."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from smugkit.backends.base import Capabilities
from smugkit.backends.smt_common import Engine, SmtBackend
from smugkit.dsl.problem import Compiled


def _cvc5():
    """Import cvc5 lazily."""
    import cvc5

    return cvc5


class Cvc5Builder:
    """TermBuilder over cvc5 terms of one TermManager."""

    def __init__(self, cvc5: Any, tm: Any) -> None:
        self.tm, self.K = tm, cvc5.Kind
        self.sorts = {"Bool": tm.getBooleanSort(), "Int": tm.getIntegerSort(), "Real": tm.getRealSort()}
        self.ops = {"<=": self.K.LEQ, "<": self.K.LT, ">=": self.K.GEQ, "=": self.K.EQUAL}

    def var(self, name: str, sort: str) -> Any:
        return self.tm.mkConst(self.sorts[sort], name)

    def int_(self, n: int) -> Any:
        return self.tm.mkInteger(str(n))

    def real(self, n: int, d: int) -> Any:
        return self.tm.mkReal(f"{n}/{d}")

    def add(self, terms: list[Any]) -> Any:
        return self.tm.mkTerm(self.K.ADD, *terms)

    def mul(self, coef: Any, x: Any) -> Any:
        return self.tm.mkTerm(self.K.MULT, coef, x)

    def cmp(self, op: str, a: Any, b: Any) -> Any:
        return self.tm.mkTerm(self.ops[op], a, b)

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        return self.tm.mkTerm(self.K.ITE, c, a, b)

    def to_real(self, x: Any) -> Any:
        return self.tm.mkTerm(self.K.TO_REAL, x)

    def or_(self, terms: list[Any]) -> Any:
        if not terms:
            return self.tm.mkFalse()
        return terms[0] if len(terms) == 1 else self.tm.mkTerm(self.K.OR, *terms)

    def not_(self, x: Any) -> Any:
        return self.tm.mkTerm(self.K.NOT, x)


class Cvc5Engine(Engine):
    """A cvc5 Solver; ``reset`` makes a new one over the same TermManager."""

    formula_assumptions = True  # checkSatAssuming takes any Boolean term

    def __init__(self, seed: int, pb_options: bool = False, cores: bool = False, logic: str = "ALL") -> None:
        self.pb_options, self.cores, self.logic = pb_options, cores, logic
        self.cvc5 = _cvc5()
        self.tm = self.cvc5.TermManager()
        self.seed = int(seed)
        self.builder = Cvc5Builder(self.cvc5, self.tm)
        self.message = ""
        self.reset()

    def reset(self) -> None:
        s = self.cvc5.Solver(self.tm)
        s.setOption("produce-models", "true")
        s.setOption("incremental", "true")
        s.setOption("seed", str(self.seed))
        if self.cores:  # core-guided search reads which assumptions an UNSAT answer used
            s.setOption("produce-unsat-assumptions", "true")
        elif self.pb_options:  # rewrites for 0/1 sums, MIPLIB-style preprocessing (not with unsat cores)
            s.setOption("pb-rewrites", "true")
            s.setOption("miplib-trick", "true")
        s.setLogic(self.logic)
        self.solver = s

    def add(self, term: Any) -> None:
        self.solver.assertFormula(term)

    def push(self) -> None:
        self.solver.push()

    def pop(self) -> None:
        self.solver.pop()

    def _check_here(self, assumptions: list[Any]) -> tuple[str, Any]:
        """The check itself (run in the forked child): answer and model values or explanation."""
        r = self.solver.checkSatAssuming(*assumptions) if assumptions else self.solver.checkSat()
        if r.isSat():
            return "sat", self._read(*self.columns) if self.columns else []
        if r.isUnsat():
            return "unsat", None
        return "unknown", str(r.getUnknownExplanation())

    def check_core(self, assumptions: list[Any]) -> tuple[str, Any]:
        r = self.solver.checkSatAssuming(*assumptions)
        if r.isSat():
            return "sat", self._read(*self.columns)
        if r.isUnsat():
            where = {t: i for i, t in enumerate(assumptions)}
            return "unsat", sorted(where[t] for t in self.solver.getUnsatAssumptions())
        return "unknown", str(r.getUnknownExplanation())

    def check(self, assumptions: list[Any], seconds: float) -> str:
        return self.check_forked(lambda: self._check_here(assumptions), seconds + 0.05, "cvc5")

    def values(self, cols: list[Any], kinds: np.ndarray) -> list[int | Fraction | bool]:
        return self._values

    def _read(self, cols: list[Any], kinds: np.ndarray) -> list[int | Fraction | bool]:
        vals = self.solver.getValue(cols) if cols else []
        out: list[int | Fraction | bool] = []
        for v, k in zip(vals, kinds.tolist()):
            if k == 0:
                out.append(v.getBooleanValue())
            elif k == 1:
                out.append(int(v.getIntegerValue()))
            else:
                out.append(Fraction(v.getRealValue()))
        return out

    def fresh_bool(self, name: str) -> Any:
        return self.tm.mkConst(self.tm.getBooleanSort(), name)


class Cvc5Backend(SmtBackend):
    """cvc5 (native base API)."""

    name = "cvc5"
    package = "cvc5"
    capabilities = Capabilities(
        native_optimization=False,
        incremental=True,
        exact_arithmetic=True,
        strategies=("binary", "linear-up", "linear-down", "core"),
    )
    default_strategy = "binary"
    default_bound_mode = "push"
    default_encoding, core_default = "auto", True  # 0/1 problems: pb rows, core-guided (`cores`)
    engine_options: ClassVar[dict[str, tuple[Any, ...]]] = {"pb_options": (False, True)}

    def version(self) -> str:
        try:
            cvc5 = _cvc5()
        except ImportError as exc:
            raise self.unavailable_error(str(exc)) from None
        v = cvc5.Solver(cvc5.TermManager()).getVersion()
        return v.decode() if isinstance(v, bytes) else str(v)

    def make_engine(self, c: Compiled, seed: int, options: dict[str, Any]) -> Engine:
        self.version()
        # a declared logic matters: core-guided search on the demo took 44 s under ALL, 4.5 s under QF_LIA
        logic = "QF_LIA" if c.integral.all() and not c.relus else "ALL"
        return Cvc5Engine(
            seed, bool(options.get("pb_options", False)), bool(options.get("cores", False)), logic
        )
