"""Executors run a job function over jobs and yield ``(job, row)`` as each finishes; one registry names them.

To add an executor (a local process pool, Dask, Ray): write a class with ``name`` and
``map(call, jobs) -> Iterator[(job, row)]`` that runs ``call(job)`` for every job (in any order, yielding
each result as soon as it is done), and add one line to ``EXECUTORS`` mapping its name to the class.
``call`` is a module-level ``functools.partial``, so it pickles whenever the user's job function does;
import heavy packages (dask, ray) inside the class, never at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from smugkit.errors import InputError
from smugkit.run.jobs import Job, JobError


class Executor(Protocol):
    """Runs ``call`` on each job, yielding ``(job, row)`` as each one finishes."""

    name: str

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]: ...


class SerialExecutor:
    """One job after the other in this process: shares in-process caches, no isolation."""

    name = "serial"

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        """Run the jobs in order, in-process."""
        for job in jobs:
            yield job, call(job)


class ForkedExecutor:
    """Each job in a forked child killed at ``deadline`` seconds: a wall-clock budget for work that ignores
    its own, and a crash (segfault, out of memory) that takes only the child down.

    A killed job's row has status ``timeout``, a child that died has status ``error``. Without ``os.fork``
    (Windows) jobs run in-process without a hard deadline.
    """

    name = "forked"

    def __init__(self, deadline: float) -> None:
        if not deadline > 0:
            raise InputError(f"forked executor: deadline must be positive seconds, got {deadline!r}")
        self.deadline = float(deadline)

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        """Run the jobs in order, each in its own child process."""
        from smugkit.backends.forked import forked_call

        for job in jobs:
            state, out = forked_call(lambda job=job: _capture(call, job), self.deadline)
            if state == "timeout":
                yield job, {"status": "timeout", "error": f"killed at the {self.deadline:g} s deadline"}
            elif state == "error":  # the child died or was interrupted before sending a row
                yield job, {"status": "error", "error": f"child process: {out}"}
            elif out[0] == "raised":  # errors="raise": the job function raised in the child
                raise JobError(job.id, out[1])
            else:
                yield job, out[1]


def _capture(call: Callable[[Job], dict], job: Job) -> tuple[str, object]:
    try:
        return "ok", call(job)
    except Exception as exc:  # noqa: BLE001 -- sent back to the parent, which raises it there
        return "raised", f"{type(exc).__name__}: {exc}"


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "serial": SerialExecutor,
    "forked": ForkedExecutor,
}


def get_executor(name: str, **options: object) -> Executor:
    """The executor registered as ``name``, built with ``options`` (e.g. ``deadline`` for ``forked``)."""
    if name not in EXECUTORS:
        raise InputError(f"unknown executor {name!r}; known: {sorted(EXECUTORS)}")
    try:
        return EXECUTORS[name](**options)
    except TypeError as e:
        raise InputError(f"executor {name!r}: {e}") from e
