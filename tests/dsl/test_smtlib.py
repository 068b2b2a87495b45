"""SMT-LIB output parsed back by z3 and by cvc5 gives the corpus answers (feasibility and optimum)."""

from __future__ import annotations

import numpy as np
import pytest

from smugkit.dsl import Problem
from smugkit.dsl.smtlib import SmtWriter, real_lit
from tests.backends.corpus import CORPUS

ROUND_TRIP = [
    "single_bit",
    "infeasible_count",
    "strict_sum",
    "int_equality",
    "negative_coefficients",
    "exact_tenths_geq",
    "strict_full_activation_infeasible",
    "several_optima",
    "real_strict_gap",
    "real_strict_empty",
    "smug_s3_n12_k8_strict",
    "relu_s13_4x3x2_strict",
    "relu_s20_16x5x3_win",
]
CASES = [c for c in CORPUS if c.name in ROUND_TRIP]


def scripts(problem: Problem, optimum: int | None) -> list[tuple[str, str]]:
    """(script, expected answer): the problem itself, and around a known integer optimum of a sum."""
    w = SmtWriter(problem.compile())
    base = "\n".join(["(set-logic " + w.logic + ")", *w.declarations(), *w.constraints()])
    if optimum is None:
        return [(base, "")]
    obj, scale = w.objective()
    assert scale == 1
    return [
        (base, "sat"),
        (base + f"\n(assert (<= {obj} {optimum}))", "sat"),
        (base + f"\n(assert (<= {obj} {optimum - 1}))", "unsat"),
    ]


def z3_answer(text: str) -> str:
    import z3

    s = z3.Solver()
    s.add(z3.parse_smt2_string(text))
    return str(s.check())


def cvc5_answer(text: str) -> str:
    cvc5 = pytest.importorskip("cvc5")
    tm = cvc5.TermManager()
    s = cvc5.Solver(tm)
    sm = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(s, sm)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text + "\n(check-sat)\n", "corpus")
    out = ""
    while True:
        cmd = parser.nextCommand()
        if cmd.isNull():
            break
        out += cmd.invoke(s, sm)
    return out.strip()


@pytest.mark.parametrize("parser", [z3_answer, cvc5_answer], ids=["z3", "cvc5"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_round_trip(case, parser) -> None:
    optimum = int(case.objective) if case.objective is not None else None
    for text, want in scripts(case.build(), optimum):
        want = want or ("unsat" if case.status == "infeasible" else "sat")
        if case.status == "infeasible":
            want = "unsat"
        assert parser(text) == want


def test_script_shape_and_logic() -> None:
    p = Problem("shape")
    m = p.binary("m", 3)
    r = p.real("r", lb=-0.5, ub=1)
    p.add(np.array([0.1, 0.2, 0.3]) @ m >= 0.3, m[0] + r > 0)
    p.minimize(m.sum())
    text = p.to_smtlib(optimize=True, get_model=True)
    assert "(set-logic QF_LIRA)" in text and "(minimize (+ m.0 m.1 m.2))" in text
    assert "(declare-fun r.0 () Real)" in text and "(get-value (m.0 m.1 m.2 r.0))" in text
    # 0.1, 0.2, 0.3 scaled by their common power-of-two denominator: exact integers
    assert "(>= " not in text and "(<= " in text
    q = Problem("ints")
    k = q.binary("k", 2)
    q.add(k.sum() <= 1)
    assert "(set-logic QF_LIA)" in q.to_smtlib()
    assert real_lit(-0.75) == "(- (/ 3 4))" and real_lit(2.0) == "2.0"
