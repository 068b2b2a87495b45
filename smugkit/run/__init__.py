"""Resumable jobs: a JSONL store keyed by job id, a runner that skips finished jobs, pluggable executors."""

from smugkit.run.executors import (
    EXECUTORS,
    Executor,
    ForkedExecutor,
    SerialExecutor,
    get_executor,
    parse_executor,
)
from smugkit.run.jobs import Job, JobError, failed_row, job_id, run_jobs
from smugkit.run.store import JobStore

__all__ = [
    "EXECUTORS",
    "Executor",
    "ForkedExecutor",
    "Job",
    "JobError",
    "JobStore",
    "SerialExecutor",
    "failed_row",
    "get_executor",
    "job_id",
    "parse_executor",
    "run_jobs",
]
