"""How far past its wall-clock budget each backend returns, on hard instances none of them finishes in time:
a dense SMUG-shaped 0/1 problem, the full-network encoding of the bundled 28x28 CNN (term building is the hard
part), and two open `digits` bench instances (the dense mlp28 rows and the 784-bit cnn28 first layer, k=1000).

    python benchmarks/overshoot.py --timeout 5                          # every available backend
    python benchmarks/overshoot.py --timeout 2,5 --backends z3,cvc5,highs+exact,z3@native

A backend is ``name[@strategy][+prover]`` as in `smugkit bench`. Overshoot = wall-clock seconds from the call
to the answer, minus the budget; the table shows the worst of ``--repeats`` runs per instance. Every backend
should stay within a fraction of a second (plus the start-up of a forked or child process); "refused" is a
typed error at once (pseudo-Boolean backends take no ReLU rows).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smugkit.backends import available_backends, solve
from smugkit.backends.registry import split_hybrid
from smugkit.bench.runner import prepare
from smugkit.bench.suites import InstanceSpec
from smugkit.errors import ProblemError
from tests.backends.hard import (  # shared with tests/backends/test_overshoot.py
    dense_problem,
    full_cnn_problem,
)

BENCH = {  # open instances of the digits suite
    "mlp28 w1": InstanceSpec("digits_mlp28", 0, 50, 0.5, 1),
    "cnn28 k1000": InstanceSpec("digits_cnn28", 1, 1000, 0.5, 1),
}


def run(problem, name: str, budget: float) -> tuple[float, str]:
    """One solve of ``problem`` by ``name`` (``backend[@strategy][+prover]``): (overshoot s, status)."""
    spec, prover = split_hybrid(name)
    backend, _, strategy = spec.partition("@")
    opts = {"certify": prover} if prover else {}
    t0 = time.perf_counter()
    try:
        status = solve(problem, backend=backend, timeout=budget, strategy=strategy or None, **opts).status
    except ProblemError:
        return float("nan"), "refused"
    except Exception as e:  # noqa: BLE001 - a failing backend is a row of the table
        status = f"error: {type(e).__name__}"
    return time.perf_counter() - t0 - budget, status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", default="5", help="budget(s) in seconds, comma-separated")
    ap.add_argument("--backends", default="", help="comma-separated (default: every available backend)")
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    names = [b for b in a.backends.split(",") if b] or available_backends()
    cache = Path(tempfile.mkdtemp(prefix="smugkit-overshoot-"))
    problems = {"dense 150x80": dense_problem(), "full CNN": full_cnn_problem()}
    problems.update({k: prepare(s, cache).encoded.problem for k, s in BENCH.items()})
    print(f"worst overshoot (s) of {a.repeats} run(s) per instance")
    print(f"{'backend':24s}{'budget':>7s}" + "".join(f"{p:>14s}" for p in problems) + "   status")
    for b in names:
        for budget in (float(t) for t in a.timeout.split(",")):
            cells, statuses = [], []
            for p in problems.values():
                runs = [run(p, b, budget) for _ in range(a.repeats)]
                worst = max(r[0] for r in runs)
                cells.append(f"{'refused':>14s}" if math.isnan(worst) else f"{worst:+14.2f}")
                statuses.append(runs[-1][1])
            print(f"{b:24s}{budget:7g}" + "".join(cells) + "   " + ", ".join(statuses), flush=True)


if __name__ == "__main__":
    main()
