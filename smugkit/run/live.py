"""A live line on stderr during a long solve: backend, incumbent size, proven bound, elapsed of the budget.

`LiveLine` sets itself as `smugkit.backends.base.watcher` (each solve hands it its `SolveContext`) and a
daemon thread redraws the line every ``every`` seconds from what the context holds: ``ctx.live`` (what a
backend reports while it runs: ``incumbent``, ``bound``), else the starting incumbent. In-process solves
only: solves in worker processes are summarised by the batch progress bar.
"""

from __future__ import annotations

import sys
import threading
from typing import Self, TextIO

from smugkit.backends import base


def describe(ctx: base.SolveContext, backend: str = "") -> str:
    """One line: what the solve has so far, against its budget."""
    live = ctx.live
    inc = live.get("incumbent", None if ctx.incumbent is None else ctx.incumbent[1])
    bound = live.get("bound")
    spent = ctx.budget.elapsed()
    budget = "" if ctx.budget.seconds is None else f" of {round(ctx.budget.seconds, 1):g}s"
    parts = [
        f"solving{' with ' + backend if backend else ''} ({ctx.strategy})",
        f"incumbent {_num(inc)}",
        f"bound {_num(bound)}",
        f"{spent:.1f}s{budget}",
    ]
    return ", ".join(parts)


def _num(v) -> str:
    if v is None:
        return "-"
    v = float(v)
    return f"{v:.0f}" if v == int(v) else f"{v:.4g}"


class LiveLine:
    """Context manager: while open, every in-process solve is shown on one redrawn line of ``stream``."""

    def __init__(self, stream: TextIO | None = None, every: float = 0.5, min_seconds: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.min_seconds = min_seconds  # quick solves print nothing
        self.ctx: base.SolveContext | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False
        self._previous = None

    def _watch(self, ctx: base.SolveContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> Self:
        self._previous, base.watcher = base.watcher, self._watch
        self._thread = threading.Thread(target=self._loop, daemon=True, name="smugkit-live-line")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        base.watcher = self._previous
        self.clear()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            ctx = self.ctx
            if ctx is not None and ctx.live.get("done"):
                self.ctx = None
                self.clear()
            elif ctx is not None and ctx.budget.elapsed() >= self.min_seconds:
                self.draw(ctx)

    def draw(self, ctx: base.SolveContext) -> None:
        """Redraw the line for ``ctx``."""
        self.stream.write("\r\x1b[2K" + describe(ctx))
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False
