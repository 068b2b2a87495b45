"""A bounded run of the frontend fuzzer: every mutated model is either loaded and run or refused with a typed
error; none escapes as an untyped exception, exhausts memory, kills the process or hangs.
`python benchmarks/fuzz.py --cases 300` runs the long campaign over the shared third-party models too."""

from __future__ import annotations

import sys

import pytest

from tests.fuzz.mutate import OUTCOMES, cases, run_case

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the harness forks")


def test_mutated_zoo_models_fail_typed_or_run():
    found = {k: [] for k in OUTCOMES}
    for case in cases(24, seed=7, shared=False):
        outcome, detail = run_case(case.data, seconds=60)
        found[outcome].append(f"#{case.index} {case.seed_model} {case.mutation}: {detail}")
    bad = found["untyped"] + found["memory"] + found["crash"] + found["hang"]
    assert not bad, "\n".join(bad)
    assert found["typed"], "no mutation was refused: the fuzzer is not mutating"


def test_cases_are_repeatable():
    a = [(c.seed_model, c.mutation, c.data) for c in cases(5, seed=3, shared=False)]
    b = [(c.seed_model, c.mutation, c.data) for c in cases(5, seed=3, shared=False)]
    assert a == b
