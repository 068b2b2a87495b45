"""A bounded run of the frontend fuzzer: every mutated model is either loaded and run or refused with a typed
error; none escapes as an untyped exception, exhausts memory, kills the process or hangs.

300 seeded cases over the zoo take about 7 s on a quiet machine (the frontend is imported once before the
forks; a case that is not done within ``PER_CASE`` seconds counts as a hang).
`python benchmarks/fuzz.py --cases 5000` runs the long campaign over the shared third-party models too."""

from __future__ import annotations

import sys

import pytest

from tests.fuzz.mutate import OUTCOMES, cases, run_case

CASES, SEED, PER_CASE = 300, 7, 20.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the harness forks")


def test_mutated_zoo_models_fail_typed_or_run():
    found = {k: [] for k in OUTCOMES}
    for case in cases(CASES, seed=SEED, shared=False):
        outcome, detail = run_case(case.data, seconds=PER_CASE)
        found[outcome].append(f"#{case.index} {case.seed_model} {case.mutation}: {detail}")
    bad = found["untyped"] + found["memory"] + found["crash"] + found["hang"]
    assert not bad, "\n".join(bad)
    assert found["typed"], "no mutation was refused: the fuzzer is not mutating"
    assert found["ran"], "no mutated model ran: the harness refuses everything"


def test_cases_are_repeatable():
    a = [(c.seed_model, c.mutation, c.data) for c in cases(5, seed=3, shared=False)]
    b = [(c.seed_model, c.mutation, c.data) for c in cases(5, seed=3, shared=False)]
    assert a == b
