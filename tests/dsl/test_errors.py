"""Every bad-input path raises a typed error that names the shapes or names involved."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from smugkit.backends import get_backend, solve
from smugkit.dsl import Problem, Var, expand, relu
from smugkit.errors import InputError, ProblemError, SolverUnavailable


@pytest.fixture
def p():
    return Problem("bad")


def test_shape_mismatch_in_addition_names_shapes(p) -> None:
    x, y = p.real("x", 3), p.real("y", 4)
    with pytest.raises(ProblemError, match=r"\(3,\).*\(4,\)"):
        x + y


def test_matrix_product_mismatch_names_shapes(p) -> None:
    x = p.real("x", 3)
    with pytest.raises(ProblemError, match=r"\(2, 4\).*\(3,\)"):
        np.ones((2, 4)) @ x
    with pytest.raises(ProblemError, match=r"\(2, 4\)"):
        sp.csr_matrix(np.ones((2, 4))) @ x
    with pytest.raises(ProblemError, match="1-D"):
        np.ones((2, 2)) @ p.real("z", (2, 2))


def test_elementwise_and_constraint_mismatch(p) -> None:
    x = p.real("x", 3)
    with pytest.raises(ProblemError, match=r"\(2,\).*\(3,\)"):
        np.ones(2) * x
    with pytest.raises(ProblemError, match="do not broadcast"):
        _ = x >= np.ones(4)


def test_nonlinear_products_rejected(p) -> None:
    x = p.real("x", 3)
    with pytest.raises(ProblemError, match="not linear"):
        x * x
    with pytest.raises(ProblemError, match="not linear"):
        x / x


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coefficients(p, bad) -> None:
    x = p.real("x", 3)
    with pytest.raises(ProblemError, match="non-finite"):
        np.array([1.0, bad, 2.0]) * x
    with pytest.raises(ProblemError, match="non-finite"):
        np.array([[1.0, bad, 2.0]]) @ x
    with pytest.raises(ProblemError, match="non-finite"):
        p.add(x <= bad)
    with pytest.raises(ProblemError, match="non-finite"):
        sp.csr_matrix(np.array([[1.0, bad, 2.0]])) @ x


def test_empty_problem(p) -> None:
    with pytest.raises(ProblemError, match="empty"):
        p.compile()
    p.real("x")
    with pytest.raises(ProblemError, match="empty"):
        solve(p, "z3")


def test_objective_over_unknown_variable(p) -> None:
    p.real("x")
    stranger = Var("y", 2, "binary")
    with pytest.raises(ProblemError, match="unknown variable 'y'"):
        p.minimize(stranger.sum())
    with pytest.raises(ProblemError, match="unknown variable 'y'"):
        p.add(stranger >= 0)


def test_objective_must_be_scalar(p) -> None:
    x = p.real("x", 3)
    with pytest.raises(ProblemError, match=r"shape \(3,\)"):
        p.minimize(x)


def test_variable_declarations(p) -> None:
    p.real("x")
    with pytest.raises(ProblemError, match="already used"):
        p.binary("x")
    with pytest.raises(ProblemError, match="identifier"):
        p.real("bad name")
    with pytest.raises(ProblemError, match="domain"):
        p.var("z", 2, "complex")
    with pytest.raises(ProblemError, match="empty or negative"):
        p.real("w", (0, 3))
    with pytest.raises(ProblemError, match="does not broadcast"):
        p.real("v", 3, lb=np.zeros(2))


def test_bad_indexing_and_reshape(p) -> None:
    x = p.real("x", 3)
    with pytest.raises(ProblemError, match=r"shape \(3,\)"):
        x[5]
    with pytest.raises(ProblemError, match="reshape"):
        x.reshape(2, 2)
    with pytest.raises(ProblemError, match="factors"):
        expand(x, (2, 2))


def test_truth_value_of_constraints_is_an_error(p) -> None:
    x = p.real("x")
    with pytest.raises(ProblemError):
        bool(x >= 1)
    with pytest.raises(ProblemError):
        p.add(True)


def test_relu_bad_bounds(p) -> None:
    x = p.real("x", 2)
    with pytest.raises(ProblemError, match="do not fit"):
        relu(x, bounds=(np.zeros(3), np.ones(3)))


def test_unknown_backend_and_options() -> None:
    p = Problem()
    m = p.binary("m", 2)
    p.add(m.sum() >= 1)
    with pytest.raises(SolverUnavailable, match="unknown backend 'gurobi'.*z3"):
        solve(p, "gurobi")
    with pytest.raises(SolverUnavailable):
        get_backend("nope")
    with pytest.raises(InputError, match="strategy"):
        solve(p, "z3", strategy="magic")
    with pytest.raises(InputError, match="unknown option"):
        solve(p, "z3", colour="blue")
    with pytest.raises(InputError, match="timeout"):
        solve(p, "z3", timeout=0)
    with pytest.raises(InputError, match="num_solutions"):
        solve(p, "z3", num_solutions=0)
    with pytest.raises(ProblemError, match="Problem"):
        solve("not a problem", "z3")


def test_missing_package_names_the_extra(monkeypatch) -> None:
    import builtins

    from smugkit.backends.highs_backend import HighsBackend

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "highspy":
            raise ImportError("No module named 'highspy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(SolverUnavailable, match=r"smugkit\[milp\]"):
        HighsBackend().version()
    ok, reason = HighsBackend().available()
    assert not ok and "milp" in reason


def test_relu_without_bounds_is_a_problem_error_for_milp() -> None:
    pytest.importorskip("highspy")
    p = Problem()
    x = p.real("x")
    h = relu(x - 1)
    p.add(h >= 1)
    with pytest.raises(ProblemError, match="finite pre-activation bounds"):
        solve(p, "highs")


def test_evaluate_rejects_bad_assignments() -> None:
    p = Problem()
    m = p.binary("m", 3)
    p.add(m.sum() >= 1)
    with pytest.raises(ProblemError, match="misses variable 'm'"):
        p.evaluate({})
    with pytest.raises(ProblemError, match=r"shape \(2,\)"):
        p.evaluate({"m": np.ones(2)})
    with pytest.raises(ProblemError, match="non-finite"):
        p.evaluate({"m": np.array([np.nan, 1, 1])})
