"""SMUG on the bundled 28x28 digits CNN for 20 digits: mask size, solve time per backend, label kept.

Run: python benchmarks/smug_digits.py [--backends highs,z3,cvc5] [--timeout 20] [--top-k 100] [--window 2]
Rows are written to bench-out-digits20/ (rerunning resumes); the table is printed at the end.
"""

from __future__ import annotations

import argparse

import numpy as np

from smugkit.bench import InstanceSpec, run_bench


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backends", default="highs,z3,cvc5")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument("--gamma", type=float, default=0.5)
    ap.add_argument("--window", type=int, default=2)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--out", default="bench-out-digits20")
    args = ap.parse_args()
    specs = [
        InstanceSpec("digits_cnn28", s, args.top_k, args.gamma, args.window) for s in range(args.samples)
    ]
    result = run_bench(specs, args.backends.split(","), timeout=args.timeout, out=args.out)
    print(
        f"\ndigits_cnn28, {args.samples} digits, top-k {args.top_k}, gamma {args.gamma}, window {args.window} "
        f"({-(-28 // args.window)} x {-(-28 // args.window)} windows), "
        f"budget {args.timeout:g}s"
    )
    print(
        f"{'backend':<10} {'optimal':>8} {'mask size (median, min-max)':>28} {'solve s (median, max)':>22} "
        f"{'certified':>9} {'label kept':>10}"
    )
    for b in args.backends.split(","):
        rows = [r for r in result.rows if r["backend"] == b]
        sizes = [r["mask_size"] for r in rows if r.get("mask_size") is not None]
        times = [r["wall_s"] for r in rows]
        size_txt = f"{np.median(sizes):.0f} ({min(sizes)}-{max(sizes)})" if sizes else "-"
        print(
            f"{b:<10} {sum(r.get('status') == 'optimal' for r in rows):>5}/{len(rows):<2} {size_txt:>28} "
            f"{np.median(times):>13.3f}, {max(times):>6.2f} "
            f"{sum(bool(r.get('certified')) for r in rows):>6}/{len(rows):<2} "
            f"{sum(bool(r.get('keeps_label')) for r in rows):>7}/{len(rows):<2}"
        )


if __name__ == "__main__":
    main()
