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
        try:
            os.close(r)
            try:
                payload = pickle.dumps(("ok", fn()))
            except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
            with os.fdopen(w, "wb") as f:
                f.write(payload)
        finally:  # even when the parent is gone (broken pipe)
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


def forked_stream(fn: Callable[[Callable[[Any], None]], Any], seconds: float) -> tuple[str, list[Any]]:
    """Run ``fn(send)`` in a forked child killed after ``seconds``; every ``send(obj)`` reaches the parent.

    Returns ``(state, messages)`` with state ``"ok"`` (the child finished; its return value is the last
    message), ``"timeout"`` (killed: the messages sent so far, e.g. incumbents, are kept) or ``"error"``
    (the last message is the error text). Without ``os.fork`` it runs in-process with no hard deadline.
    """
    if not hasattr(os, "fork"):
        out: list[Any] = []
        try:
            out.append(fn(out.append))
            return "ok", out
        except Exception as exc:  # noqa: BLE001 - reported as a status
            return "error", [*out, f"{type(exc).__name__}: {exc}"]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: stream length-prefixed pickles, then the result; always leave at once
        try:
            os.close(r)
            with os.fdopen(w, "wb") as f:

                def send(obj: Any) -> None:
                    data = pickle.dumps(("msg", obj))
                    f.write(len(data).to_bytes(8, "little") + data)
                    f.flush()

                try:
                    last = pickle.dumps(("ok", fn(send)))
                except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                    last = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
                f.write(len(last).to_bytes(8, "little") + last)
        finally:  # a parent gone (broken pipe) must not let the child run on in the parent's code
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + max(0.0, seconds)
    buf = b""
    messages: list[Any] = []
    state = "error"
    with os.fdopen(r, "rb", buffering=0) as f:
        done = False
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "timeout", messages
            ready, _, _ = select.select([f], [], [], left)
            if not ready:
                continue
            chunk = f.read(1 << 16)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8 and len(buf) >= 8 + int.from_bytes(buf[:8], "little"):
                size = int.from_bytes(buf[:8], "little")
                kind, obj = pickle.loads(buf[8 : 8 + size])
                buf = buf[8 + size :]
                messages.append(obj)
                if kind != "msg":
                    state, done = kind, True
    os.waitpid(pid, 0)
    if state == "error" and not done:
        messages.append("solver process died")
    return state, messages
