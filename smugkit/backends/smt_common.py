"""The part shared by the SMT API backends (z3, cvc5, pysmt): an engine adapter, a search session over it,
and the solve loop (lowering, incumbent, strategy, enumeration, Solution)."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from smugkit.backends.base import Backend, Budget, SolveContext
from smugkit.backends.budget import BudgetExpired
from smugkit.backends.forked import forked_call
from smugkit.backends.lowering import Lowered, Lowerer, TermBuilder
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.results import join_messages, keep_incumbent
from smugkit.backends.search import STRATEGIES, SearchResult, Session, minimize, next_best
from smugkit.dsl.problem import Compiled, Problem


class Engine:
    """Adapter over one solver instance: assert, push/pop, check with a time limit, read values."""

    builder: TermBuilder
    message: str = ""
    columns: tuple[list[Any], np.ndarray] | None = None  # (column terms, kinds), set by the session
    _values: list[int | Fraction | bool] | None = None  # model values sent back by a forked check

    def check_forked(self, check_here: Callable[[], tuple[str, Any]], seconds: float, solver: str) -> str:
        """Run ``check_here() -> (answer, payload)`` in a forked child killed after ``seconds``.

        A 'sat' payload is the model values (kept for ``values``); an 'unknown' payload is the reason.
        """
        self._values = None
        state, out = forked_call(check_here, seconds)
        if state != "ok":
            self.message = (
                f"{solver}: stopped at the deadline" if state == "timeout" else f"{solver} failed: {out}"
            )
            return "unknown"
        ans, payload = out
        if ans == "sat":
            self._values = payload
        elif ans == "unknown":
            self.message = f"{solver}: unknown ({payload})"
        return ans

    @abstractmethod
    def add(self, term: Any) -> None:
        """Add a permanent assertion at the current level."""

    @abstractmethod
    def push(self) -> None:
        """Open a backtracking level."""

    @abstractmethod
    def pop(self) -> None:
        """Close the last backtracking level."""

    @abstractmethod
    def check(self, assumptions: list[Any], seconds: float) -> str:
        """'sat' / 'unsat' / 'unknown' within ``seconds``; must never raise for solver-side failures."""

    @abstractmethod
    def values(self, cols: list[Any], kinds: np.ndarray) -> list[int | Fraction | bool]:
        """Model values of ``cols`` after SAT; ``kinds`` is 0 Bool, 1 Int, 2 Real per column."""

    @abstractmethod
    def fresh_bool(self, name: str) -> Any:
        """A new Bool constant (used as an assumption literal)."""

    @abstractmethod
    def reset(self) -> None:
        """Replace the solver by a fresh, empty one over the same terms (non-incremental checks)."""

    def check_core(self, assumptions: list[Any]) -> tuple[str, Any]:
        """An in-process check under ``assumptions`` with no time limit (the caller runs it in a killed
        child): ``("sat", values of columns)``, ``("unsat", indices of a core of assumptions)`` or
        ``("unknown", reason)``. Engines made with ``cores=True`` support it."""
        raise NotImplementedError(f"{type(self).__name__} gives no assumption cores")

    def assert_many(self, terms: list[Any]) -> None:
        """Add many assertions."""
        for t in terms:
            self.add(t)


class SmtSession(Session):
    """Search session over an Engine: bounds by push/pop or by assumption literals."""

    def __init__(
        self, engine: Engine, lw: Lowerer, lowered: Lowered, spec: ObjectiveSpec | None, bound_mode: str
    ) -> None:
        self.engine, self.lw, self.lowered, self.spec = engine, lw, lowered, spec
        self.bound_mode = bound_mode
        self.calls = 0
        self.kinds = np.where(lowered.is_bool, 0, np.where(lowered.integral, 1, 2))
        engine.columns = (lowered.cols, self.kinds)
        self._x: np.ndarray | None = None
        self._exact: list[Any] = []
        self._lits = 0
        self.permanent = list(lowered.assertions)

    def _capture(self) -> None:
        vals = self.engine.values(self.lowered.cols, self.kinds)
        self._exact = vals
        self._x = np.array([float(int(v)) if isinstance(v, bool) else float(v) for v in vals])

    def check(self, bound: tuple[str, int | Fraction] | None, seconds: float) -> str:
        """One solver call under an optional objective bound, answered within ``seconds`` of this call
        (term building, push and reset count against them: cvc5 preprocesses at push)."""
        self.calls += 1
        eng = self.engine
        deadline = time.perf_counter() + seconds

        def left() -> float:
            return max(0.0, deadline - time.perf_counter())

        if self.bound_mode == "fresh":
            eng.reset()
            eng.assert_many(self.permanent)
            if bound is not None:
                eng.add(self.lw.bound(self.lowered.objective, bound[0], bound[1], self.spec.integral))
            ans = eng.check([], left())
        elif bound is None:
            ans = eng.check([], left())
        else:
            term = self.lw.bound(self.lowered.objective, bound[0], bound[1], self.spec.integral)
            if self.bound_mode == "assume":
                self._lits += 1
                lit = eng.fresh_bool(f"smug.k{self._lits}")
                eng.add(self.lw.tb.or_([self.lw.tb.not_(lit), term]))
                ans = eng.check([lit], left())
            else:
                eng.push()
                eng.add(term)
                ans = eng.check([], left())
                if ans == "sat":
                    self._capture()
                eng.pop()
                return ans
        if ans == "sat":
            self._capture()
        return ans

    def model(self) -> np.ndarray:
        """Column values of the last SAT answer."""
        return self._x.copy()

    def objective_value(self) -> int | Fraction:
        """Exact minimised objective of the last SAT answer."""
        spec = self.spec
        if spec.integral:
            return spec.value(self._x)
        return sum(
            (Fraction(a) * Fraction(self._exact[j]) for a, j in zip(spec.coefs, spec.cols.tolist())),
            Fraction(0),
        )

    def block(self, x: np.ndarray) -> None:
        """Exclude the integer part of ``x`` for good."""
        clause = self.lw.block(x, self.lowered.decision)
        self.permanent.append(clause)
        if self.bound_mode != "fresh":
            self.engine.add(clause)


class SmtBackend(Backend):
    """An SMT backend: subclasses supply the engine (and optionally a native optimiser)."""

    bound_modes = ("fresh", "push", "assume")
    default_bound_mode = "push"
    engine_options: ClassVar[
        dict[str, tuple[Any, ...]]
    ] = {}  # backend-specific option names and their values

    @abstractmethod
    def make_engine(self, c: Compiled, seed: int, options: dict[str, Any]) -> Engine:
        """A fresh solver instance for one solve."""

    def native(
        self,
        problem: Problem,
        c: Compiled,
        spec: ObjectiveSpec | None,
        budget: Budget,
        seed: int,
        options: dict[str, Any],
    ) -> tuple[SearchResult, int, float]:
        """Native optimisation (result, solver calls, build seconds); backends that declare it override this."""
        raise NotImplementedError

    # "pb": Bools and (rounded, refined) pseudo-Boolean rows; "auto": pb for pure 0/1 problems, else lia
    encodings: tuple[str, ...] = ("lia", "pb", "auto")
    default_encoding = "lia"
    default_pb_bits: int | None = 30  # pb rows rounded outward to this many bits (re-checked exactly)
    core_default = False  # the default strategy over pb rows is core-guided search (`cores`)

    def pick_strategy(
        self,
        spec: ObjectiveSpec | None,
        strategy: str | None,
        c: Compiled | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """Core-guided search over pb rows where it is the backend's default, else the base choice."""
        core = self.core_default and spec is not None and spec.integral and c is not None
        if strategy is None and core and self.encoding(options, c) == "pb":
            return "core"
        return super().pick_strategy(spec, strategy, c, options)

    def encoding(self, options: dict[str, Any] | None, c: Compiled) -> str:
        """The encoding of one solve: the ``encoding`` option, else the backend's default ("auto" resolved)."""
        enc = (options or {}).get("encoding", self.default_encoding)
        if enc == "auto":
            from smugkit.backends.pb_lowering import pb_encoding_unsupported

            enc = "pb" if pb_encoding_unsupported(c) is None else "lia"
        return enc

    def unsupported(self, c: Compiled) -> str | None:
        if self.default_encoding == "pb":
            from smugkit.backends.pb_lowering import pb_encoding_unsupported

            return pb_encoding_unsupported(c)
        return None

    def lowerer(
        self, c: Compiled, builder: TermBuilder, opts: dict[str, Any], budget: Budget | None = None
    ) -> tuple[Any, type]:
        """The lowering of one solve and its session class (PB rows with refinement, or linear arithmetic)."""
        if self.encoding(opts, c) == "pb":
            from smugkit.backends.pb_lowering import PbLowerer, PbSession, pb_encoding_unsupported
            from smugkit.errors import ProblemError

            why = pb_encoding_unsupported(c)
            if why is not None:
                raise ProblemError(f"backend {self.name!r}: {why}")
            return PbLowerer(c, builder, opts.get("pb_bits", self.default_pb_bits)), PbSession
        lw = Lowerer(c, builder, opts.get("binary_as", "int"), opts.get("int_rows", True), budget)
        return lw, SmtSession

    def choices(self) -> dict[str, tuple[Any, ...]]:
        pb = (
            {"encoding": self.encodings, "pb_bits": (None, 8, 12, 16, 20, 24, 30)}
            if "pb" in self.encodings
            else {}
        )
        return {
            **pb,
            "binary_as": ("int", "bool"),
            "bound_mode": self.bound_modes,
            "int_rows": (True, False),
            **self.engine_options,
        }

    def _core(self, ctx: SolveContext) -> SearchResult:
        """Core-guided minimisation (`cores`) over pb rows, in a forked child killed at the deadline."""
        res, ctx.build_seconds = self.core_search(
            ctx.compiled, ctx.spec, ctx.options, ctx.budget, ctx.seed, ctx.incumbent
        )
        ctx.calls = 1
        return res

    def core_search(
        self,
        c: Compiled,
        spec: ObjectiveSpec,
        options: dict[str, Any],
        budget: Budget,
        seed: int,
        incumbent: tuple[np.ndarray, Any] | None,
    ) -> tuple[SearchResult, float]:
        """Core-guided search from scratch (result, build seconds); it stops once its bound meets
        ``incumbent``, so proving a known optimum never needs the last, hardest SAT check."""
        from smugkit.backends.cores import core_minimize

        t0 = time.perf_counter()
        engine = self.make_engine(c, seed, {**options, "cores": True})
        lw, _ = self.lowerer(c, engine.builder, options, budget)
        lowered = lw.lower(spec)
        engine.columns = (lowered.cols, np.zeros(len(lowered.cols), dtype=np.int64))
        engine.assert_many(lowered.assertions)
        build = time.perf_counter() - t0
        return core_minimize(engine, lw, spec, budget, incumbent, self.name), build

    def run(self, ctx: SolveContext) -> tuple[SearchResult, list[SearchResult]]:
        """Lower the problem, then minimise by search (or natively) within the budget."""
        c, spec, opts, inc = ctx.compiled, ctx.spec, ctx.options, ctx.incumbent
        if ctx.strategy == "core":
            if ctx.num_solutions == 1 and spec is not None and self.encoding(opts, c) == "pb":
                return self._core(ctx), []
            ctx.strategy = "binary"  # what ran: core-guided search needs one optimum over pb rows
        if ctx.strategy == "native" and ctx.num_solutions == 1 and spec is not None:
            res, ctx.calls, ctx.build_seconds = self.native(ctx.problem, c, spec, ctx.budget, ctx.seed, opts)
            return keep_incumbent(res, inc), []
        t0 = time.perf_counter()
        engine = self.make_engine(c, ctx.seed, opts)
        lw, session_cls = self.lowerer(c, engine.builder, opts, ctx.budget)
        try:
            lowered = lw.lower(spec)
        except BudgetExpired as e:
            ctx.build_seconds = time.perf_counter() - t0
            return keep_incumbent(SearchResult("unknown", None, None, None, f"{e}."), inc), []
        mode = opts.get("bound_mode", self.default_bound_mode)
        if mode != "fresh":
            engine.assert_many(lowered.assertions)
        ctx.build_seconds = time.perf_counter() - t0
        session = session_cls(engine, lw, lowered, spec, mode)
        search = ctx.strategy if ctx.strategy in STRATEGIES else "binary"
        res = minimize(session, spec, search, ctx.budget, inc)
        res.message = join_messages(res.message, engine.message)
        extra = (
            next_best(session, spec, search, ctx.budget, res, ctx.num_solutions - 1)
            if lowered.decision.size
            else []
        )
        ctx.calls = session.calls
        return res, extra
