"""Lower bounds filled in at a time-out (LP relaxation through its duals, row cover) never exceed the optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smugkit.backends import solve
from smugkit.backends.objective import objective_spec
from smugkit.backends.relaxation import _weights, cover_bound, dual_bound, lp_bound
from smugkit.dsl import Problem, relu
from tests.backends.hard import dense_problem


def _tiny(seed: int, n: int = 10, k: int = 4) -> tuple[Problem, np.ndarray, np.ndarray, np.ndarray]:
    """A SMUG-like cover problem over ``n`` bits with one equality row and a weighted objective."""
    rng = np.random.default_rng(seed)
    C = np.round(rng.normal(size=(k, n)) * 4, 2)
    C[C.sum(axis=1) < 0] *= -1
    t = np.round(rng.uniform(0.3, 0.9, size=k) * C.sum(axis=1), 2)
    w = rng.integers(1, 4, size=n)
    p = Problem(f"tiny{seed}")
    m = p.binary("m", n)
    p.add(C @ m >= t)
    p.add(m[0] + m[1] == 1)
    p.minimize(w @ m)
    return p, C, t, w


def _brute(C: np.ndarray, t: np.ndarray, w: np.ndarray) -> int | None:
    X = np.array(list(itertools.product((0, 1), repeat=C.shape[1])))
    ok = np.all(X @ C.T >= t - 1e-9, axis=1) & (X[:, 0] + X[:, 1] == 1)
    return int((X[ok] @ w).min()) if ok.any() else None


@pytest.mark.parametrize("seed", range(12))
def test_bounds_never_exceed_the_brute_force_optimum(seed):
    p, C, t, w = _tiny(seed)
    best = _brute(C, t, w)
    if best is None:
        pytest.skip("infeasible draw")
    c = p.compile()
    weights = _weights(c, objective_spec(c))
    lp, cover = lp_bound(c, weights, 5.0), cover_bound(c, weights)
    assert lp is not None and cover is not None
    assert 0 <= cover <= best and lp <= best, (cover, lp, best)
    assert lp >= 1  # every draw needs some bits: the bound says something


@pytest.mark.parametrize("seed", range(6))
def test_integer_columns_and_negative_weights(seed):
    """Columns in [-2, 3] and weights of both signs: the bound may be negative and still holds."""
    rng = np.random.default_rng(seed)
    A, w = np.round(rng.normal(size=(3, 4)), 1), rng.integers(-3, 4, size=4)
    X = np.array(list(itertools.product(range(-2, 4), repeat=4)))
    t = np.sort(X @ A.T, axis=0)[len(X) // 3]  # about a third of the box is cut by each row
    ok = np.all(X @ A.T >= t - 1e-9, axis=1)
    p = Problem("ints")
    x = p.integer("x", 4, lb=-2, ub=3)
    p.add(A @ x >= t)
    p.minimize(w @ x)
    c = p.compile()
    lp = lp_bound(c, _weights(c, objective_spec(c)), 5.0)
    assert lp is not None and lp <= int((X[ok] @ w).min())


def test_any_nonnegative_dual_gives_a_valid_bound():
    """The dual check does not trust the LP: random multipliers give weaker, never invalid, bounds."""
    p, C, t, w = _tiny(3)
    best = _brute(C, t, w)
    c = p.compile()
    weights = _weights(c, objective_spec(c))
    rng = np.random.default_rng(0)
    n_ub, n_eq = int((c.sense != 2).sum()), int((c.sense == 2).sum())
    for _ in range(50):
        b = dual_bound(c, weights, rng.exponential(size=n_ub), rng.normal(size=n_eq) * 5)
        assert b is None or b <= best


def _tiny_relu(seed: int, n: int = 8, h: int = 5):
    """A one-hidden-layer network on a 0/1 mask: the output must stay above a threshold."""
    rng = np.random.default_rng(seed)
    W, bias, u = rng.normal(size=(h, n)), rng.normal(size=h) * 0.5, rng.normal(size=h)
    full = u @ np.maximum(W @ np.ones(n) + bias, 0)
    t = 0.6 * full if full > 0 else full - 1.0
    p = Problem(f"relu{seed}")
    m = p.binary("m", n)
    y = relu(W @ m + bias, name="y")
    p.add(u @ y >= t)
    p.minimize(m.sum())
    X = np.array(list(itertools.product((0, 1), repeat=n)))
    out = np.maximum(X @ W.T + bias, 0) @ u
    return p, int(X[out >= t - 1e-9].sum(axis=1).min())


@pytest.mark.parametrize("seed", range(10))
def test_relu_triangle_bound_never_exceeds_the_brute_force_optimum(seed):
    p, best = _tiny_relu(seed)
    c = p.compile()
    weights = _weights(c, objective_spec(c))
    lp = lp_bound(c, weights, 5.0)
    assert lp is not None and 0 <= lp <= best, (lp, best)


def test_an_smt_time_out_reports_the_lp_bound_and_its_source():
    sol = solve(dense_problem(), backend="z3", timeout=0.5)
    assert sol.status == "feasible"
    assert sol.lower_bound is not None and 1 <= sol.lower_bound <= sol.objective
    assert "lower bound from the LP relaxation" in sol.message
