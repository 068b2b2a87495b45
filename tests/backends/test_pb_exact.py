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
    """SMUG-shaped 14-bit problems: Exact, z3/pb, SCIP and HiGHS certified by Exact find the brute-force optimum."""
    _require("exact")
    p = _smug_like(seed)
    c = p.compile()
    pb = pb_problem(c)
    best = min(
        (b).bit_count()
        for b in range(1 << c.n)
        if check_integer_point(pb, [(b >> i) & 1 for i in range(c.n)])
    )
    # z3/pb's default 30-bit rows sum past 2**31 here unless scaled down: a case that once gave wrong optima
    sols = {"exact": solve(p, "exact", timeout=20), "z3/pb": solve(p, "z3/pb", timeout=20)}
    if get_backend("scip").available()[0]:
        sols["scip"] = solve(p, "scip", timeout=20)
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
        c = p.compile()
        pb = pb_problem(c)
        best = min(
            b.bit_count()
            for b in range(1 << c.n)
            if check_integer_point(pb, [(b >> i) & 1 for i in range(c.n)])
        )
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
        pb = pb_problem(c)
        pts = [[(b >> i) & 1 for i in range(n)] for b in range(1 << n)]
        feas = [x for x in pts if check_integer_point(pb, x)]
        full = min(spec.value(np.array(x, float)) for x in feas)
        kept = [x for x in feas if all(x[i] <= x[j] for i, j in pairs)]
        assert kept and min(spec.value(np.array(x, float)) for x in kept) == full
        checked += bool(pairs)
    assert checked >= 6  # the rows were there to be tested
