"""What every backend provides: capabilities, version, availability, and ``solve``; plus wall-clock budgets."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from smugkit.dsl.problem import Problem
from smugkit.dsl.solution import Solution
from smugkit.errors import SolverUnavailable


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


class Budget:
    """A wall-clock deadline shared by every solver call of one solve."""

    def __init__(self, seconds: float | None) -> None:
        self.start = time.perf_counter()
        self.seconds = None if seconds is None else max(0.0, float(seconds))
        self.deadline = None if self.seconds is None else self.start + self.seconds

    def remaining(self) -> float:
        """Seconds left (a large number when unlimited)."""
        return 1e9 if self.deadline is None else max(0.0, self.deadline - time.perf_counter())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0.0

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return time.perf_counter() - self.start


@contextmanager
def watchdog(seconds: float, on_timeout: Callable[[], None]) -> Iterator[None]:
    """Call ``on_timeout`` from a timer thread if the block runs longer than ``seconds``."""
    timer = threading.Timer(max(0.0, seconds), on_timeout)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


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

    @abstractmethod
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
