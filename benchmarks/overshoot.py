"""How far past its budget each backend returns, on hard instances: a dense SMUG-shaped 0/1 problem that no
backend finishes, and the full-network encoding of the bundled 28x28 CNN (term building is the hard part).

    python benchmarks/overshoot.py --timeout 5                  # every available backend
    python benchmarks/overshoot.py --timeout 5 --backends z3,cvc5

Overshoot = wall-clock seconds from the call to the answer, minus the budget. Every backend should stay
within a fraction of a second (plus process start-up of a forked check); the table shows the worst of
``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smugkit.backends import available_backends, solve
from tests.backends.hard import (  # shared with tests/backends/test_overshoot.py
    dense_problem,
    full_cnn_problem,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--backends", default="", help="comma-separated (default: every available backend)")
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    names = [b for b in a.backends.split(",") if b] or available_backends()
    problems = {"dense 150x80": dense_problem(), "full CNN 784 bits": full_cnn_problem()}
    print(f"budget {a.timeout:g} s; worst overshoot of {a.repeats} run(s)")
    print(f"{'backend':14s}" + "".join(f"{p:>22s}" for p in problems) + "   status")
    for b in names:
        cells, statuses = [], []
        for p in problems.values():
            worst, status = -1e9, ""
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                try:
                    sol = solve(p, backend=b, timeout=a.timeout)
                    status = sol.status
                except Exception as e:  # noqa: BLE001 - a failing backend is a row of the table
                    status = f"error: {type(e).__name__}"
                worst = max(worst, time.perf_counter() - t0 - a.timeout)
            cells.append(f"{worst:+21.2f}s")
            statuses.append(status)
        print(f"{b:14s}" + "".join(cells) + "   " + ", ".join(statuses), flush=True)


if __name__ == "__main__":
    main()
