"""Problem.evaluate: float tolerance versus exact rationals, strictness, ReLU definitions, JSON of Solution."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from smugkit.dsl import Problem, Solution, relu
from smugkit.dsl.evaluate import exact_completion


def tenths() -> Problem:
    p = Problem("tenths")
    m = p.binary("m", 2)
    p.add(np.array([0.1, 0.2]) @ m <= 0.3)
    p.maximize(m.sum())
    return p


def test_exact_mode_sees_what_floats_hide() -> None:
    p = tenths()
    both = {"m": np.array([1, 1])}
    assert p.evaluate(both, tol=1e-9).feasible  # 0.1 + 0.2 - 0.3 is 5.6e-17 in floats: within tolerance
    ev = p.evaluate(both, exact=True)
    assert not ev.feasible and "violates" in ev.violations[0]
    assert p.evaluate({"m": np.array([0, 1])}, exact=True).feasible


def test_strict_rows_and_equalities_exactly() -> None:
    p = Problem()
    x = p.real("x")
    p.add(x > 2)
    assert not p.evaluate({"x": 2.0}, exact=True).feasible
    assert p.evaluate({"x": np.nextafter(2.0, 3.0)}, exact=True).feasible
    q = Problem()
    y = q.real("y", 2)
    q.add(y.sum() == 0.3)
    assert not q.evaluate({"y": np.array([0.1, 0.2])}, exact=True).feasible
    assert (
        q.evaluate({"y": np.array([Fraction(1, 10), Fraction(1, 5)], dtype=object)}, exact=True).feasible
        is False
    )
    ok = np.array([Fraction(0.1), Fraction(0.3) - Fraction(0.1)], dtype=object)
    assert q.evaluate({"y": ok}, exact=True).feasible


def test_bounds_integrality_and_objective() -> None:
    p = Problem()
    k = p.integer("k", 2, lb=0, ub=3)
    p.add(k.sum() >= 1)
    p.minimize(k.dot([2.0, 3.0]) + 1)
    ev = p.evaluate({"k": np.array([1, 2])}, exact=True)
    assert ev.feasible and ev.objective == 9.0 and ev.objective_exact == Fraction(9)
    assert not p.evaluate({"k": np.array([1.5, 0])}).feasible
    assert not p.evaluate({"k": np.array([4, 0])}).feasible


def test_relu_definitions_checked_and_completed() -> None:
    p = Problem()
    m = p.binary("m", 2)
    h = relu(np.array([[1.0, -2.0], [0.5, 0.5]]) @ m - 0.25, name="h")
    p.add(h.sum() >= 0.5)
    p.minimize(m.sum())
    good = {"m": np.array([1, 0]), "h": np.array([0.75, 0.25])}
    assert p.evaluate(good, exact=True).feasible
    assert not p.evaluate({"m": np.array([1, 0]), "h": np.array([0.75, 0.0])}, exact=True).feasible
    done = exact_completion(p.compile(), {"m": np.array([1, 0]), "h": np.zeros(2)})
    assert list(done["h"]) == [Fraction(3, 4), Fraction(1, 4)]


def test_certified_float_path_matches_fractions_on_random_rows() -> None:
    rng = np.random.default_rng(3)
    p = Problem()
    m = p.binary("m", 40)
    C = rng.normal(size=(200, 40))
    x = rng.integers(0, 2, size=40)
    t = C @ x  # rows exactly at the float residual: the hard case for a float check
    p.add(C @ m >= t)
    ev = p.evaluate({"m": x}, exact=True)
    want = all(
        sum(Fraction(float(a)) * int(b) for a, b in zip(row, x)) >= Fraction(float(ti))
        for row, ti in zip(C, t)
    )
    assert ev.feasible == want


def test_solution_json_round_trip() -> None:
    sol = Solution(
        "optimal",
        {"m": np.array([[1, 0], [0, 1]]), "h": np.array([0.5])},
        2.0,
        2.0,
        3,
        0.1,
        0.2,
        "z3",
        "4.x",
        "binary",
        {"bound_mode": "fresh", "arr": np.arange(2)},
        7,
        "ok",
        True,
        [Solution("feasible", {"m": np.zeros((2, 2), int), "h": np.zeros(1)}, 3.0)],
    )
    back = Solution.from_dict(__import__("json").loads(sol.to_json()))
    assert back.status == "optimal" and back.objective == 2.0 and back.seed == 7
    np.testing.assert_array_equal(back["m"], sol["m"])
    assert back["m"].dtype == sol["m"].dtype and back.alternatives[0].objective == 3.0
    assert back.options["arr"] == [0, 1]
