"""The corpus against every backend (pySMT-style): statuses, optima, exact validity, brute-force agreement."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from smugkit.backends import available_backends, backend_names, get_backend, solve
from smugkit.backends.registry import get_prover, prover_names
from smugkit.errors import ProblemError, SolverUnavailable
from tests.backends.corpus import CORPUS, Case

# derived from the registry and the backends' declared capabilities, never kept by hand
BACKENDS = backend_names()
EXACT = {name for name in BACKENDS if get_backend(name).capabilities.exact_arithmetic}


def test_some_backends_are_installed():
    """The corpus below skips backends that are not installed; it must not skip them all."""
    assert len(available_backends()) >= 2, f"no solver backend loads here: {backend_names()}"


def require(name: str) -> None:
    """Skip (showing the backend's name and reason) when its solver is not installed."""
    ok, reason = get_backend(name).available()
    if not ok:
        pytest.skip(f"backend {name} unavailable: {reason}")


def _close(a: float | None, b: Fraction | None) -> bool:
    return a is not None and b is not None and abs(Fraction(a) - b) <= Fraction(1, 10**9) * (1 + abs(b))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_corpus(case: Case, backend: str) -> None:
    require(backend)
    if case.rational_objective and not get_backend(backend).capabilities.native_optimization:
        pytest.skip(f"{backend}: a rational objective needs native optimisation")
    problem = case.build()
    why = get_backend(backend).unsupported(problem.compile())
    if why is not None:
        with pytest.raises(ProblemError, match=backend):
            solve(problem, backend, timeout=30)
        pytest.skip(f"{backend} does not take this problem: {why}")
    sol = solve(problem, backend, timeout=30)
    assert sol.backend == backend and sol.backend_version
    if case.status == "infeasible":
        assert sol.status == "infeasible", sol.message
        assert sol.assignment is None
        return
    if backend in EXACT:
        assert sol.status == case.status, f"{sol.status}: {sol.message}"
    else:  # floats: a margin repair may leave an optimum unproven; validity is still exact below
        assert sol.status in (case.status, "feasible"), f"{sol.status}: {sol.message}"
    assert sol.assignment is not None
    ev = problem.evaluate(sol.assignment, exact=not case.rational_objective, tol=1e-7)
    if problem.relus:  # ReLU outputs come back as floats; validity is exact on the recomputed outputs
        from smugkit.dsl.evaluate import exact_completion

        ev = problem.evaluate(exact_completion(problem.compile(), sol.assignment), exact=True)
    assert ev.feasible, ev.violations
    if case.objective is not None and case.rational_objective and backend not in EXACT:
        assert abs(sol.objective - float(case.objective)) <= 1e-4 * (1 + abs(float(case.objective)))
    elif case.objective is not None:
        assert _close(sol.objective, case.objective), (sol.objective, case.objective)
        if sol.status == "optimal":
            assert _close(sol.lower_bound, case.objective)
    if case.objective is not None and not case.rational_objective:
        assert sol.exact_check is True


@pytest.mark.parametrize(
    "case", [c for c in CORPUS if c.brute is not None and 0 < c.bits <= 16], ids=lambda c: c.name
)
def test_brute_force_oracle_matches_recorded_answer(case: Case) -> None:
    status, value, count = case.brute()
    assert status == case.status and value == case.objective and count == case.optima


@pytest.mark.parametrize("backend", BACKENDS)
def test_enumerates_distinct_optima(backend: str) -> None:
    require(backend)
    case = next(c for c in CORPUS if c.name == "several_optima")
    sol = solve(case.build(), backend, timeout=30, num_solutions=5)
    masks = [sol["m"]] + [a["m"] for a in sol.alternatives]
    assert len(masks) == 5
    assert len({tuple(np.ravel(m)) for m in masks}) == 5
    assert [s.objective for s in [sol, *sol.alternatives]][:4] == [2.0] * 4
    assert sol.alternatives[3].objective == 3.0


def test_corpus_size() -> None:
    assert len(CORPUS) >= 25


PROVERS = prover_names()
_CERTIFIABLE = [c for c in CORPUS if c.status == "optimal" and not c.rational_objective]


@pytest.mark.parametrize("prover", PROVERS)
@pytest.mark.parametrize("case", _CERTIFIABLE, ids=[c.name for c in _CERTIFIABLE])
def test_corpus_certified_by_every_prover(case: Case, prover: str) -> None:
    """``highs+<prover>`` on every optimisation case: the optimum, proved exactly, or the reason it was not."""
    require("highs")
    p = get_prover(prover)
    try:
        p.version()
    except SolverUnavailable as exc:
        pytest.skip(f"prover {prover} unavailable: {exc}")
    problem = case.build()
    sol = solve(problem, f"highs+{prover}", timeout=30)
    assert _close(sol.objective, case.objective), (sol.objective, case.objective, sol.message)
    why = p.unsupported(problem.compile()) if hasattr(p, "prove_bound") else None
    if why is None:
        assert sol.status == "optimal" and f"proven exactly by {prover}" in sol.message, sol.message
        assert _close(sol.lower_bound, case.objective)
    else:
        assert f"{prover} cannot certify" in sol.message and sol.status != "optimal", sol.message
