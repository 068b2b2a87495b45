"""solve(): strategies and encodings, incumbents, budgets, enumeration, certificates, failures as statuses."""

from __future__ import annotations

import time

import numpy as np
import pytest

import smugkit.backends as B
from smugkit.backends import available_backends, describe_backends, get_backend, solve
from smugkit.dsl import Problem
from smugkit.errors import InputError
from tests.backends.corpus import CORPUS
from tests.backends.test_conformance import require

SMUG = next(c for c in CORPUS if c.name == "smug_s1_n8_k6_geq")
TENTHS = next(c for c in CORPUS if c.name == "exact_tenths_leq_max")


def hard_problem(n: int = 150, k: int = 80, seed: int = 0) -> Problem:
    """A dense SMUG-shaped 0/1 problem that SMT search cannot finish in a second."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(k, n)) * rng.uniform(0.1, 1, size=n)
    C[C.sum(axis=1) < 0] *= -1
    p = Problem("hard")
    m = p.binary("m", n)
    p.add(C @ m >= 0.8 * C.sum(axis=1))
    p.minimize(m.sum())
    return p


def test_z3_refuses_uninterruptible_push() -> None:
    from smugkit.errors import InputError

    with pytest.raises(InputError, match="bound_mode"):
        solve(SMUG.build(), "z3", bound_mode="push")


@pytest.mark.parametrize(
    "backend,strategy,mode",
    [
        (b, s, m)
        for b in ("z3", "cvc5", "pysmt:z3", "pysmt:cvc5")
        for s in ("binary", "linear-up", "linear-down")
        for m in ("fresh", "push", "assume")
        if not (b.endswith("z3") and m == "push")
    ],
)
def test_every_strategy_and_bound_mode_agrees(backend, strategy, mode) -> None:
    require(backend)
    sol = solve(SMUG.build(), backend, timeout=30, strategy=strategy, bound_mode=mode)
    assert sol.status == "optimal" and sol.objective == float(SMUG.objective)
    assert sol.strategy == strategy and sol.options["bound_mode"] == mode and sol.solver_calls >= 1


@pytest.mark.parametrize("backend", ["z3", "smtlib"])
def test_native_optimisation(backend) -> None:
    require(backend)
    sol = solve(SMUG.build(), backend, timeout=30, strategy="native")
    assert sol.status == "optimal" and sol.objective == float(SMUG.objective)


@pytest.mark.parametrize("backend", ["z3", "cvc5", "smtlib"])
def test_bool_encoding(backend) -> None:
    require(backend)
    sol = solve(SMUG.build(), backend, timeout=30, binary_as="bool")
    assert sol.status == "optimal" and sol.objective == float(SMUG.objective)


@pytest.mark.parametrize("backend", ["z3", "cvc5", "highs", "smtlib"])
def test_incumbent_warm_start(backend) -> None:
    require(backend)
    p = SMUG.build()
    sol = solve(p, backend, timeout=30, incumbent={"m": np.ones(8)})
    assert sol.status == "optimal" and sol.objective == float(SMUG.objective)
    assert "warm-started" in sol.message
    bad = solve(p, backend, timeout=30, incumbent={"m": np.zeros(8)})
    assert bad.status == "optimal" and "incumbent ignored" in bad.message


def test_incumbent_saves_calls() -> None:
    p = SMUG.build()
    cold = solve(p, "z3", timeout=30, strategy="linear-down")
    best = cold.assignment
    warm = solve(p, "z3", timeout=30, strategy="linear-down", incumbent=best)
    assert warm.status == "optimal" and warm.solver_calls == 1 < cold.solver_calls


@pytest.mark.parametrize("backend", ["z3", "cvc5", "pysmt:z3", "smtlib"])
def test_budget_is_enforced(backend) -> None:
    require(backend)
    t0 = time.perf_counter()
    sol = solve(hard_problem(), backend, timeout=1.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 15, (
        elapsed
    )  # the budget stops a search that runs for minutes; slack for a loaded machine
    assert sol.status in ("feasible", "unknown")
    if sol.status == "feasible":
        assert sol.objective >= (sol.lower_bound or 0)


def test_highs_exactness_repair_and_certificate() -> None:
    require("highs")
    plain = solve(TENTHS.build(), "highs", timeout=30)
    assert plain.objective == 1.0 and plain.exact_check is True  # never the float-only answer 2
    for prover in ("z3", "cvc5", "pysmt:z3"):
        require(prover)
        proven = solve(TENTHS.build(), "highs", timeout=30, certify=prover)
        assert proven.status == "optimal" and f"proven exactly by {prover}" in proven.message
        smug = solve(SMUG.build(), "highs", timeout=30, certify=prover)
        assert smug.status == "optimal" and smug.lower_bound == smug.objective
    with pytest.raises(InputError, match="certify"):
        solve(SMUG.build(), "highs", timeout=30, certify="highs")


def test_feasibility_problem_status() -> None:
    p = Problem()
    m = p.binary("m", 3)
    p.add(m.sum() == 2)
    for name in available_backends():
        sol = solve(p, name, timeout=30)
        assert sol.status == "feasible" and int(sol["m"].sum()) == 2, name


def test_smtlib_writes_file_and_survives_bad_commands(tmp_path) -> None:
    path = tmp_path / "p.smt2"
    sol = solve(SMUG.build(), "smtlib", command=None, write=str(path), strategy="native")
    assert sol.status == "unknown" and "written" in sol.message
    assert "(minimize" in path.read_text() and "(check-sat)" in path.read_text()
    broken = solve(SMUG.build(), "smtlib", command=["/nonexistent/solver"], timeout=5)
    # the greedy starting mask is still returned, as merely feasible
    assert broken.status == "feasible" and "failed to start" in broken.message and broken.exact_check
    liar = solve(SMUG.build(), "smtlib", command=["echo", "banana"], timeout=5)
    assert liar.status == "feasible" and "solver said" in liar.message


def test_solver_crash_becomes_a_status(monkeypatch) -> None:
    backend = get_backend("z3")

    def boom(*args, **kwargs):
        raise RuntimeError("segfault-like failure")

    monkeypatch.setattr(backend, "make_engine", boom)
    sol = solve(SMUG.build(), "z3", timeout=5, encoding="lia")  # the search path, which builds an engine
    assert sol.status == "unknown" and "segfault-like" in sol.message


def test_solver_exception_inside_check_is_unknown(monkeypatch) -> None:
    from smugkit.backends import z3_backend

    monkeypatch.setattr(z3_backend.Z3Engine, "check", lambda self, a, s: "unknown")
    sol = solve(SMUG.build(), "z3", timeout=5, encoding="lia")
    assert sol.status == "feasible" and "greedy" in sol.message  # only the starting mask, unproven
    p = Problem()
    r = p.real("r", 2)
    p.add(r.sum() >= 1)
    p.minimize(r[0])
    sol = solve(p, "z3", timeout=5, strategy="binary")
    assert sol.status == "unknown" and sol.assignment is None


def test_registry_rows_and_default() -> None:
    rows = describe_backends()
    names = [r["name"] for r in rows]
    assert {"z3", "cvc5", "pysmt:z3", "pysmt:cvc5", "highs", "smtlib"} <= set(names)
    for r in rows:
        assert set(r) >= {"name", "available", "version", "capabilities", "reason"}
        assert (r["reason"] is None) == r["available"]
    assert "z3" in available_backends()
    assert B.DEFAULT_BACKEND in ("highs", "z3")
    sol = solve(SMUG.build(), timeout=30)
    assert sol.backend == B.DEFAULT_BACKEND and sol.status in ("optimal", "feasible")


def test_solution_records_provenance() -> None:
    sol = solve(SMUG.build(), "z3", timeout=30, seed=5)
    d = sol.to_dict()
    assert d["backend"] == "z3" and d["seed"] == 5 and d["options"]["timeout"] == 30
    assert d["build_time"] >= 0 and d["solve_time"] > 0 and d["backend_version"]
    assert B.Solution.from_dict(d).objective == sol.objective


def test_maximisation_bound_is_an_upper_bound() -> None:
    case = next(c for c in CORPUS if c.name == "knapsack_maximize")
    sol = solve(case.build(), "z3", timeout=30)
    assert sol.status == "optimal" and sol.objective == sol.lower_bound == float(case.objective)


def test_mask_incumbent_for_relu_problem_is_completed_exactly() -> None:
    case = next(c for c in CORPUS if c.name.startswith("relu_s12"))
    sol = solve(case.build(), "z3", timeout=30, incumbent={"m": np.ones(6)})
    assert sol.status == "optimal" and sol.objective == float(case.objective)
    assert "warm-started from incumbent" in sol.message


@pytest.mark.parametrize("domain", ["bool", "binary"])
def test_fixed_bits_are_respected_by_every_backend(domain) -> None:
    # a 0/1 variable whose upper bound is 0 (or lower bound 1) is fixed, also when it lowers to a Bool:
    # ignoring the fixes would give b = (0, 1, 0, 0) with objective 1 instead of (0, 0, 1, 1) with 6
    p = Problem()
    b = p.var("b", 4, domain, lb=[0, 0, 1, 0], ub=[1, 0, 1, 1])
    p.add(b[1] + b[3] >= 1)
    p.minimize(b[1] + b[2] + 5 * b[3] + b[0])
    for name in available_backends():
        sol = solve(p, name, timeout=20)
        assert sol.status == "optimal" and sol.objective == 6, (name, sol.status, sol.objective)
        assert sol["b"].tolist() == [0, 0, 1, 1], name
    if domain == "binary":
        sol = solve(p, "z3", timeout=20, binary_as="bool")
        assert sol.objective == 6 and sol["b"].tolist() == [0, 0, 1, 1]


def test_z3_checks_in_process_or_isolated_agree() -> None:
    require("z3")
    forked = solve(SMUG.build(), "z3", timeout=30)
    inline = solve(SMUG.build(), "z3", timeout=30, isolate=False)
    assert forked.status == inline.status == "optimal" and forked.objective == inline.objective
    assert forked.options.get("isolate", True) and inline.options["isolate"] is False
    with pytest.raises(InputError, match="isolate"):
        solve(SMUG.build(), "z3", timeout=30, isolate="yes")
