"""Threads per process: how many cores onnxruntime, HiGHS and BLAS may each use in one smugkit process.

The setting is ``SMUGKIT_THREADS`` (a positive integer). Unset, every library keeps its own default (all
cores), which is fastest for one process alone. Several worker processes on one machine must not each spread
over every core: their spinning thread pools then fight for the cores, and two workers ran only 1.15x one.
The local pool, and the Dask and Ray local clusters, give each worker ``cores // workers`` threads.

onnxruntime reads the setting when a session is made, HiGHS when a solve starts (`smugkit.runtime.session`,
`smugkit.backends.highs_backend`); BLAS reads ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` /
``MKL_NUM_THREADS`` when numpy is imported, and `set_threads` also limits a BLAS already loaded (through
threadpoolctl, when installed).
"""

from __future__ import annotations

import os

from smugkit.errors import InputError

ENV = "SMUGKIT_THREADS"
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads() -> int | None:
    """This process's thread setting: ``SMUGKIT_THREADS``, or None (each library's default)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(f"{ENV} must be a positive integer (threads per process), got {raw!r}")
    return n


def cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def per_worker(workers: int) -> int | None:
    """The setting for each of ``workers`` processes sharing this machine: ``SMUGKIT_THREADS`` when set,
    else ``cores // workers`` (at least 1) for several workers, None (library defaults) for one."""
    given = threads()
    if given is not None:
        return given
    return max(1, cores() // workers) if workers > 1 else None


def thread_env(n: int | None) -> dict[str, str]:
    """Environment variables giving a new process ``n`` threads (empty for None)."""
    return {} if n is None else {ENV: str(n), **{k: str(n) for k in BLAS_ENV}}


def set_threads(n: int | None) -> None:
    """Give this process (and the processes it starts) ``n`` threads per library; None restores the defaults
    for sessions and solves started from now on (a BLAS already limited stays so)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise InputError(f"threads must be a positive integer or None, got {n!r}")
    if n is None:
        os.environ.pop(ENV, None)
        return
    os.environ.update(thread_env(n))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # BLAS then follows the variables only if numpy is imported after this
        return
    threadpool_limits(n)
