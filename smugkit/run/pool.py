"""A local process pool executor: one worker per core, results yielded as each job finishes.

Workers are started with the ``forkserver`` method (``spawn`` where there is none): a plain ``fork`` of a
parent that has run HiGHS copies its thread pool's locks and the child can hang. A worker that dies (killed,
out of memory, a crash in a solver) breaks the pool; the jobs it was running are retried once in a fresh
pool of one worker, then recorded as failed rows, and every other unfinished job goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from smugkit.errors import InputError
from smugkit.run.jobs import Job
from smugkit.threads import cores, per_worker, set_threads

#: modules a forkserver imports once, so each worker starts without re-importing them
PRELOAD = ["numpy", "onnxruntime", "smugkit.run.batch", "smugkit.attribution.smug", "smugkit.frontends"]

_started = None  # in a worker: the queue it reports each job id on, before running it


def _init_worker(started, threads: int | None) -> None:
    global _started
    _started = started
    set_threads(threads)


def _run_in_worker(call: Callable[[Job], dict], job: Job) -> dict:
    _started.put(job.id)
    return call(job)


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


_NO_START = (
    "the worker processes died before starting (a script that runs the local pool needs the "
    "`if __name__ == '__main__':` guard, since workers import the main module)"
)


def default_workers() -> int:
    """One worker per core this process may use."""
    return cores()


class PoolExecutor:
    """Runs jobs on ``workers`` local processes; a job whose worker died is retried once, on its own.

    Each worker keeps to ``threads`` threads (`smugkit.threads`); by default ``cores // workers`` when there
    are several workers (they would otherwise oversubscribe the cores), the libraries' own default for one.
    """

    name = "local"

    def __init__(self, workers: int | None = None, threads: int | None | str = "auto") -> None:
        if workers is None:
            workers = default_workers()
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"local executor: workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self.threads = per_worker(workers) if threads == "auto" else threads
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise InputError(f"local executor: threads must be a positive integer or None, got {threads!r}")

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        """Yield ``(job, call(job))`` as each job finishes, in completion order.

        When a worker dies, the jobs that had started and not finished are suspects: each is rerun alone in a
        pool of one, which clears the innocent and convicts the job that kills its worker (a failed row).
        """
        pending = {job.id: job for job in jobs}
        _check_picklable(call, jobs[:1])
        suspects: list[str] = []
        blind = 0  # deaths before any job had started (a worker that cannot start at all)
        while pending:
            alone = bool(suspects)
            batch = [pending[suspects.pop(0)]] if alone else list(pending.values())
            started: set[str] = set()
            broken = yield from self._round(call, batch, 1 if alone else self.workers, pending, started)
            if not broken:
                continue
            hit = [jid for jid in started if jid in pending]
            if alone and hit:
                job = pending.pop(hit[0])
                yield job, {"status": "error", "error": "the worker process died running this item, twice"}
            elif hit:
                suspects.extend(hit)
            else:
                blind += 1
                if blind > 1:
                    for job in list(pending.values()):
                        del pending[job.id]
                        yield job, {"status": "error", "error": _NO_START}

    def _round(self, call, batch: list[Job], workers: int, pending: dict[str, Job], started: set[str]):
        """One pool over ``batch``: yields finished jobs (removing them from ``pending``); returns whether a
        worker died, with the ids of the jobs that had started added to ``started``."""
        ctx = _context()
        q = ctx.SimpleQueue()
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(batch)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(q, self.threads),
        )
        broken = False
        try:
            futures = {pool.submit(_run_in_worker, call, job): job for job in batch}
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
            while not q.empty():
                started.add(q.get())
            q.close()
        return broken


def _check_picklable(call: Callable[[Job], dict], jobs: Sequence[Job]) -> None:
    """A job function or payload that cannot be sent to a worker is a clear error, not a broken pool."""
    try:
        pickle.dumps((call, list(jobs)))
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise InputError(
            f"local executor: the job cannot be sent to a worker process ({e}); define the job function at "
            "module level, or use the serial executor"
        ) from e


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
