"""Run one solver call in a forked child that is killed at the deadline: a wall-clock budget for solvers
whose own time limits do not fire (cvc5's ``tlimit``/``tlimit-per`` did not stop a hard check here,
only ``rlimit`` did) and that offer no interrupt."""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Any


def forked_call(fn: Callable[[], Any], seconds: float) -> tuple[str, Any]:
    """``("ok", fn())`` computed in a child process, ``("timeout", None)`` or ``("error", text)``.

    The child shares the parent's solver state copy-on-write; nothing it changes flows back.
    Without ``os.fork`` (Windows) the call runs in-process without a hard deadline.
    """
    if not hasattr(os, "fork"):
        try:
            return "ok", fn()
        except Exception as exc:  # noqa: BLE001 - reported as a status
            return "error", f"{type(exc).__name__}: {exc}"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: compute, send, leave without running the parent's cleanup
        os.close(r)
        try:
            payload = pickle.dumps(("ok", fn()))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
        with os.fdopen(w, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + max(0.0, seconds)
    with os.fdopen(r, "rb") as f:
        ready: list[Any] = []
        while not ready:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "timeout", None
            ready, _, _ = select.select([f], [], [], left)
        data = f.read()
    os.waitpid(pid, 0)
    if not data:
        return "error", "solver process died"
    return pickle.loads(data)
