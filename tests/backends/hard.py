"""Hard 0/1 instances shared by the budget tests and `benchmarks/overshoot.py`."""

from __future__ import annotations

import numpy as np

from smugkit.dsl import Problem


def dense_rows(n: int = 150, k: int = 80, seed: int = 0) -> np.ndarray:
    """``k`` dense rows over ``n`` mask bits, each with a positive total (the full mask satisfies them all)."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(k, n)) * rng.uniform(0.1, 1, size=n)
    C[C.sum(axis=1) < 0] *= -1
    return C


def dense_problem(n: int = 150, k: int = 80, seed: int = 0) -> Problem:
    """k dense rows over n mask bits: each kept neuron needs 80% of its full-mask activation (no backend
    proves the optimum of the default size within seconds)."""
    C = dense_rows(n, k, seed)
    p = Problem("dense")
    m = p.binary("m", n)
    p.add(C @ m >= 0.8 * C.sum(axis=1))
    p.minimize(m.sum())
    return p
