"""What every backend provides: capabilities, version, availability, and ``solve`` as a template method.

``Backend.solve`` does what every solve shares (start the budget, compile the problem, pick and check the
strategy and options, prepare an exactly checked incumbent, assemble the `Solution`) around one hook,
``run(ctx)``, which is all a backend implements (plus ``version``). Everything one solve carries between
those steps is a `SolveContext`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from smugkit.backends.budget import Budget, watchdog
from smugkit.backends.objective import ObjectiveSpec, objective_spec
from smugkit.backends.relaxation import fill_lower_bound
from smugkit.backends.results import build_solution, check_options, prepare_incumbent
from smugkit.backends.search import SearchResult
from smugkit.dsl.problem import Compiled, Problem
from smugkit.dsl.solution import Solution
from smugkit.errors import ProblemError, SolverUnavailable

__all__ = ["Backend", "Budget", "Capabilities", "SolveContext", "watchdog"]

#: called with each solve's `SolveContext` before ``run`` (a progress line polls it); None: nobody watches
watcher: Callable[[SolveContext], None] | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do natively."""

    native_optimization: bool
    incremental: bool
    exact_arithmetic: bool
    strategies: tuple[str, ...]

    def names(self) -> list[str]:
        """The capabilities that hold, as short names (for tables)."""
        flags = (
            ("native-optimization", self.native_optimization),
            ("incremental", self.incremental),
            ("exact", self.exact_arithmetic),
        )
        return [name for name, on in flags if on]

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form for tables and JSON."""
        d = asdict(self)
        d["strategies"] = list(self.strategies)
        return d


@dataclass
class SolveContext:
    """One solve in progress: the compiled problem, the budget, the validated choices and what ``run`` adds."""

    problem: Problem
    compiled: Compiled
    spec: ObjectiveSpec | None  # the minimised objective (None: a feasibility problem)
    budget: Budget
    strategy: str
    options: dict[str, Any]  # validated; recorded in the Solution (a backend may add resolved values)
    seed: int
    num_solutions: int
    timeout: float | None
    incumbent: tuple[np.ndarray, Any] | None = None  # exactly checked (columns, minimised value)
    note: str = ""  # what became of the incumbent, for the Solution's message
    calls: int = 0  # solver calls made by ``run``
    build_seconds: float = 0.0  # time ``run`` spent building the solver's model
    live: dict[str, Any] = field(
        default_factory=dict
    )  # what ``run`` may report as it goes (incumbent, bound)


class Backend(ABC):
    """A solver backend; subclasses import their solver package lazily inside methods."""

    name: str = ""
    package: str = ""  # the Python package it needs
    extra: str | None = None  # the smugkit pip extra that installs it (None: a core dependency)
    capabilities: Capabilities
    default_strategy: str = "binary"

    def unavailable_error(self, reason: str) -> SolverUnavailable:
        """The error raised when the solver cannot be used, naming how to install it."""
        hint = f"pip install 'smugkit[{self.extra}]'" if self.extra else f"pip install {self.package}"
        return SolverUnavailable(f"backend {self.name!r} is unavailable: {reason} (install with: {hint})")

    @abstractmethod
    def version(self) -> str:
        """Solver version string; raises SolverUnavailable when the solver cannot be loaded."""

    def available(self) -> tuple[bool, str | None]:
        """Whether the solver loads here, and why not."""
        try:
            self.version()
        except SolverUnavailable as exc:
            return False, str(exc)
        return True, None

    #: True when the solver's own bound at a time-out already includes the LP relaxation (branch and bound):
    #: the LP bound is then computed only when the solver reports none
    own_relaxation: ClassVar[bool] = False

    #: option name -> allowed values, checked before ``run``; ``free_options`` take any value
    option_choices: ClassVar[dict[str, tuple[Any, ...]]] = {}
    free_options: ClassVar[tuple[str, ...]] = ()

    def choices(self) -> dict[str, tuple[Any, ...]]:
        """The options this backend accepts, with their allowed values (override when they are computed)."""
        return dict(self.option_choices)

    def pick_strategy(
        self,
        spec: ObjectiveSpec | None,
        strategy: str | None,
        c: Compiled | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """The asked strategy, else the default; a rational objective cannot be bisected, so it goes native.

        ``c`` and ``options`` let a backend pick by problem shape and encoding (see z3)."""
        if strategy is not None:
            return strategy
        rational = spec is not None and not spec.integral
        return "native" if rational and self.capabilities.native_optimization else self.default_strategy

    def unsupported(self, c: Compiled) -> str | None:
        """Why this backend cannot take problem ``c`` (e.g. real columns for a pseudo-Boolean solver), or None."""
        return None

    def incumbent(self, ctx: SolveContext, given: dict[str, Any] | None) -> tuple[Any, str]:
        """The starting solution: the given one checked exactly, else a greedy 0/1 mask (override to skip)."""
        return prepare_incumbent(ctx.problem, ctx.compiled, ctx.spec, given)

    def solve(
        self,
        problem: Problem,
        *,
        timeout: float | None,
        strategy: str | None,
        num_solutions: int,
        seed: int,
        incumbent: dict[str, Any] | None,
        options: dict[str, Any],
    ) -> Solution:
        """Solve within ``timeout`` seconds of wall-clock time (see smugkit.backends.solve)."""
        budget = Budget(timeout)
        c = problem.compile()
        why = self.unsupported(c)
        if why is not None:
            raise ProblemError(f"backend {self.name!r} cannot solve problem {problem.name!r}: {why}")
        spec = objective_spec(c)
        strategy = self.pick_strategy(spec, strategy, c, options)
        opts = check_options(self, strategy, options, self.choices(), self.free_options)
        ctx = SolveContext(problem, c, spec, budget, strategy, opts, seed, num_solutions, timeout)
        ctx.incumbent, ctx.note = self.incumbent(ctx, incumbent)
        if watcher is not None:
            watcher(ctx)
        best, alternatives = self.run(ctx)
        best = fill_lower_bound(ctx, best, self.own_relaxation)  # an LP / cover bound at a time-out
        ctx.live["done"] = True
        return build_solution(self, ctx, best, alternatives)

    @abstractmethod
    def run(self, ctx: SolveContext) -> tuple[SearchResult, list[SearchResult]]:
        """The solver's part: the best result within ``ctx.budget`` and up to ``num_solutions - 1`` others."""
