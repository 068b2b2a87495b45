"""Run jobs through an executor, skip the ones a store has finished, store each row as it finishes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from smugkit.run.executors import Executor
    from smugkit.run.store import JobStore


@dataclass(frozen=True)
class Job:
    """One unit of work: ``id`` is its stable key in the store (same work, same id, on every run)."""

    id: str
    payload: Any = None


def job_id(*parts: object) -> str:
    """A stable, unambiguous id from JSON-able parts (a file path with '/' in it stays one part)."""
    return json.dumps(list(parts), separators=(",", ":"))


class JobError(RuntimeError):
    """A job failed and the run was asked to stop on failures (``errors="raise"``)."""

    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(f"job {job_id}: {message}")
        self.job_id = job_id


def failed_row(exc: BaseException) -> dict:
    """The row of a job whose function raised: the run goes on and the error is on record."""
    return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}


def _call(fn: Callable[[Job], dict], errors: str, job: Job) -> dict:
    """``fn(job)`` checked to be a row; with ``errors="row"`` an exception becomes a failed row."""
    try:
        row = fn(job)
        if not isinstance(row, dict):
            raise TypeError(f"a job function returns a dict row, got {type(row).__name__}")
    except Exception as exc:  # a crashing job is a result, not the end of the run
        if errors == "raise":
            raise
        return failed_row(exc)
    return row


def run_jobs(
    jobs: Iterable[Job],
    fn: Callable[[Job], dict],
    store: JobStore,
    *,
    executor: str | Executor = "serial",
    errors: Literal["row", "raise"] = "row",
    progress: bool = False,
    desc: str = "jobs",
    unit: str = "job",
    header: dict | None = None,
    rerun_failed: bool = False,
) -> list[dict]:
    """Run ``fn`` on every job the store has not finished; return the rows of all ``jobs``, in their order.

    Each row is appended to the store (and fsynced) as its job finishes, so an interrupted run resumes where
    it stopped. ``errors="row"`` records a raising job as ``failed_row`` and goes on; ``"raise"`` stops.
    A job id listed twice runs once. ``rerun_failed``: a job whose stored row failed (status ``error`` or
    ``timeout``) runs again, once per run, instead of being skipped. ``header`` (e.g. ``{"kind": "bench"}``): the store gets a first ``#run``
    row with it, the schema version and the host's facts.
    """
    from smugkit.run.executors import get_executor
    from smugkit.run.records import run_header

    if errors not in ("row", "raise"):
        raise ValueError(f"errors must be 'row' or 'raise', got {errors!r}")
    jobs = list(jobs)
    todo = list(
        {j.id: j for j in jobs if j.id not in store or (rerun_failed and _failed(store.get(j.id)))}.values()
    )
    ex = get_executor(executor) if isinstance(executor, str) else executor
    if header is not None:
        head = run_header(**header, executor=ex.name, jobs=len(jobs), todo=len(todo))
        store.append(head.pop("job"), head)
    bar = _bar(len(jobs), len(jobs) - len(todo), progress, desc, unit)
    try:
        for job, row in ex.map(partial(_call, fn, errors), todo):
            store.append(job.id, row)
            bar.update(1)
    finally:
        bar.close()
    return [store.get(j.id) for j in jobs]


FAILED = ("error", "timeout")  # statuses of a job that did not finish its work


def _failed(row: dict | None) -> bool:
    return row is not None and row.get("status") in FAILED


def _bar(total: int, done: int, enabled: bool, desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, disable=not enabled, desc=desc, unit=unit)
