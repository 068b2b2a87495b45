"""The ``auto`` prover: bnb on a small LP gap, Exact on a wide one, and exact answers either way."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smugkit.backends import auto_prover, get_backend, solve
from smugkit.backends.auto_prover import AutoProver
from smugkit.backends.objective import objective_spec
from smugkit.backends.pb_rows import check_integer_point, pb_problem
from smugkit.dsl import Problem

_HAS_EXACT = get_backend("exact").available()[0]


def _complete_cover(n: int) -> Problem:
    """Vertex cover of the complete graph K_n: LP n/2 (every m = 1/2), optimum n-1: a wide LP gap."""
    p = Problem(f"k{n}")
    m = p.binary("m", n)
    for i, j in itertools.combinations(range(n), 2):
        p.add(m[i] + m[j] >= 1)
    p.minimize(m.sum())
    return p


def _tight(n: int = 10) -> Problem:
    """``sum m >= 4`` and two pairs: the LP is already integral (gap 0)."""
    p = Problem("tight")
    m = p.binary("m", n)
    p.add(m.sum() >= 4)
    p.add(m[0] + m[1] >= 1)
    p.add(m[2] + 2 * m[3] >= 2)
    p.minimize(m.sum())
    return p


def _optimum(p: Problem) -> int:
    c = p.compile()
    pb, spec = pb_problem(c), objective_spec(c)
    pts = [x for x in itertools.product((0, 1), repeat=c.n) if check_integer_point(pb, list(x))]
    return min(int(spec.value(np.array(x, dtype=float))) for x in pts)


class _Missing:
    """An Exact that does not load here."""

    def available(self) -> tuple[bool, str]:
        return False, "no exact"


def test_small_gap_goes_to_bnb_and_wide_gap_to_exact() -> None:
    a = AutoProver()
    c = _tight().compile()
    assert a.choose(c, objective_spec(c), 3, 10)[0] == "bnb"
    if _HAS_EXACT:
        c = _complete_cover(12).compile()  # K* = 11, LP 6: gap 5
        pick, why = a.choose(c, objective_spec(c), 10, 10)
        assert pick == "exact" and "LP gap 5" in why


def test_without_exact_everything_goes_to_bnb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto_prover, "_exact", lambda: _Missing())
    c = _complete_cover(8).compile()
    pick, why = AutoProver().choose(c, objective_spec(c), 6, 10)
    assert pick == "bnb" and "not installed" in why
    ans, _ = AutoProver().prove_bound(c, objective_spec(c), 6, 30)  # K* = 7: bnb refutes 6 anyway
    assert ans == "unsat"


@pytest.mark.parametrize("make", [lambda: _complete_cover(7), _tight])
@pytest.mark.parametrize("gap", [-(10**9), 10**9])  # force Exact, force bnb
def test_answers_at_k_minus_one_and_k_agree_with_enumeration(make, gap: int, monkeypatch) -> None:
    if gap < 0 and not _HAS_EXACT:
        pytest.skip("exact is not installed")
    monkeypatch.setattr(auto_prover, "GAP", gap)
    p = make()
    k = _optimum(p)
    c = p.compile()
    spec = objective_spec(c)
    a = AutoProver()
    assert a.prove_bound(c, spec, k - 1, 30)[0] == "unsat"
    ans, x = a.prove_bound(c, spec, k, 30)
    assert ans in ("sat", "optimal") and spec.value(x) == k
    assert check_integer_point(pb_problem(c), [round(v) for v in x.tolist()])
    assert a.last.startswith("bnb" if gap > 0 else "exact")


def test_highs_plus_auto_names_the_chosen_prover() -> None:
    p = _complete_cover(9)
    s = solve(p, "highs+auto", timeout=30)
    assert s.status == "optimal" and round(s.objective) == 8, s.message
    assert "proven exactly by auto -> " in s.message and "LP gap" in s.message
