"""Every backend stops near its budget on a hard instance and returns its best mask, never an exception.

The margin is wide on purpose (a loaded CI machine); `python benchmarks/overshoot.py --timeout 5` measures
the overshoot itself. The backends come from the registry; those not installed here are skipped.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from smugkit.backends import backend_names, get_backend, solve
from smugkit.errors import ProblemError
from tests.backends.hard import dense_problem, dense_rows, full_cnn_problem

BUDGET = 0.5  # seconds
MARGIN = 10.0  # seconds past the budget a loaded machine may add (process start-up, a solver's interrupt)


@pytest.mark.parametrize("backend", backend_names())
def test_time_out_returns_the_best_mask_within_the_margin(backend):
    ok, reason = get_backend(backend).available()
    if not ok:
        pytest.skip(f"backend {backend} unavailable: {reason}")
    t0 = time.perf_counter()
    sol = solve(dense_problem(), backend=backend, timeout=BUDGET)
    elapsed = time.perf_counter() - t0
    assert elapsed <= BUDGET + MARGIN, (
        f"{backend} returned {elapsed - BUDGET:.1f} s past a {BUDGET:g} s budget"
    )
    assert sol.status in ("feasible", "unknown", "optimal", "optimal_unproven")
    assert sol.has_assignment, f"{backend}: no mask after the time-out ({sol.status}: {sol.message})"
    m = np.rint(sol["m"]).astype(int)
    C = dense_rows()
    assert set(np.unique(m)) <= {0, 1}
    assert np.all(C @ m >= 0.8 * C.sum(axis=1) - 1e-9), f"{backend}: the returned mask breaks a row"
    assert sol.objective == m.sum()
    if sol.lower_bound is not None:
        assert sol.lower_bound <= sol.objective


@pytest.mark.slow
@pytest.mark.parametrize("backend", backend_names())
def test_full_network_encoding_stops_within_the_margin(backend, full_cnn):
    """Term building for the whole 28x28 CNN is the hard part; backends that cannot take ReLU terms refuse
    with a ProblemError before any work."""
    ok, reason = get_backend(backend).available()
    if not ok:
        pytest.skip(f"backend {backend} unavailable: {reason}")
    t0 = time.perf_counter()
    try:
        sol = solve(full_cnn, backend=backend, timeout=2 * BUDGET)
    except ProblemError as e:
        assert "cannot solve" in str(e) and time.perf_counter() - t0 < MARGIN
        return
    elapsed = time.perf_counter() - t0
    assert elapsed <= 2 * BUDGET + MARGIN, f"{backend}: {elapsed - 2 * BUDGET:.1f} s past the budget"
    assert sol.status in ("feasible", "unknown", "optimal", "optimal_unproven")
    if sol.has_assignment:
        assert sol.exact_check is not False


@pytest.fixture(scope="module")
def full_cnn():
    return full_cnn_problem()
