"""Wall-clock budgets: one deadline shared by every solver call of a solve, and a watchdog timer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class BudgetExpired(Exception):
    """Raised from inside a long build step (term construction) when the deadline passes."""


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

    def check(self, what: str) -> None:
        """Raise `BudgetExpired` naming ``what`` was under way once the deadline has passed."""
        if self.expired():
            raise BudgetExpired(f"the {self.seconds:g} s budget ran out while {what}")

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
