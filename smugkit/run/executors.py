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


def _local(**options: object) -> Executor:
    from smugkit.run.pool import PoolExecutor

    return PoolExecutor(**options)


def _dask(**options: object) -> Executor:
    from smugkit.run.distributed import DaskExecutor

    return DaskExecutor(**options)


def _ray(**options: object) -> Executor:
    from smugkit.run.distributed import RayExecutor

    return RayExecutor(**options)


EXECUTORS: dict[str, Callable[..., Executor]] = {
    "serial": SerialExecutor,
    "forked": ForkedExecutor,
    "local": _local,
    "dask": _dask,
    "ray": _ray,
}


def get_executor(name: str, **options: object) -> Executor:
    """The executor registered as ``name``, built with ``options`` (e.g. ``deadline`` for ``forked``)."""
    if name not in EXECUTORS:
        raise InputError(f"unknown executor {name!r}; known: {sorted(EXECUTORS)}")
    try:
        return EXECUTORS[name](**options)
    except TypeError as e:
        raise InputError(f"executor {name!r}: {e}") from e


def parse_executor(spec: str, workers: int | None = None) -> Executor:
    """An executor from a command-line spec: ``serial``, ``local[:N]``, ``dask[=ADDRESS]`` or ``ray[=ADDRESS]``.

    ``local:2`` is two worker processes; ``dask``/``ray`` with no address start a local cluster of
    ``workers`` processes (default: one per core). ``:`` works in place of ``=`` (``dask:tcp://h:8786``).
    """
    name, _, arg = spec.replace("=", ":", 1).partition(":")
    name = name.strip().lower()
    if name == "local" and arg:
        try:
            workers = int(arg)
        except ValueError:
            raise InputError(f"executor {spec!r}: the number of workers must be an integer") from None
        arg = ""
    if name in ("dask", "ray") and arg.isdigit():  # dask:2 -- a local cluster of 2 workers
        workers, arg = int(arg), ""
    if arg and name not in ("dask", "ray"):
        raise InputError(f"executor {spec!r}: {name!r} takes no address")
    options: dict[str, object] = {}
    if name in ("local", "dask", "ray") and workers is not None:
        options["workers"] = workers
    if arg:
        options["address"] = arg
    return get_executor(name, **options)
