"""Core-guided minimisation (OLL) on the SMT backends: optima against brute force, weights of either sign,
rounded rows refined, infeasibility, the budget, and the fallback where cores do not apply."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from smugkit.backends import solve
from smugkit.dsl import Problem
from tests.backends.test_conformance import require

CORE_BACKENDS = ("cvc5", "pysmt:z3", "pysmt:cvc5", "z3")


def weighted(seed: int, n: int = 9, rows: int = 3) -> tuple[Problem, np.ndarray, np.ndarray, np.ndarray]:
    """A small covering-style 0/1 problem with integer weights of either sign."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(rows, n)) * 10.0 ** rng.integers(-3, 4, size=n)
    t = rng.uniform(-0.8, 0.4, size=rows) * C.clip(min=0).sum(axis=1)
    w = rng.integers(-3, 6, size=n).astype(float)
    p = Problem(f"w{seed}")
    m = p.binary("m", n)
    p.add(C @ m >= t)
    p.minimize(w @ m)
    return p, C, t, w


def brute(C: np.ndarray, t: np.ndarray, w: np.ndarray) -> Fraction | None:
    """The optimum in exact rationals over every 0/1 point (None: infeasible)."""
    best = None
    for x in itertools.product((0, 1), repeat=C.shape[1]):
        ok = all(
            sum(Fraction(float(a)) * v for a, v in zip(C[i], x)) >= Fraction(float(t[i]))
            for i in range(C.shape[0])
        )
        if ok:
            v = sum(Fraction(float(a)) * b for a, b in zip(w, x))
            best = v if best is None or v < best else best
    return best


@pytest.mark.parametrize("backend", CORE_BACKENDS)
def test_core_guided_optima_match_brute_force(backend: str) -> None:
    require(backend)
    for seed in range(8):  # three of them infeasible
        p, C, t, w = weighted(seed)
        want = brute(C, t, w)
        sol = solve(p, backend, timeout=30, strategy="core", pb_bits=8)  # coarse rows: refinement runs
        assert sol.strategy == "core"
        if want is None:
            assert sol.status == "infeasible", sol.message
            continue
        assert sol.status == "optimal", sol.message
        assert Fraction(sol.objective) == want and Fraction(sol.lower_bound) == want
        assert sol.exact_check is True


@pytest.mark.parametrize("backend", ("cvc5", "pysmt:z3"))
def test_core_guided_is_the_default_for_0_1_problems(backend: str) -> None:
    require(backend)
    p, C, t, w = weighted(5)
    sol = solve(p, backend, timeout=30)
    assert sol.strategy == "core" and "core-guided" in sol.message
    assert Fraction(sol.objective) == brute(C, t, w)


def test_core_guided_infeasible_rows() -> None:
    require("cvc5")
    p = Problem("none")
    m = p.binary("m", 3)
    p.add(m.sum() >= 4)
    p.minimize(m.sum())
    assert solve(p, "cvc5", timeout=30, strategy="core").status == "infeasible"


def test_core_guided_falls_back_to_binary_for_several_solutions() -> None:
    require("cvc5")
    p, C, t, w = weighted(6)
    sol = solve(p, "cvc5", timeout=30, strategy="core", num_solutions=2)
    assert sol.strategy == "binary" and Fraction(sol.objective) == brute(C, t, w)


def test_core_guided_cut_short_keeps_the_incumbent() -> None:
    """A search cut short by the budget returns the greedy incumbent, exactly checked, with a bound below it."""
    require("cvc5")
    from tests.backends.test_solve import hard_problem

    sol = solve(hard_problem(120, 60), "cvc5", timeout=0.5, strategy="core")
    assert sol.status == "feasible" and sol.assignment is not None and sol.exact_check is True
    assert "deadline" in sol.message
    assert sol.lower_bound is None or sol.lower_bound < sol.objective


@pytest.mark.parametrize("prover", ("cvc5", "pysmt:z3"))
def test_hybrid_certificate_by_core_guided_bounds(prover: str) -> None:
    """HiGHS's optimum K* is proven by core-guided bounds reaching K* (no final SAT check needed)."""
    require("highs")
    require(prover)
    p, C, t, w = weighted(0)
    sol = solve(p, "highs", timeout=30, certify=prover)
    assert sol.status == "optimal" and f"proven exactly by {prover}" in sol.message
    assert Fraction(sol.objective) == brute(C, t, w)


@pytest.mark.parametrize("binary_as", ("int", "bool"))
def test_smtlib_maxsat_default_matches_brute_force(binary_as: str) -> None:
    """The SMT-LIB pipe's default on 0/1 objectives: one script with weighted soft literals (either sign)."""
    require("smtlib")
    for seed in (0, 5, 6):
        p, C, t, w = weighted(seed)
        sol = solve(p, "smtlib", timeout=30, binary_as=binary_as)
        assert sol.strategy == "maxsat" and sol.status == "optimal", sol.message
        assert Fraction(sol.objective) == brute(C, t, w) and sol.exact_check is True
