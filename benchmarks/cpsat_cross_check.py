"""CP-SAT against Exact on SMUG instances, by the size of the integer coefficients CP-SAT is given.

CP-SAT reasons in 64-bit integers but reported wrong optima on exactly scaled SMUG rows (up to 57-bit
integers); this script measures where that starts, which is why the `cpsat` backend rounds rows outward to
``pb_bits`` (default 20). Each row of the output is one instance: Exact's optimum, then per size the status,
CP-SAT's bound and whether its model passes the exact rows; ``WRONG`` marks a claimed optimum above Exact's.

Run from the repository root (needs the extras: pip install 'smugkit[exact,cpsat]'):
  PYTHONPATH=. python benchmarks/cpsat_cross_check.py --bits 16,20,30,40,62 --samples 6
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from smugkit import backends
from smugkit.backends.cpsat_backend import _payload, cpsat_rows, run_worker
from smugkit.backends.objective import objective_spec
from smugkit.backends.pb_rows import check_integer_point, pb_problem
from smugkit.bench.runner import prepare
from smugkit.bench.suites import InstanceSpec

INSTANCES = (("digits_cnn28", 2), ("digits_cnn8", 1), ("digits_mlp8", 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bits", default="16,20,30,40,62")
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--ks", default="50,100,200")
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()
    sizes = [int(b) for b in args.bits.split(",")]
    wrong = {b: 0 for b in sizes}
    count = 0
    cache = Path(tempfile.mkdtemp(prefix="smugkit-cross-"))
    for model, window in INSTANCES:
        for sample in range(args.samples):
            for k in (int(v) for v in args.ks.split(",")):
                p = prepare(InstanceSpec(model, sample, k, 0.5, window), cache)
                c = p.encoded.problem.compile()
                pb, spec = pb_problem(c), objective_spec(c)
                ref = backends.solve(p.encoded.problem, backend="exact", timeout=args.timeout)
                line = [f"{model} s{sample} k{k}: exact {ref.status} {ref.objective:g}"]
                count += 1
                for bits in sizes:
                    rows, _ = cpsat_rows(pb, bits)
                    t = time.perf_counter()
                    payload = _payload(pb, rows, spec, None, [], args.timeout, 2, 0)
                    _, lines = run_worker(payload, args.timeout)
                    end = lines[-1] if lines and "status" in lines[-1] else {"status": "none", "bound": None}
                    ok = check_integer_point(pb, end["sol"]) if end.get("sol") else None
                    bad = (
                        end["status"] == "OPTIMAL"
                        and ref.status == "optimal"
                        and end["bound"] > ref.objective
                    )
                    wrong[bits] += bad
                    line.append(
                        f"{bits} bits: {end['status']} {end['bound']} model ok {ok} "
                        f"{time.perf_counter() - t:.1f}s" + (" WRONG" if bad else "")
                    )
                print(" | ".join(line), flush=True)
    print(f"\n{count} instances; claimed optima above Exact's, by coefficient size:")
    for bits in sizes:
        print(f"  {bits:>2} bits: {wrong[bits]}")


if __name__ == "__main__":
    main()
