"""Exact answers: the pseudo-Boolean, SCIP and portfolio backends on a `smugkit bench` suite, with the targets.

Run from the repository root (rows go to --out; rerunning resumes finished runs):
  PYTHONPATH=. python benchmarks/exact_solvers.py --suite digits --timeout 20 \\
      --backends reference,z3,z3/pb,exact,highs+exact,highs+auto,scip,highs --out bench-out-exact
  PYTHONPATH=. python benchmarks/exact_solvers.py --suite scale --timeout 20 --backends exact,highs+exact,highs

Needs the extras: pip install 'smugkit[milp,exact,scip,cpsat]'. Prints the bench table, then per backend how many
instances it proved optimal *exactly* (exact arithmetic: Exact, z3, cvc5, pySMT, or HiGHS/SCIP certified by
one of them) and how many only up to float tolerances, the instances no backend proved, and the median speed
of the SMT backends against the original encoding (`reference`).
"""

from __future__ import annotations

import argparse
import re

import numpy as np

from smugkit.bench import load_suite, run_bench
from smugkit.bench.report import format_table, medians

# exact arithmetic by themselves (not CP-SAT: it gave wrong optima on big integers, see cpsat_backend)
EXACT_SOLVERS = ("exact", "z3", "cvc5", "pysmt", "smtlib", "reference")
SMT = ("z3", "cvc5", "pysmt")


def exact_proof(row: dict) -> bool:
    """Whether the row's optimum was proved in exact arithmetic."""
    if row.get("status") != "optimal":
        return False
    b = row["backend"]
    if b.startswith("portfolio"):
        reason = row.get("reason") or ""
        won = reason.partition("won by ")[2].split(";")[0].strip()
        # a feasible winner made optimal by another member's bound: both must be exact
        pooled = re.search(r"lower bound -?\d+ from ([^;,\s]+)", reason)
        bound_by = pooled.group(1) if pooled and "optimal: one member" in reason else won
        return exact_name(won) and exact_name(bound_by)
    return exact_name(b)


def exact_name(backend: str) -> bool:
    """Whether an "optimal" from ``backend`` is exact: an exact solver, or a hybrid (optimal only once its
    prover refuted K*-1)."""
    return "+" in backend or backend.startswith(EXACT_SOLVERS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="digits")
    ap.add_argument("--backends", default="reference,z3,z3/pb,exact,highs+exact,highs+auto,scip,highs")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--out", default="bench-out-exact")
    args = ap.parse_args()
    backends = args.backends.split(",")
    specs = load_suite(args.suite)
    result = run_bench(specs, backends, timeout=args.timeout, out=args.out)
    rows = [r for r in result.rows if r.get("status") != "skipped"]
    print(f"\nsuite {args.suite}: {len(specs)} instances, budget {args.timeout:g}s per run\n")
    print(format_table(medians(rows)))
    print(f"\n{'backend':<28} {'exact proofs':>12} {'float optimal':>13} {'unproven':>9} {'median s':>9}")
    proved_by: dict[str, set[str]] = {}
    for b in backends:
        mine = [r for r in rows if r["backend"] == b]
        ex = [r for r in mine if exact_proof(r)]
        flt = [r for r in mine if r.get("status") == "optimal" and not exact_proof(r)]
        unp = [r for r in mine if r.get("status") == "optimal_unproven"]
        for r in ex + flt:
            proved_by.setdefault(r["instance"], set()).add(b)
        med = float(np.median([r["wall_s"] for r in mine])) if mine else float("nan")
        print(f"{b:<28} {len(ex):>12} {len(flt):>13} {len(unp):>9} {med:>9.3f}")
    exact_union = {r["instance"] for r in rows if exact_proof(r)}
    print(f"\ninstances proved exactly by at least one backend: {len(exact_union)}/{len(specs)}")
    print(
        f"instances proved optimal (exactly or in floats) by at least one backend: {len(proved_by)}/{len(specs)}"
    )
    open_ = sorted(s.id for s in specs if s.id not in proved_by)
    if open_:
        print("open: " + ", ".join(open_))
    ref = {r["instance"]: r["wall_s"] for r in rows if r["backend"] == "reference"}
    if ref:
        for b in backends:
            if b.split("/")[0].split("@")[0].split(":")[0] in SMT or b.startswith("pysmt"):
                mine = [r for r in rows if r["backend"] == b and r["instance"] in ref]
                if mine:
                    ratio = np.median([ref[r["instance"]] for r in mine]) / max(
                        np.median([r["wall_s"] for r in mine]), 1e-9
                    )
                    print(f"{b}: median wall time {ratio:.1f}x faster than reference (n={len(mine)})")
    if args.suite == "scale":
        print("\nscale suite, wall seconds per top-k (status):")
        for b in backends:
            cells = [
                f"k={r['top_k']}: {r['wall_s']:.2f}s ({r['status']})"
                for r in sorted((r for r in rows if r["backend"] == b), key=lambda r: r["top_k"])
            ]
            print(f"  {b:<20} " + ", ".join(cells))
    if result.disagreements:
        print(f"\nDISAGREEMENTS: {result.disagreements}")


if __name__ == "__main__":
    main()
