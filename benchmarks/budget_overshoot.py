"""How far past its wall-clock budget each backend returns, on instances none of them finishes in time.

Run from the repository root (needs the extras: pip install 'smugkit[milp,exact,scip]'):
  PYTHONPATH=. python benchmarks/budget_overshoot.py [--budgets 2,5] [--backends exact,z3/pb,...]
Prints, per backend and budget, the largest and median overshoot (wall seconds minus budget) over the
instances, and the statuses returned.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from smugkit import backends
from smugkit.bench.runner import prepare
from smugkit.bench.suites import InstanceSpec

HARD = [InstanceSpec("digits_mlp28", 0, 50, 0.5, 1), InstanceSpec("digits_cnn28", 1, 1000, 0.5, 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budgets", default="2,5")
    ap.add_argument(
        "--backends",
        default="exact,z3/pb,z3/pb@binary,z3@native,scip,highs+exact,portfolio:exact;highs;z3/pb,"
        "cvc5,pysmt:z3,pysmt:cvc5,highs+cvc5",
    )
    ap.add_argument("--cache", default="bench-out-overshoot")
    args = ap.parse_args()
    prepared = [prepare(s, Path(args.cache)) for s in HARD]
    print(f"{'backend':<34} {'budget':>6} {'max over s':>10} {'median over s':>13}  statuses")
    for name in args.backends.split(","):
        spec, _, prover = name.partition("+")
        backend, _, strategy = spec.partition("@")
        opts = {"certify": prover} if prover else {}
        for budget in (float(b) for b in args.budgets.split(",")):
            over, statuses = [], []
            for p in prepared:
                t = time.perf_counter()
                sol = backends.solve(
                    p.encoded.problem, backend=backend, timeout=budget, strategy=strategy or None, **opts
                )
                over.append(time.perf_counter() - t - budget)
                statuses.append(sol.status)
            print(
                f"{name:<34} {budget:>6g} {max(over):>10.2f} {float(np.median(over)):>13.2f}  {','.join(statuses)}"
            )


if __name__ == "__main__":
    main()
