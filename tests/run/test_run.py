"""The resumable job runner: resume after interruption, crash rows, stable ids, executors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from smugkit.errors import InputError
from smugkit.run import EXECUTORS, Job, JobError, JobStore, get_executor, job_id, run_jobs

JOBS = [Job(job_id("square", i), i) for i in range(6)]


def square(job: Job) -> dict:
    return {"value": job.payload**2}


def test_resume_after_interruption(tmp_path):
    log = tmp_path / "runs.jsonl"
    ran = []

    def interrupted(job):
        if job.payload == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the run
        ran.append(job.payload)
        return square(job)

    with pytest.raises(KeyboardInterrupt):
        run_jobs(JOBS, interrupted, JobStore(log))
    assert ran == [0, 1, 2]
    assert [json.loads(line)["value"] for line in log.read_text().splitlines()] == [0, 1, 4]

    ran.clear()
    store = JobStore(log)
    assert len(store) == 3 and JOBS[2].id in store and JOBS[3].id not in store

    def counting(job):
        ran.append(job.payload)
        return square(job)

    rows = run_jobs(JOBS, counting, store)
    assert ran == [3, 4, 5]  # finished jobs are not run again
    assert [r["value"] for r in rows] == [0, 1, 4, 9, 16, 25]
    assert [r["job"] for r in rows] == [j.id for j in JOBS]
    assert len(log.read_text().splitlines()) == 6


def test_every_row_is_synced_as_it_finishes(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    log = tmp_path / "runs.jsonl"

    def fsync(fd):
        synced.append(len(log.read_text().splitlines()))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    run_jobs(JOBS[:3], square, JobStore(log))
    assert synced == [1, 2, 3]


def test_a_torn_last_line_is_dropped(tmp_path):
    log = tmp_path / "runs.jsonl"
    run_jobs(JOBS[:2], square, JobStore(log))
    with log.open("a") as fh:
        fh.write('{"job": "[\\"square\\",2]", "val')  # killed halfway through writing a row
    store = JobStore(log)
    assert len(store) == 2 and JOBS[2].id not in store
    rows = run_jobs(JOBS[:3], square, store)
    assert [r["value"] for r in rows] == [0, 1, 4]
    assert [json.loads(line)["value"] for line in log.read_text().splitlines()] == [0, 1, 4]


def test_a_damaged_row_in_the_middle_is_an_error(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text('{"job": "a"}\nnot json\n{"job": "b"}\n')
    with pytest.raises(InputError, match="runs.jsonl:2"):
        JobStore(log)


def test_a_crashing_job_is_a_failed_row_and_the_others_go_on(tmp_path):
    def crashes_on_two(job):
        if job.payload == 2:
            raise RuntimeError("solver exploded")
        return square(job)

    rows = run_jobs(JOBS, crashes_on_two, JobStore(tmp_path / "runs.jsonl"))
    assert rows[2] == {"job": JOBS[2].id, "status": "error", "error": "RuntimeError: solver exploded"}
    assert [r.get("value") for r in rows] == [0, 1, None, 9, 16, 25]
    # the failed row is finished work too: a rerun does not retry it
    assert run_jobs(JOBS, lambda job: pytest.fail("ran again"), JobStore(tmp_path / "runs.jsonl")) == rows


def test_errors_raise_stops_with_the_jobs_own_exception(tmp_path):
    def bad(job):
        raise InputError("no such model")

    with pytest.raises(InputError, match="no such model"):
        run_jobs(JOBS, bad, JobStore(tmp_path / "runs.jsonl"), errors="raise")
    with pytest.raises(ValueError, match="errors"):
        run_jobs(JOBS, square, JobStore(tmp_path / "r.jsonl"), errors="ignore")


def test_a_job_must_return_a_dict(tmp_path):
    rows = run_jobs(JOBS[:1], lambda job: 42, JobStore(tmp_path / "runs.jsonl"))
    assert rows[0]["status"] == "error" and "dict row" in rows[0]["error"]


def test_ids_are_stable_and_unambiguous():
    assert job_id("digits-s0", "highs", 0) == '["digits-s0","highs",0]'
    assert job_id("a/b", "c") != job_id("a", "b/c")
    # the same in a fresh interpreter (no hash randomisation in ids)
    code = "from smugkit.run import job_id; print(job_id('m.onnx', 'z3@binary', 2))"
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == job_id("m.onnx", "z3@binary", 2)


def test_a_duplicate_job_runs_once(tmp_path):
    ran = []

    def counting(job):
        ran.append(job.id)
        return square(job)

    rows = run_jobs([JOBS[1], JOBS[1], JOBS[2]], counting, JobStore(tmp_path / "runs.jsonl"))
    assert ran == [JOBS[1].id, JOBS[2].id] and rows[0] == rows[1]


def test_store_with_a_key_derived_from_row_fields(tmp_path):
    log = tmp_path / "runs.jsonl"
    store = JobStore(log, key=lambda row: job_id(row["name"], row["rep"]))
    store.append(job_id("a", 0), {"name": "a", "rep": 0})
    with pytest.raises(ValueError, match="keyed"):
        store.append(job_id("a", 1), {"name": "a", "rep": 0})
    assert json.loads(log.read_text()) == {"name": "a", "rep": 0}  # written unchanged, no id field
    assert job_id("a", 0) in JobStore(log, key=store.key)


def test_executor_registry():
    assert {"serial", "forked"} <= set(EXECUTORS)
    assert get_executor("serial").name == "serial"
    with pytest.raises(InputError, match="unknown executor 'nosuch'"):
        get_executor("nosuch")
    with pytest.raises(InputError, match="forked"):
        get_executor("forked")  # needs a deadline
    with pytest.raises(InputError, match="deadline"):
        get_executor("forked", deadline=0)


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_forked_executor_kills_a_job_at_its_deadline(tmp_path):
    def work(job):
        if job.payload == 1:
            time.sleep(60)  # ignores every budget
        if job.payload == 2:
            os._exit(1)  # dies without a word
        if job.payload == 3:
            raise RuntimeError("boom")
        return {"value": job.payload, "pid": os.getpid()}

    t = time.perf_counter()
    rows = run_jobs(
        JOBS[:5], work, JobStore(tmp_path / "runs.jsonl"), executor=get_executor("forked", deadline=1)
    )
    assert time.perf_counter() - t < 30  # one 1 s deadline, not a 60 s sleep
    assert rows[0]["value"] == 0 and rows[0]["pid"] != os.getpid() and rows[4]["value"] == 4
    assert rows[1]["status"] == "timeout" and "deadline" in rows[1]["error"]
    assert rows[2]["status"] == "error" and "died" in rows[2]["error"]
    assert rows[3]["status"] == "error" and rows[3]["error"] == "RuntimeError: boom"


@needs_fork
def test_forked_executor_raises_when_asked(tmp_path):
    def bad(job):
        raise RuntimeError("boom")

    with pytest.raises(JobError, match="boom"):
        run_jobs(
            JOBS,
            bad,
            JobStore(tmp_path / "runs.jsonl"),
            executor=get_executor("forked", deadline=5),
            errors="raise",
        )
