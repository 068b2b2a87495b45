"""A local process pool executor: one worker per core, results yielded as each job finishes.

Workers are started with the ``forkserver`` method (``spawn`` where there is none): a plain ``fork`` of a
parent that has run HiGHS copies its thread pool's locks and the child can hang. A worker that dies (killed,
out of memory, a crash in a solver) breaks the pool; the jobs it was running are retried once in a fresh
pool, then recorded as failed rows, and every other unfinished job goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from smugkit.errors import InputError
from smugkit.run.jobs import Job

#: modules a forkserver imports once, so each worker starts without re-importing them
PRELOAD = ["numpy", "smugkit.run.batch"]

_started = None  # in a worker: the queue it reports each job id on, before running it


def _init_worker(started) -> None:
    global _started
    _started = started


def _run_in_worker(call: Callable[[Job], dict], job: Job) -> dict:
    _started.put(job.id)
    return call(job)


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class PoolExecutor:
    """Runs jobs on ``workers`` local processes; a job whose worker died is retried ``retries`` times."""

    name = "local"

    def __init__(self, workers: int | None = None, retries: int = 1) -> None:
        if workers is None:
            workers = default_workers()
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"local executor: workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self.retries = int(retries)

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        """Yield ``(job, call(job))`` as each job finishes, in completion order."""
        pending = {job.id: job for job in jobs}
        deaths: Counter[str] = Counter()
        ctx = _context()
        while pending:
            started = ctx.Queue()
            pool = ProcessPoolExecutor(
                max_workers=min(self.workers, len(pending)),
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(started,),
            )
            broken = False
            try:
                futures = {pool.submit(_run_in_worker, call, job): job for job in pending.values()}
                while futures and not broken:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in done:
                        job = futures.pop(fut)
                        try:
                            row = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        del pending[job.id]
                        yield job, row
            finally:
                _shutdown(pool)
            if broken:
                yield from self._after_death(_drain(started), pending, deaths)
            started.close()

    def _after_death(
        self, started: set[str], pending: dict[str, Job], deaths: Counter[str]
    ) -> Iterator[tuple[Job, dict]]:
        """Charge the death to the jobs that had started; those past their retries become failed rows."""
        culprits = [jid for jid in pending if jid in started] or list(pending)
        for jid in culprits:
            deaths[jid] += 1
            if deaths[jid] > self.retries:
                job = pending.pop(jid)
                yield (
                    job,
                    {
                        "status": "error",
                        "error": f"the worker process died while running this item ({deaths[jid]} times)",
                    },
                )


def _drain(q) -> set[str]:
    out = set()
    while True:
        try:
            out.add(q.get(timeout=0.05))
        except (queue.Empty, OSError, EOFError):
            return out


def _shutdown(pool: ProcessPoolExecutor) -> None:
    """Stop the pool now: queued jobs are cancelled and running workers terminated (an interrupt or a
    consumer that stops early must not leave solver processes behind)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
