"""Shared pieces of the batch tests: a tiny model file, its inputs, and job functions for worker processes."""

from __future__ import annotations

import os

import numpy as np

from smugkit.run import Job
from tests.attribution.helpers import tiny_cnn

FAST = {"top_k": 8, "ig_steps": 20}  # SMUG options that keep a tiny explanation well under a second


def tiny_model(folder) -> str:
    """A 4x4 single-channel CNN written to ``folder/tiny.onnx``."""
    path = folder / "tiny.onnx"
    path.write_bytes(tiny_cnn(seed=4, h=4, w=4, filters=3).SerializeToString())
    return str(path)


def inputs(n: int, seed: int = 1) -> np.ndarray:
    """``n`` random inputs of the tiny model's shape (N, 1, 1, 4, 4)."""
    return np.random.default_rng(seed).random((n, 1, 1, 4, 4))


def double(job: Job) -> dict:
    """A job that works: twice its payload, and the process it ran in."""
    return {"status": "ok", "value": 2 * job.payload, "pid": os.getpid()}


def flaky(job: Job) -> dict:
    """Payload -1 raises, payload -2 kills its worker process, any other payload works."""
    if job.payload == -1:
        raise ValueError("this item is broken")
    if job.payload == -2:
        os._exit(3)  # a worker dying mid-job (a solver crash, the OOM killer)
    return double(job)


def thread_setting(job: Job) -> dict:
    """The thread setting of the process running the job, and the BLAS threads it has."""
    from threadpoolctl import threadpool_info

    from smugkit.threads import threads

    blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return {"status": "ok", "threads": threads(), "blas": blas}
