"""Fuzz the ONNX frontend: mutated zoo and shared third-party models through `load_model` and a forward pass.

    python benchmarks/fuzz.py --cases 300 --seed 0            # prints one line per non-typed outcome + a tally
    python benchmarks/fuzz.py --cases 5000 --progress 500     # plus a running tally every 500 cases

Cases run in forked children with a memory cap and a per-case deadline, up to 50 cases per child; a case
that kills or hangs its child is reported and a new child resumes after it (tests/fuzz/mutate.py). The last
line reads ``fuzz: N cases, U untyped, C crashes, H hangs, M memory`` and the exit code is 1 when any of
those is non-zero.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz.mutate import OUTCOMES, SHARED, Case, iter_cases, run_cases


def _outcomes(
    todo: Iterator[Case], seconds: float, chunk: int = 500
) -> Iterator[tuple[Case, tuple[str, str]]]:
    """Each case with its outcome, ``chunk`` cases in memory at a time."""
    while batch := list(itertools.islice(todo, chunk)):
        yield from zip(batch, run_cases([c.data for c in batch], seconds))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=60.0, help="deadline per case")
    ap.add_argument("--zoo-only", action="store_true", help="mutate only the bundled zoo models")
    ap.add_argument("--models", type=Path, default=SHARED, help="folder of third-party models to mutate too")
    ap.add_argument("--progress", type=int, default=0, help="print a running tally every this many cases")
    a = ap.parse_args()
    t0 = time.perf_counter()
    tally: collections.Counter = collections.Counter()
    by_mutation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for case, (outcome, detail) in _outcomes(
        iter_cases(a.cases, a.seed, shared=not a.zoo_only, models=a.models), a.seconds
    ):
        tally[outcome] += 1
        by_mutation[case.mutation.split("+")[0]][outcome] += 1
        if outcome not in ("typed", "ran"):
            print(f"{outcome:8s} #{case.index} {case.seed_model} [{case.mutation}] {detail}", flush=True)
        done = case.index + 1
        if a.progress and done % a.progress == 0 and done < a.cases:
            counts = ", ".join(f"{tally[o]} {o}" for o in OUTCOMES)
            print(f"... {done} cases in {time.perf_counter() - t0:.0f} s: {counts}", flush=True)
    print(f"\n{'first mutation':16s}" + "".join(f"{o:>9s}" for o in OUTCOMES))
    for mut in sorted(by_mutation):
        print(f"{mut:16s}" + "".join(f"{by_mutation[mut][o]:9d}" for o in OUTCOMES))
    print(f"({time.perf_counter() - t0:.0f} s)")
    print(
        f"fuzz: {a.cases} cases, {tally['untyped']} untyped, {tally['crash']} crashes, "
        f"{tally['hang']} hangs, {tally['memory']} memory"
    )
    return int(any(tally[k] for k in ("untyped", "crash", "hang", "memory")))


if __name__ == "__main__":
    sys.exit(main())
