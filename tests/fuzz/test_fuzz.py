"""A bounded run of the frontend fuzzer: every mutated model is either loaded and run or refused with a typed
error; none escapes as an untyped exception, exhausts memory, kills the process or hangs.

300 seeded cases over the zoo took 14 s at a load average of 10 on 2 cores: a freshly
spawned process imports the frontend once and forks children that run up to 50 cases each; a case that is not
done within ``PER_CASE`` seconds counts as a hang.
`python benchmarks/fuzz.py --cases 5000` runs the long campaign over the shared third-party models too."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from tests.fuzz import mutate
from tests.fuzz.mutate import cases, clean_campaign

CASES, SEED, PER_CASE = 300, 7, 20.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the harness forks")


def test_mutated_zoo_models_fail_typed_or_run():
    found = clean_campaign(CASES, SEED, PER_CASE)
    bad = found["untyped"] + found["memory"] + found["crash"] + found["hang"]
    assert not bad, "\n".join(bad)
    assert found["typed"], "no mutation was refused: the fuzzer is not mutating"
    assert found["ran"], "no mutated model ran: the harness refuses everything"


def test_cases_are_repeatable():
    a = [(c.seed_model, c.mutation, c.data) for c in cases(5, seed=3, shared=False)]
    b = [(c.seed_model, c.mutation, c.data) for c in cases(5, seed=3, shared=False)]
    assert a == b


def test_harness_reports_crashes_and_hangs_and_resumes_after_them(monkeypatch):
    def target(data: bytes) -> tuple[str, str]:
        if data == b"crash":
            os.kill(os.getpid(), signal.SIGKILL)  # dies without a word, as a segfault would
        if data == b"hang":
            time.sleep(60)
        if data == b"boom":
            raise RuntimeError("boom")
        return "ran", ""

    monkeypatch.setattr(mutate, "_target", target)
    datas = [b"ok", b"crash", b"ok", b"hang", b"ok", b"boom", b"ok"]
    got = [o for o, _ in mutate.run_cases(datas, seconds=1.0, per_child=2)]
    assert got == ["ran", "crash", "ran", "hang", "ran", "untyped", "ran"]
