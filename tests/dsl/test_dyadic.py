"""Exact integer arithmetic on dyadic floats equals Fractions, and the exact re-check catches what floats miss."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp

from smugkit.dsl import Problem
from smugkit.dsl.dyadic import exact_dot, exact_residuals, split

SCALES = np.array([1.0, 1e-300, 1e300, 1e-8, 2.0**-1074])


def _fraction_dot(a, x, const=0.0) -> Fraction:
    return Fraction(const) + sum(Fraction(float(p)) * Fraction(float(q)) for p, q in zip(a, x))


def test_split_is_exact_including_subnormals_and_zero():
    v = np.array([0.0, -0.0, 1.5, -3.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1])
    m, e = split(v)
    assert all(
        Fraction(int(mi)) * Fraction(2) ** int(ei) == Fraction(float(vi)) for mi, ei, vi in zip(m, e, v)
    )


@pytest.mark.parametrize("seed", range(4))
def test_exact_dot_equals_fractions_on_tiny_huge_and_subnormal_values(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 30))
        a = rng.standard_normal(n) * SCALES[rng.integers(0, SCALES.size, n)]
        x = rng.standard_normal(n) * np.array([1.0, 1e-200, 1e200, 3.0])[rng.integers(0, 4, n)]
        x[rng.random(n) < 0.2] = 0.0
        c = float(rng.standard_normal())
        assert exact_dot(a, x, c) == _fraction_dot(a, x, c)


def test_exact_residuals_equal_fractions_row_by_row():
    rng = np.random.default_rng(7)
    A = sp.random(60, 90, density=0.1, random_state=3, format="csr")
    A.data = rng.standard_normal(A.nnz) * 10.0 ** rng.integers(-250, 250, A.nnz)
    x, b = rng.standard_normal(90), rng.standard_normal(60)
    rows = np.array([0, 5, 7, 59, 5])
    got = exact_residuals(A, b, x, rows)
    for r, q in zip(rows.tolist(), got):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        assert q == _fraction_dot(A.data[lo:hi], x[A.indices[lo:hi]], -b[r])


def test_cancellation_at_the_rounding_edge():
    # 1e16 + 1 - 1e16 is 0 in floats but 1 exactly (as the rows below need)
    a = np.array([1e16, 1.0, -1e16])
    assert float(a @ np.ones(3)) == 0.0 and exact_dot(a, np.ones(3)) == 1


def _edge_problem(rhs: float) -> Problem:
    """``1e16 m0 + m1 - 1e16 m2 >= rhs`` over bits; with m = 1 the exact left side is 1."""
    p = Problem("edge")
    m = p.binary("m", 3)
    p.add(sp.csr_matrix(np.array([[1e16, 1.0, -1e16]])) @ m >= rhs)
    p.minimize(m.sum())
    return p


def test_exact_recheck_catches_a_borderline_row_that_floats_accept():
    ones = {"m": np.ones(3)}
    # exact value 1 >= 1.5 is false; floats see 0 (or 2) and a tolerance would blur it
    bad = _edge_problem(1.5)
    assert not bad.evaluate(ones, exact=True).feasible
    good = _edge_problem(0.75)
    assert good.evaluate(ones, exact=True).feasible
    assert not good.evaluate(ones).feasible  # floats round the left side to 0 and reject a valid mask
    ev = good.evaluate(ones, exact=True)
    assert ev.objective_exact == 3


def test_exact_and_float_checks_agree_on_safe_rows():
    rng = np.random.default_rng(1)
    p = Problem("safe")
    m = p.binary("m", 40)
    A = rng.standard_normal((25, 40))
    bits = (rng.random(40) < 0.5).astype(float)
    rhs = A @ bits - np.abs(rng.standard_normal(25)) - 0.1  # every row holds by at least 0.1
    p.add(sp.csr_matrix(A) @ m >= rhs)
    p.minimize(m.sum())
    for trial in range(20):
        cand = bits if trial == 0 else (rng.random(40) < 0.5).astype(float)
        assert p.evaluate({"m": cand}, exact=True).feasible == p.evaluate({"m": cand}).feasible


def test_exact_completion_equals_a_fraction_reference():
    from smugkit.attribution.smug.full import full_network_problem
    from smugkit.dsl.evaluate import exact_completion
    from smugkit.frontends import load_model
    from smugkit.units import detect_layout, make_windows
    from tests.attribution.helpers import tiny_mlp

    net = load_model(tiny_mlp(seed=2, n_in=9, hidden=6))
    x = np.random.default_rng(3).random(net.input.shape) * 1e-3 + 1e3  # wide exponent range
    wins = make_windows(detect_layout(net, "flat"), 1)
    p, _ = full_network_problem(net, x, 0, wins, 0.0, 0.0)
    c = p.compile()
    bits = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1], float)
    got = exact_completion(c, {"m": bits, **{v.name: np.zeros(v.shape) for v in c.variables if v.defined}})
    ref = [
        Fraction(float(v))
        for v in c.join({"m": bits, **{v.name: np.zeros(v.shape) for v in c.variables if v.defined}})
    ]
    for rl in c.relus:
        for i, col in enumerate(rl.out.tolist()):
            lo, hi = rl.R.indptr[i], rl.R.indptr[i + 1]
            a = Fraction(float(rl.r[i])) + sum(
                Fraction(float(w)) * ref[j] for w, j in zip(rl.R.data[lo:hi], rl.R.indices[lo:hi])
            )
            ref[col] = max(a, Fraction(0))
    for v in c.variables:
        o = c.offsets[v.name]
        assert list(np.ravel(got[v.name])) == ref[o : o + v.size]
    assert p.evaluate(got, exact=True).feasible == p.evaluate(got).feasible
