"""Exact integer scaling of rows (adversarial floats), the Exact and SCIP backends, the hybrid prover."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from smugkit.backends import get_backend, solve
from smugkit.backends.pb_rows import check_integer_point, pb_problem, scale_row
from smugkit.dsl import Problem
from smugkit.errors import ProblemError, SolverUnavailable
from tests.backends.corpus import CORPUS

ADVERSARIAL = [
    [5e-324, 1.0, -3.0],  # the smallest subnormal next to ordinary numbers
    [1e300, -1e-300, 2.5],  # huge and tiny in one row
    [0.1, 0.2, 0.7],  # non-terminating in decimal, dyadic in binary
    [2.0**-1074 * 3, 2.0**1023, -(2.0**-1022)],
    [1 / 3, -2 / 3, 1e-17],
]


@pytest.mark.parametrize("coefs", ADVERSARIAL)
@pytest.mark.parametrize("rhs", [0.3, -1e-310, 7.0, 1e200])
@pytest.mark.parametrize("sense", [0, 1, 2])
def test_scaling_is_exact(coefs: list[float], rhs: float, sense: int) -> None:
    """Coefficients are the original ones times one exact factor; no coefficient is rounded."""
    row = scale_row(coefs, rhs, sense)
    f = row.factor
    assert f > 0
    for a, q in zip(coefs, row.coefs):
        assert Fraction(q) == Fraction(a) * f  # fails if any coefficient was rounded
    bound = Fraction(rhs) * f
    if sense == 2:
        assert row.lo == row.hi and (Fraction(row.hi) == bound or math.gcd(*row.coefs) > 1)
    else:  # over integers, a.x <= floor(b) (or < b <=> <= ceil(b) - 1) keeps exactly the same points
        expect = math.floor(bound) if sense == 0 else math.ceil(bound) - 1
        assert row.lo is None and row.hi == expect


def test_scaled_rows_keep_the_same_integer_points() -> None:
    """Brute force over a 3-bit cube: the scaled problem and the float problem (in Fractions) agree."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = Problem("t")
        m = p.binary("m", 3)
        C = rng.normal(size=(2, 3)) * 10.0 ** rng.integers(-200, 200, size=(2, 3))
        t = rng.normal(size=2) * 10.0 ** rng.integers(-200, 200, size=2)
        p.add(C @ m >= t)
        c = p.compile()
        pb = pb_problem(c)
        for bits in range(8):
            x = [(bits >> i) & 1 for i in range(3)]
            ok = all(
                sum(Fraction(float(C[i, j])) * x[j] for j in range(3)) >= Fraction(float(t[i]))
                for i in range(2)
            )
            assert check_integer_point(pb, x) == ok


def _require(name: str) -> None:
    ok, reason = get_backend(name).available()
    if not ok:
        pytest.skip(reason)


def _feasible_masks(p: Problem) -> list[list[int]]:
    """Every 0/1 point of ``p`` (all columns binary) that passes its exactly scaled rows: brute force."""
    c = p.compile()
    pb = pb_problem(c)
    points = ([(b >> i) & 1 for i in range(c.n)] for b in range(1 << c.n))
    return [x for x in points if check_integer_point(pb, x)]


def _brute_optimum(p: Problem) -> int:
    """The least number of ones among `_feasible_masks`."""
    return min(sum(x) for x in _feasible_masks(p))


def test_pb_backends_name_the_problem_they_cannot_take() -> None:
    _require("exact")
    case = next(c for c in CORPUS if c.name == "real_lp_vertex")
    with pytest.raises(ProblemError, match="real-valued"):
        solve(case.build(), "exact", timeout=5)


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name in ("exact", "pyscipopt"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    for backend, extra in (("exact", "exact"), ("scip", "scip")):
        with pytest.raises(SolverUnavailable, match=rf"smugkit\[{extra}\]"):
            solve(CORPUS[0].build(), backend, timeout=5)
    if get_backend("highs").available()[0]:  # the hybrid's prover too
        with pytest.raises(SolverUnavailable, match=r"smugkit\[exact\]"):
            solve(_smug_like(0), "highs", timeout=5, certify="exact")


def _smug_like(seed: int, n: int = 14, k: int = 6) -> Problem:
    rng = np.random.default_rng(seed)
    C = np.abs(rng.normal(size=(k, n))) * rng.uniform(0.1, 1.0, size=n)
    p = Problem(f"smug{seed}")
    m = p.binary("m", n)
    p.add(C @ m >= 0.6 * C.sum(axis=1))
    p.minimize(m.sum())
    return p


@pytest.mark.parametrize("seed", range(3))
def test_exact_scip_and_hybrid_agree_with_brute_force(seed: int) -> None:
    """SMUG-shaped 14-bit problems: Exact, z3/pb, SCIP, CP-SAT and HiGHS certified by Exact find the brute-force optimum."""
    _require("exact")
    p = _smug_like(seed)
    best = _brute_optimum(p)
    # z3/pb's default 30-bit rows sum past 2**31 here unless scaled down: a case that once gave wrong optima
    sols = {"exact": solve(p, "exact", timeout=20), "z3/pb": solve(p, "z3/pb", timeout=20)}
    for other in ("scip", "cpsat"):
        if get_backend(other).available()[0]:
            sols[other] = solve(p, other, timeout=20)
    if get_backend("highs").available()[0]:
        sols["highs+exact"] = solve(p, "highs", timeout=20, certify="exact")
        assert "proven exactly by exact" in sols["highs+exact"].message
    for name, s in sols.items():
        assert s.status == "optimal" and s.objective == best, (name, s.status, s.message)


def test_exact_writes_a_veripb_proof(tmp_path) -> None:
    _require("exact")
    stem = tmp_path / "run"
    s = solve(_smug_like(0), "exact", timeout=20, proof=str(stem))
    assert s.status == "optimal"
    assert (tmp_path / "run.proof").read_text().startswith("pseudo-Boolean proof version")
    assert (tmp_path / "run.formula").read_text().startswith("min:")


def test_exact_keeps_its_budget_on_a_hard_problem() -> None:
    """A 120-bit random covering problem Exact cannot finish in 0.5 s: back within the budget with an answer."""
    _require("exact")
    rng = np.random.default_rng(0)
    n = 120
    C = rng.integers(-50, 100, size=(40, n)).astype(float)
    p = Problem("hard")
    m = p.binary("m", n)
    p.add(C @ m >= np.maximum(C, 0).sum(axis=1) / 2)
    p.minimize(m.sum())
    s = solve(p, "exact", timeout=0.5)
    assert s.status in ("feasible", "optimal")
    assert s.exact_check is True


def test_outward_rounding_is_a_relaxation() -> None:
    """Every 0/1 point of an exact row satisfies its rounded row (so UNSAT answers stay valid bounds)."""
    from smugkit.backends.pb_lowering import holds, normalise, round_outward

    rng = np.random.default_rng(5)
    for _ in range(50):
        coefs = [int(v) for v in rng.integers(-(2**40), 2**40, size=8)]
        k = int(rng.integers(-(2**41), 2**41))
        exact = normalise(list(range(8)), coefs, k)
        rough = round_outward(exact, 6)
        assert max(rough.coefs) < 2**6
        for bits in range(256):
            x = np.array([(bits >> i) & 1 for i in range(8)], dtype=float)
            if holds(exact, x):
                assert holds(rough, x)


@pytest.mark.parametrize(
    ("backend", "strategy"), [("z3/pb", "native"), ("z3/pb", "binary"), ("cvc5", "binary")]
)
def test_pb_encoding_with_coarse_rows_is_still_exact(backend: str, strategy: str) -> None:
    """8-bit outward-rounded rows need refinement; the optimum still matches brute force."""
    _require(backend)
    for seed in range(2):
        p = _smug_like(seed, n=10)
        best = _brute_optimum(p)
        s = solve(p, backend, timeout=20, strategy=strategy, encoding="pb", pb_bits=8)
        assert s.status == "optimal" and s.objective == best, s.message
        assert s.exact_check is True


def test_portfolio_records_its_winner_and_checks_names() -> None:
    from smugkit.errors import InputError

    _require("exact")
    _require("highs")
    p = _smug_like(1)
    s = solve(p, "portfolio:highs;exact", timeout=20)
    assert s.status == "optimal" and s.options["winner"] in ("highs", "exact")
    assert s.backend == "portfolio:highs;exact" and f"won by {s.options['winner']}" in s.message
    assert s.objective == solve(p, "exact", timeout=20).objective
    with pytest.raises(InputError, match="nosuch"):
        solve(p, "portfolio:highs;nosuch", timeout=5)


def test_dominance_rows_keep_an_optimum() -> None:
    """Brute force on sparse covering problems: adding every dominance row leaves the optimum unchanged."""
    from smugkit.backends.dominance import dominance_pairs
    from smugkit.backends.objective import objective_spec

    rng = np.random.default_rng(7)
    checked = 0
    for seed in range(12):
        n = 10
        C = np.abs(rng.normal(size=(4, n))) * (rng.random((4, n)) < 0.5)
        C[:, : n // 2] = np.round(C[:, : n // 2])  # some equal and dominated columns
        p = Problem(f"dom{seed}")
        m = p.binary("m", n)
        p.add(C @ m >= 0.5 * C.sum(axis=1))
        p.minimize(m.sum() + m[0])  # unequal costs too
        c = p.compile()
        spec = objective_spec(c)
        pairs = dominance_pairs(c, spec)
        feas = _feasible_masks(p)
        full = min(spec.value(np.array(x, float)) for x in feas)
        kept = [x for x in feas if all(x[i] <= x[j] for i, j in pairs)]
        assert kept and min(spec.value(np.array(x, float)) for x in kept) == full
        checked += bool(pairs)
    assert checked >= 6  # the rows were there to be tested


def _wide_row_problem(seed: int, n: int = 10) -> Problem:
    """A 0/1 problem whose exactly scaled rows need about 100-bit integers (2**-80 next to 2**20)."""
    rng = np.random.default_rng(seed)
    big = rng.uniform(0.5, 1.0, size=(3, n)) * 2.0**20
    tiny = rng.uniform(0.5, 1.0, size=(3, n)) * 2.0**-80
    C = np.where(rng.random((3, n)) < 0.3, tiny, big) * rng.choice([1.0, -0.3], size=(3, n), p=[0.8, 0.2])
    p = Problem(f"wide{seed}")
    m = p.binary("m", n)
    p.add(C @ m >= 0.6 * np.maximum(C, 0).sum(axis=1) + np.minimum(C, 0).sum(axis=1))  # all ones: feasible
    p.minimize(m.sum())
    return p


def test_portfolio_pools_the_members_bounds() -> None:
    """At a time-out, the best member bound is kept, read back exactly, and meeting the mask it proves it."""
    from types import SimpleNamespace

    from smugkit.backends.objective import objective_spec
    from smugkit.backends.portfolio import _pooled_bound, member_bound
    from smugkit.backends.search import SearchResult

    spec = objective_spec(_smug_like(0).compile())
    assert member_bound(spec, SimpleNamespace(lower_bound=7.0)) == 7
    assert member_bound(spec, SimpleNamespace(lower_bound=7.0000000001)) == 7  # to_user's float of 7
    assert member_bound(spec, SimpleNamespace(lower_bound=6.5)) == 7
    assert member_bound(spec, SimpleNamespace(lower_bound=None)) is None
    sols = {"a": SimpleNamespace(lower_bound=5.0), "b": SimpleNamespace(lower_bound=7.0)}
    res = _pooled_bound(spec, SearchResult("feasible", np.zeros(14), 8, 3, "won by a"), sols)
    assert (res.status, res.lower) == ("feasible", 7) and "lower bound 7 from b" in res.message
    res = _pooled_bound(spec, SearchResult("feasible", np.zeros(14), 7, None, "won by a"), sols)
    assert res.status == "optimal" and res.lower == 7


def test_cpsat_rows_round_outward_only_past_pb_bits() -> None:
    """Rows that fit go in exactly; wider 0/1 rows become relaxations (every exact point keeps them)."""
    from smugkit.backends.cpsat_backend import cpsat_rows

    p = Problem("small")
    m = p.binary("m", 6)
    p.add(np.array([[0.25, -1.5, 3.0, 0.125, 2.0, 1.0]]) @ m >= 2.5)  # dyadic: small exact integers
    small = pb_problem(p.compile())
    rows, relaxed = cpsat_rows(small)
    assert relaxed == 0 and [r[1] for r in rows] == [r.coefs for r in small.rows]
    for seed in range(3):
        wide = _wide_row_problem(seed)
        rows, relaxed = cpsat_rows(pb_problem(wide.compile()))
        assert relaxed >= 1
        for cols, coefs, lo, hi in rows:
            assert max(abs(a) for a in coefs) < 2**20
        for x in _feasible_masks(wide):  # fails if rounding cut off an exact point
            for cols, coefs, lo, hi in rows:
                t = sum(a * x[j] for a, j in zip(coefs, cols))
                assert (lo is None or t >= lo) and (hi is None or t <= hi)


@pytest.mark.parametrize("seed", range(3))
def test_cpsat_answers_hold_on_the_exact_rows(seed: int) -> None:
    """An optimum from rounded rows is claimed only with a model that passes the exact rows."""
    _require("cpsat")
    p = _wide_row_problem(seed)
    best = _brute_optimum(p)
    s = solve(p, "cpsat", timeout=20)
    assert "rounded outward" in s.message
    assert s.exact_check is True
    assert s.objective == best if s.status == "optimal" else s.lower_bound <= best


def test_cpsat_enumerates_next_best_masks() -> None:
    """Next-best masks by nogoods match brute force (its budget is tested in test_overshoot)."""
    _require("cpsat")
    p = _smug_like(2, n=12)
    sizes = sorted(sum(x) for x in _feasible_masks(p))
    s = solve(p, "cpsat", timeout=20, num_solutions=3)
    assert [s.objective] + [a.objective for a in s.alternatives] == sizes[:3]


def test_cpsat_agrees_with_exact_on_the_demo_instance(tmp_path) -> None:
    """The demo's first layer (57-bit exact rows): CP-SAT given those integers claimed 35 optimal; the optimum
    is 34. Rounded to its default 20 bits it must agree with Exact; more than 30 bits is refused."""
    from smugkit.bench.runner import prepare
    from smugkit.bench.suites import InstanceSpec
    from smugkit.errors import InputError

    _require("cpsat")
    _require("exact")
    p = prepare(InstanceSpec("digits_cnn28", 0, 100, 0.5, 2), tmp_path).encoded.problem
    ref = solve(p, "exact", timeout=30)
    s = solve(p, "cpsat", timeout=30)
    assert ref.status == "optimal" and s.status == "optimal", (ref.message, s.message)
    assert s.objective == ref.objective and s.exact_check is True
    with pytest.raises(InputError, match="pb_bits"):
        solve(p, "cpsat", timeout=5, pb_bits=40)


def test_cpsat_crash_is_a_status(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that dies leaves the incumbent and a message naming the crash, not an exception."""
    import smugkit.backends.cpsat_backend as cb

    _require("cpsat")
    dying = tmp_path / "dying.py"
    dying.write_text("import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)\n")
    monkeypatch.setattr(cb, "WORKER", dying)
    s = solve(_smug_like(0), "cpsat", timeout=10)
    assert s.status == "feasible" and s.exact_check is True
    assert "crashed (exit 3): boom" in s.message


def test_cpsat_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ortools" else real(name, *a)
    )
    with pytest.raises(SolverUnavailable, match=r"smugkit\[cpsat\]"):
        solve(_smug_like(0), "cpsat", timeout=5)
