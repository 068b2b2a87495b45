"""The exact LP branch and bound: optima against brute force, its exact bounds against adversarial duals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smugkit.backends import get_backend, solve
from smugkit.backends.bnb import BranchAndBound, IntRows, int_rows
from smugkit.backends.bnb_prover import BnbProver, acceptor
from smugkit.backends.objective import objective_spec
from smugkit.backends.pb_rows import check_integer_point, pb_problem
from smugkit.backends.registry import prover_names
from smugkit.dsl import Problem
from smugkit.errors import InputError, SolverUnavailable


def _mixed(seed: int, n: int = 10, k: int = 5) -> Problem:
    """Rows of mixed signs and magnitudes (2**-40 .. 2**40), some <=, a signed objective."""
    rng = np.random.default_rng(seed)
    p = Problem(f"mixed{seed}")
    m = p.binary("m", n)
    C = rng.normal(size=(k, n)) * 2.0 ** rng.integers(-40, 40, size=(k, 1)) * rng.uniform(0.5, 2, size=(k, n))
    x0 = rng.integers(0, 2, size=n)
    slack = np.abs(C).sum(axis=1) * rng.uniform(0.0, 0.3, size=k)
    for i in range(k):
        if i % 2:
            p.add(C[i] @ m >= float(C[i] @ x0 - slack[i]))
        else:
            p.add(C[i] @ m <= float(C[i] @ x0 + slack[i]))
    w = rng.integers(-3, 5, size=n)
    p.minimize(w @ m)
    return p


def _brute(p: Problem) -> tuple[list[np.ndarray], np.ndarray]:
    """Every exactly feasible 0/1 point, and the objective's integer coefficients per column."""
    c = p.compile()
    pb, spec = pb_problem(c), objective_spec(c)
    pts = [np.array(x) for x in itertools.product((0, 1), repeat=c.n) if check_integer_point(pb, list(x))]
    w = np.zeros(c.n, dtype=np.int64)
    w[spec.cols] = [int(a) for a in spec.coefs]
    return pts, w


def _minimise(p: Problem, bits: int, cutoff: int | None = None):
    """The search on its own (no incumbent), over rows rounded outward to ``bits`` bits."""
    c = p.compile()
    pb, spec = pb_problem(c), objective_spec(c)
    rows = int_rows(pb, spec.cols, [int(a) for a in spec.coefs], bits)
    return BranchAndBound(rows, acceptor(pb)).solve(1e18, cutoff=cutoff), c, spec


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("bits", [4, 20])
def test_optimum_and_prover_match_brute_force(seed: int, bits: int) -> None:
    """The optimum (coarse 4-bit rows: the LP is a loose relaxation, models re-checked) and the prover's
    answers at K*-1 and K* agree with enumeration."""
    p = _mixed(seed)
    pts, w = _brute(p)
    r, c, spec = _minimise(p, bits)
    if not pts:
        assert r.state == "infeasible"
        return
    best = min(int(w @ x) for x in pts)
    assert r.state == "optimal" and r.value == best == int(w @ r.x) and r.low == best
    assert check_integer_point(pb_problem(c), r.x.tolist())
    b = BnbProver()
    assert b.prove_bound(c, spec, best - 1, 30)[0] == "unsat"
    ans, y = b.prove_bound(c, spec, best, 30)
    assert (
        ans == "optimal" and spec.value(y) == best and check_integer_point(pb_problem(c), np.rint(y).tolist())
    )


def _rows(seed: int, n: int = 8, k: int = 4) -> IntRows:
    rng = np.random.default_rng(seed)
    A = rng.integers(-50, 50, size=(k, n))
    b = (A @ rng.integers(0, 2, size=n)) - rng.integers(0, 20, size=k)
    import scipy.sparse as sp

    return IntRows(sp.csr_matrix(A.astype(np.int64)), b.astype(np.int64), rng.integers(-5, 6, size=n))


def _box_min(rows: IntRows, lo: np.ndarray, hi: np.ndarray) -> float | None:
    """Least c.x over the 0/1 points of the box that satisfy the rows (None: no such point)."""
    A = rows.A.toarray()
    vals = [
        int(rows.c @ x)
        for x in map(np.array, itertools.product((0, 1), repeat=len(lo)))
        if np.all(x >= lo) and np.all(x <= hi) and np.all(A @ x >= rows.b)
    ]
    return min(vals) if vals else None


ADVERSARIAL_DUALS = [
    lambda r, k: r.uniform(0, 3, k),
    lambda r, k: r.uniform(-1, 1, k),  # negative entries are clipped to 0
    lambda r, k: 10.0 ** r.integers(-300, 300, k),  # huge and tiny together: no grid fits, y = 0 is used
    lambda r, k: np.full(k, 1e-310),  # subnormal
    lambda r, k: np.resize([np.nan, np.inf, -np.inf, 1.0], k),
    lambda r, k: r.uniform(0, 1, k) * 2.0**55,
]


def _boxes(rng: np.random.Generator, count: int, fixed: float):
    """``count`` random sub-boxes of {0,1}^8: each column fixed at 0 or 1 with probability ``fixed``."""
    for _ in range(count):
        lo = (rng.uniform(size=8) < fixed).astype(np.int64)
        yield lo, np.maximum(lo, (rng.uniform(size=8) > fixed).astype(np.int64))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("make", ADVERSARIAL_DUALS)
def test_lagrangian_never_exceeds_the_box_minimum(seed: int, make) -> None:
    """For any duals, the exact bound is <= the true minimum over every box (and never overflows)."""
    rows = _rows(seed)
    bb = BranchAndBound(rows, lambda x: True)
    rng = np.random.default_rng(seed)
    for lo, hi in _boxes(rng, 8, 0.2):
        val, d, s = bb.lagrangian(make(rng, rows.A.shape[0]), lo, hi)
        truth = _box_min(rows, lo, hi)
        if truth is not None:
            assert val <= truth * (1 << s)
        assert d.dtype == np.int64


@pytest.mark.parametrize("seed", range(6))
def test_farkas_never_refutes_a_feasible_box(seed: int) -> None:
    """Random and adversarial rays: a box with a feasible point is never declared infeasible."""
    rows = _rows(seed)
    bb = BranchAndBound(rows, lambda x: True)
    rng = np.random.default_rng(seed)
    for lo, hi in _boxes(rng, 20, 0.3):
        feasible = _box_min(rows, lo, hi) is not None
        for make in ADVERSARIAL_DUALS:
            ray = make(rng, rows.A.shape[0])
            assert not (feasible and bb.farkas(ray, lo, hi))


def test_an_infeasible_problem_is_refuted_by_a_checked_ray() -> None:
    p = Problem("nope")
    m = p.binary("m", 6)
    p.add(m[0] + m[1] + m[2] >= 2)
    p.add(m[0] + m[1] + m[2] <= 1)
    p.minimize(m.sum())
    r = _minimise(p, 20)[0]
    assert r.state == "infeasible" and r.nodes == 1  # the root's ray, checked exactly


def test_int_rows_drop_rows_that_always_hold_and_keep_impossible_ones() -> None:
    p = Problem("rows")
    m = p.binary("m", 3)
    p.add(m[0] + m[1] >= -5)  # always holds
    p.add(2 * m[0] + m[2] >= 1)
    p.minimize(m.sum())
    assert int_rows(pb_problem(p.compile()), np.zeros(0, np.int64), [], 20).A.shape[0] == 1
    q = Problem("impossible")
    z = q.binary("z", 2)
    q.add(z[0] + z[1] >= 3)
    q.minimize(z.sum())
    assert _minimise(q, 20)[0].state == "infeasible"


def test_huge_objective_is_refused_not_overflowed() -> None:
    p = Problem("huge")
    m = p.binary("m", 2)
    p.add(m[0] + m[1] >= 1)
    p.minimize(2.0**45 * m[0] + m[1])
    c = p.compile()
    ans, why = BnbProver().prove_bound(c, objective_spec(c), 0, 5)
    assert ans == "unknown" and "objective" in why


def test_highs_certified_by_bnb() -> None:
    """The hybrid: HiGHS finds K*, bnb refutes K*-1 in exact arithmetic."""
    p = _mixed(4)
    pts, w = _brute(p)
    s = solve(p, "highs+bnb", timeout=30)
    assert s.options["certify"] == "bnb" and s.status == "optimal" and "proven exactly by bnb" in s.message, (
        s.message
    )
    assert round(s.objective) == min(int(w @ x) for x in pts)


def test_bnb_is_a_prover_not_a_backend() -> None:
    """``bnb`` certifies (``highs+bnb``), and alone it is refused with the reason."""
    assert "bnb" in prover_names()
    with pytest.raises(SolverUnavailable, match="unknown backend 'bnb'"):
        solve(_mixed(0), "bnb", timeout=5)
    with pytest.raises(SolverUnavailable, match="takes no prover"):
        get_backend("exact+bnb")
    with pytest.raises(InputError, match="certify"):
        solve(_mixed(0), "highs", timeout=5, certify="nope")
    with pytest.raises(InputError, match="contradicts"):
        solve(_mixed(0), "highs+bnb", timeout=5, certify="exact")


def test_bnb_refuses_wider_integers() -> None:
    p = Problem("wide")
    v = p.integer("v", 2, 0, 3)
    p.add(v[0] + v[1] >= 2)
    p.minimize(v.sum())
    assert "0/1" in BnbProver().unsupported(p.compile())


def test_farkas_at_the_edge() -> None:
    """``x0 + x1 >= 2`` holds only at (1, 1): the ray refutes the box once x1 is fixed at 0, not before."""
    import scipy.sparse as sp

    rows = IntRows(sp.csr_matrix(np.array([[1, 1]], dtype=np.int64)), np.array([2]), np.array([1, 1]))
    bb = BranchAndBound(rows, lambda x: True)
    ray = np.array([0.7])
    assert not bb.farkas(ray, np.array([0, 0]), np.array([1, 1]))
    assert bb.farkas(ray, np.array([0, 0]), np.array([1, 0]))
    assert bb.farkas(-ray, np.array([0, 0]), np.array([1, 0]))  # a ray of either sign


def test_a_hybrid_is_a_portfolio_member() -> None:
    p = _mixed(4)
    pts, w = _brute(p)
    s = solve(p, "portfolio:highs+bnb", timeout=30)
    assert s.status == "optimal" and s.options["winner"] == "highs+bnb", s.message
    assert round(s.objective) == min(int(w @ x) for x in pts)
    with pytest.raises(SolverUnavailable, match="takes no prover"):
        solve(p, "portfolio:z3+bnb", timeout=5)


def test_columns_fixed_by_their_bounds_stay_fixed() -> None:
    p = Problem("fixed")
    m = p.binary("m", 4)
    p.add(m[0] + m[1] + m[2] + m[3] >= 1)
    p.add(m[3] >= 1)  # the cheapest column must be on
    p.minimize(5 * m[0] + m[1] + m[2] + m[3])
    c = p.compile()
    c.lb[0] = c.ub[0] = 1.0  # as a presolve that fixes a column would leave it
    r = BranchAndBound(
        int_rows(pb_problem(c), objective_spec(c).cols, [5, 1, 1, 1], 20), acceptor(pb_problem(c))
    )
    res = r.solve(1e18)
    assert res.state == "optimal" and res.value == 6 and res.x.tolist() == [1, 0, 0, 1]
    assert res.nodes == 1  # the root LP already has column 0 at 1


@pytest.mark.parametrize("prover", ["bnb", "exact"])
def test_a_prover_that_beats_the_milp_answer_proves_its_own(prover: str) -> None:
    """Given a worse MILP answer (as at a time-out), the prover returns its better mask, proved optimal."""
    from smugkit.backends.budget import Budget
    from smugkit.backends.highs_backend import HighsBackend
    from smugkit.backends.search import SearchResult

    if not get_backend("exact").available()[0] and prover == "exact":
        pytest.skip("exact is not installed")
    p = _mixed(4)
    pts, w = _brute(p)
    worst = max(pts, key=lambda x: int(w @ x))
    c = p.compile()
    spec = objective_spec(c)
    given = SearchResult("feasible", worst.astype(float), spec.value(worst.astype(float)), None)
    res, _ = HighsBackend()._certify(c, spec, given, Budget(30), 0, prover)
    assert res.status == "optimal" and res.value == res.lower == min(int(w @ x) for x in pts), res.message
    assert "proved it optimal" in res.message
