"""z3 through its native Python API: exact rationals, push/pop or assumption search, optional Optimize.

Defaults (from benchmarks/backends.py on SMUG-shaped 0/1 problems): 0/1 Int mask bits (Bool+ite was
slower), binary search on ``sum(m) <= K`` with a *fresh* solver per check over the same terms: z3 answers
a first check with its non-incremental tactic pipeline, while after push/pop or with assumptions it falls
back to its incremental core, measured 10-100x slower here. Push/pop is not offered: z3's ``push()``
internalises every pending assertion outside ``check()``, cannot be interrupted, and ran for minutes on a
64-bit dense SMUG instance, which would break the wall-clock budget. ``strategy="native"`` keeps Optimize.

The budget: z3's per-check timeout and ``Context.interrupt`` from a timer thread are not always honoured
(a 784-bit check ran 7 s past a 20 s budget), so by default (``isolate=True``) each check runs in a forked
child that is killed at the deadline; with fresh solvers nothing learnt is lost, and a fork costs ~10 ms.
``isolate=False`` checks in-process (the only way without ``os.fork``).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from smugkit.backends.base import Budget, Capabilities, watchdog
from smugkit.backends.budget import BudgetExpired
from smugkit.backends.lowering import Lowerer
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.search import SearchResult
from smugkit.backends.smt_common import Engine, SmtBackend
from smugkit.dsl.problem import Compiled, Problem


def _z3():
    """Import z3 lazily."""
    import z3

    return z3


class Z3Builder:
    """TermBuilder over z3 expressions in one context."""

    def __init__(self, z3: Any, ctx: Any) -> None:
        self.z3, self.ctx = z3, ctx

    def var(self, name: str, sort: str) -> Any:
        z3 = self.z3
        return {"Bool": z3.Bool, "Int": z3.Int, "Real": z3.Real}[sort](name, self.ctx)

    def int_(self, n: int) -> Any:
        return self.z3.IntVal(n, self.ctx)

    def real(self, n: int, d: int) -> Any:
        return self.z3.RealVal(f"{n}/{d}" if d != 1 else str(n), self.ctx)

    def add(self, terms: list[Any]) -> Any:
        return self.z3.Sum(terms)

    def mul(self, coef: Any, x: Any) -> Any:
        return coef * x

    def cmp(self, op: str, a: Any, b: Any) -> Any:
        if op == "<=":
            return a <= b
        if op == "<":
            return a < b
        if op == ">=":
            return a >= b
        return a == b

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        return self.z3.If(c, a, b)

    def to_real(self, x: Any) -> Any:
        return self.z3.ToReal(x)

    def or_(self, terms: list[Any]) -> Any:
        return self.z3.Or(terms) if terms else self.z3.BoolVal(False, self.ctx)

    def not_(self, x: Any) -> Any:
        return self.z3.Not(x)

    def true_(self) -> Any:
        return self.z3.BoolVal(True, self.ctx)

    def pb_ge(self, lits: list[Any], coefs: list[int], k: int) -> Any:
        """``sum coefs*lits >= k`` as a native PB constraint (cardinality when every coefficient is 1).

        Built through the C API directly: z3's ``PbGe`` wrapper coerces every literal in Python, which
        took seconds for the 784-literal rows of a dense first layer.
        """
        import ctypes

        z3, n = self.z3, len(lits)
        args = (z3.Ast * n)(*[lit.as_ast() for lit in lits])
        if all(a == 1 for a in coefs):
            return z3.BoolRef(z3.Z3_mk_atleast(self.ctx.ref(), n, args, int(k)), self.ctx)
        cs = (ctypes.c_int * n)(*coefs)
        return z3.BoolRef(z3.Z3_mk_pbge(self.ctx.ref(), n, args, cs, int(k)), self.ctx)


def _value(z3: Any, v: Any, kind: int) -> int | Fraction | bool:
    """A model value as a Python int, Fraction or bool."""
    if kind == 0:
        return z3.is_true(v)
    if kind == 1:
        return v.as_long()
    if z3.is_algebraic_value(v):
        return Fraction(v.approx(20).as_fraction())
    return v.as_fraction()


class Z3Engine(Engine):
    """A z3 Solver in its own Context."""

    def __init__(self, seed: int, isolate: bool = True) -> None:
        z3 = self.z3 = _z3()
        self.ctx = z3.Context()
        self.seed = int(seed)
        self.isolate = isolate
        self.builder = Z3Builder(z3, self.ctx)
        self.message = ""
        self.reset()

    def reset(self) -> None:
        self.solver = self.z3.Solver(ctx=self.ctx)
        self.solver.set("random_seed", self.seed)

    def assert_many(self, terms: list[Any]) -> None:
        self.solver.add(terms)

    def add(self, term: Any) -> None:
        self.solver.add(term)

    def push(self) -> None:
        self.solver.push()

    def pop(self) -> None:
        self.solver.pop()

    def check(self, assumptions: list[Any], seconds: float) -> str:
        self.solver.set("timeout", max(1, int(seconds * 1000)))
        if self.isolate:  # a forked child killed at the deadline: z3 does not always honour an interrupt
            return self.check_forked(lambda: self._check_here(assumptions), seconds + 0.05, "z3")
        self._values = None
        try:
            with watchdog(seconds + 0.05, self.ctx.interrupt):
                r = self.solver.check(*assumptions)
        except Exception as exc:  # noqa: BLE001 - a solver-side failure becomes 'unknown'
            self.message = f"z3 failed: {exc}"
            return "unknown"
        if r == self.z3.sat:
            return "sat"
        if r == self.z3.unsat:
            return "unsat"
        self.message = f"z3: unknown ({self.solver.reason_unknown()})"
        return "unknown"

    def check_core(self, assumptions: list[Any]) -> tuple[str, Any]:
        r = self.solver.check(*assumptions)
        if r == self.z3.sat:
            self._values = None
            return "sat", self.values(*self.columns)
        if r == self.z3.unsat:
            where = {a.get_id(): i for i, a in enumerate(assumptions)}
            return "unsat", sorted(where[t.get_id()] for t in self.solver.unsat_core())
        return "unknown", self.solver.reason_unknown()

    def _check_here(self, assumptions: list[Any]) -> tuple[str, Any]:
        """The check itself (in the forked child): answer and model values or the reason."""
        r = self.solver.check(*assumptions)
        if r == self.z3.sat:
            return "sat", self.values(*self.columns) if self.columns else []
        if r == self.z3.unsat:
            return "unsat", None
        return "unknown", self.solver.reason_unknown()

    def values(self, cols: list[Any], kinds: np.ndarray) -> list[int | Fraction | bool]:
        if self._values is not None:
            return self._values
        m = self.solver.model()
        return [_value(self.z3, m.eval(v, model_completion=True), int(k)) for v, k in zip(cols, kinds)]

    def fresh_bool(self, name: str) -> Any:
        return self.z3.Bool(name, self.ctx)


class Z3Backend(SmtBackend):
    """z3 (native Python API)."""

    name = "z3"
    package = "z3-solver"
    capabilities = Capabilities(
        native_optimization=True,
        incremental=True,
        exact_arithmetic=True,
        strategies=("binary", "linear-up", "linear-down", "native", "core"),
    )
    default_strategy = "binary"
    default_bound_mode = "fresh"
    bound_modes = ("fresh", "assume")  # z3's push() cannot be interrupted: see the module docstring
    engine_options: ClassVar[dict[str, tuple[Any, ...]]] = {"isolate": (True, False)}  # forked checks
    default_encoding = "auto"  # pb rows + MaxSAT for 0/1 problems (see benchmarks/exact_solvers.py)

    def pick_strategy(
        self,
        spec: ObjectiveSpec | None,
        strategy: str | None,
        c: Compiled | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """Over pb rows z3 minimises natively (MaxSAT over soft literals); over linear arithmetic it bisects."""
        if strategy is None and spec is not None and c is not None and self.encoding(options, c) == "pb":
            return "native"
        return super().pick_strategy(spec, strategy, c, options)

    def version(self) -> str:
        try:
            return _z3().get_version_string()
        except ImportError as exc:
            raise self.unavailable_error(str(exc)) from None

    def make_engine(self, c: Compiled, seed: int, options: dict[str, Any]) -> Engine:
        self.version()
        return Z3Engine(seed, options.get("isolate", True))

    def native(
        self,
        problem: Problem,
        c: Compiled,
        spec: ObjectiveSpec,
        budget: Budget,
        seed: int,
        options: dict[str, Any],
    ) -> tuple[SearchResult, int, float]:
        """``z3.Optimize`` with the minimised objective; interrupted at the deadline."""
        if self.encoding(options, c) == "pb":
            return self._native_pb(c, spec, budget, seed, options)
        z3 = _z3()
        t0 = time.perf_counter()
        ctx = z3.Context()
        opt = z3.Optimize(ctx=ctx)
        opt.set("random_seed", int(seed))
        lw = Lowerer(c, Z3Builder(z3, ctx), options.get("binary_as", "int"), budget=budget)
        try:
            lowered = lw.lower(spec)
        except BudgetExpired as e:
            return SearchResult("unknown", None, None, None, f"{e}."), 0, time.perf_counter() - t0
        opt.add(lowered.assertions)
        handle = opt.minimize(lowered.objective)
        build = time.perf_counter() - t0
        seconds = budget.remaining()
        opt.set("timeout", max(1, int(seconds * 1000)))
        try:
            with watchdog(seconds + 0.05, ctx.interrupt):
                r = opt.check()
        except Exception as exc:  # noqa: BLE001
            return SearchResult("unknown", None, None, None, f"z3 Optimize failed: {exc}"), 1, build
        lower = handle.lower()
        low = None
        if z3.is_int_value(lower) or z3.is_rational_value(lower):
            low = lower.as_long() if spec.integral else Fraction(lower.as_fraction())
        if r == z3.unsat:
            return SearchResult("infeasible", None, None, None), 1, build
        if r != z3.sat:
            msg = f"z3 Optimize: unknown ({opt.reason_unknown()})"
            m = None
            try:
                m = opt.model()
            except Exception:  # noqa: BLE001, S110
                pass
            if m is None or len(m) == 0:
                return SearchResult("unknown", None, None, low, msg), 1, build
        else:
            m, msg = opt.model(), ""
        kinds = np.where(lowered.is_bool, 0, np.where(lowered.integral, 1, 2))
        vals = [_value(z3, m.eval(v, model_completion=True), int(k)) for v, k in zip(lowered.cols, kinds)]
        x = np.array([float(int(v)) if isinstance(v, bool) else float(v) for v in vals])
        value = (
            spec.value(x)
            if spec.integral
            else sum(
                (Fraction(a) * Fraction(vals[j]) for a, j in zip(spec.coefs, spec.cols.tolist())), Fraction(0)
            )
        )
        status = "optimal" if r == z3.sat else "feasible"
        return SearchResult(status, x, value, value if status == "optimal" else low, msg), 1, build

    def _native_pb(
        self, c: Compiled, spec: ObjectiveSpec, budget: Budget, seed: int, options: dict[str, Any]
    ) -> tuple[SearchResult, int, float]:
        """``z3.Optimize`` over PB rows with the objective as weighted soft literals (z3's MaxSAT engine).

        With rounded rows, an optimum that violates an exact row adds that row and re-optimises; the final
        optimum satisfies every exact row, and the relaxation's optimum bounds the exact one, so it is exact.
        Each optimisation runs in a forked child killed at the deadline (``isolate=True``).
        """
        from smugkit.backends.forked import forked_call
        from smugkit.backends.pb_lowering import PbLowerer

        z3 = _z3()
        t0 = time.perf_counter()
        ctx = z3.Context()
        lw = PbLowerer(c, Z3Builder(z3, ctx), options.get("pb_bits", self.default_pb_bits))
        lowered = lw.lower(spec)
        rows = list(lowered.assertions)
        soft = []
        for a, j in zip(spec.coefs, spec.cols.tolist()):
            if a:
                soft.append((z3.Not(lw.cols[j]) if a > 0 else lw.cols[j], abs(int(a))))
        build = time.perf_counter() - t0
        calls, refined, msg = 0, 0, ""
        best: np.ndarray | None = None

        def optimise(seconds: float) -> tuple[str, Any]:
            opt = z3.Optimize(ctx=ctx)
            opt.set("random_seed", int(seed))
            opt.set("timeout", max(1, int(seconds * 1000)))
            opt.add(rows)
            for lit, w in soft:
                opt.add_soft(lit, w)
            r = opt.check()
            if r == z3.unsat:
                return "unsat", None
            try:
                m = opt.model()
            except z3.Z3Exception:
                m = None
            vals = [z3.is_true(m.eval(b, model_completion=True)) for b in lw.cols] if m is not None else None
            return ("sat" if r == z3.sat else "unknown"), vals

        while not budget.expired():
            seconds = budget.remaining()
            if options.get("isolate", True):
                state, out = forked_call(lambda s=seconds: optimise(s), seconds + 0.05)
            else:
                state, out = "ok", optimise(seconds)
            calls += 1
            if state != "ok":
                msg = "z3 Optimize: stopped at the deadline" if state == "timeout" else f"z3 failed: {out}"
                break
            ans, vals = out
            if ans == "unsat":
                return SearchResult("infeasible", None, None, None), calls, build
            if vals is None:
                msg = "z3 Optimize: unknown"
                break
            x = np.array(vals, dtype=np.float64)
            bad = lw.violated(x)
            if not bad:
                if ans == "sat":
                    v = spec.value(x)
                    note = f"{refined} exact rows added" if refined else ""
                    return SearchResult("optimal", x, v, v, note), calls, build
                best, msg = x, "z3 Optimize: unknown (best model so far)"
                break
            if budget.expired() or ans != "sat":  # no time left to refine, or an unfinished search
                msg = msg or "z3 Optimize: stopped at the deadline"
                break
            refined += len(bad)
            rows += [lw.term(r) for r in bad]
        if best is not None:
            return SearchResult("feasible", best, spec.value(best), None, msg), calls, build
        return SearchResult("unknown", None, None, None, msg), calls, build


class Z3PbBackend(Z3Backend):
    """z3 over pseudo-Boolean rows (``encoding="pb"``): Bools, ``PbGe``/``AtLeast``, rows rounded outward."""

    name = "z3/pb"
    default_encoding = "pb"
    default_strategy = "native"
