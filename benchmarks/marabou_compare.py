"""smugkit beside Marabou on "is this masked input still classified as l" queries, bundled 28x28 CNN.

For each digit, smugkit finds a SMUG mask (first-layer encoding, HiGHS) and answers, for that mask:
- point: does the masked input (dropped pixels at the mask value 0) keep label l? smugkit: the exact float64
  IR check and onnxruntime's certificate; Marabou: for every other class j, is ``logit_j >= logit_l``
  satisfiable with the input fixed (UNSAT for all j = label kept).
- box (Marabou only; smugkit's full encoding asks the 0/1 version): does l win for every input whose dropped
  pixels lie anywhere between 0 and their value (kept pixels fixed)? A stronger, continuous question.

Install the peer in its own environment (never a smugkit dependency):
    python -m venv --system-site-packages /work/venvs/speed-peers && /work/venvs/speed-peers/bin/pip install maraboupy
Run from the project root with that interpreter: python benchmarks/marabou_compare.py [--samples 10] [--timeout 60]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's smugkit

import numpy as np

from smugkit import zoo
from smugkit.attribution.smug import explain


def marabou_query(path: str, lo: np.ndarray, hi: np.ndarray, label: int, timeout: float) -> tuple[str, float]:
    """'kept' when no class j can reach the label's logit over the input box [lo, hi], else 'lost'/'unknown'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from maraboupy import Marabou

    t = time.perf_counter()
    verdict = "kept"
    for j in range(10):
        if j == label:
            continue
        net = Marabou.read_onnx(path)
        inp, out = net.inputVars[0].reshape(-1), net.outputVars[0].reshape(-1)
        for v, a, b in zip(inp.tolist(), lo.tolist(), hi.tolist()):
            net.setLowerBound(v, a)
            net.setUpperBound(v, b)
        net.addInequality([out[label], out[j]], [1.0, -1.0], 0.0)  # logit_l - logit_j <= 0
        left = max(1, int(timeout - (time.perf_counter() - t)))
        opts = Marabou.createOptions(verbosity=0, timeoutInSeconds=left)
        res, _, _ = net.solve(options=opts, verbose=False)
        if res == "sat":
            return "lost", time.perf_counter() - t
        if res != "unsat":
            verdict = "unknown"
    return verdict, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--top-k", type=int, default=100)
    args = ap.parse_args()
    path = str(zoo.model_path("digits_cnn28"))
    images, _ = zoo.sample_inputs(28)
    print(
        f"digits_cnn28, {args.samples} digits, SMUG first-layer masks (top-k {args.top_k}), budget {args.timeout:g}s"
    )
    print(
        f"{'#':>2} {'label':>5} {'mask':>5} | {'smugkit point':>14} {'s':>6} | {'Marabou point':>13} {'s':>6} "
        f"| {'Marabou box':>11} {'s':>6}"
    )
    agree = 0
    for s in range(args.samples):
        x = images[s].reshape(1, 1, 28, 28).astype(np.float64)
        t = time.perf_counter()
        e = explain(path, x, top_k=args.top_k, backend="highs", timeout=args.timeout)
        t_ours = time.perf_counter() - t
        keep = e.mask_plane.reshape(-1) > 0
        masked = np.where(keep, x.reshape(-1), 0.0)
        ours = "kept" if (e.exact_check["logit_margin"] >= 0 and e.certificate["keeps_label"]) else "lost"
        ours_point_s = e.timings["certify"]  # the exact IR check and onnxruntime's certificate
        mp, tp = marabou_query(path, masked, masked, e.label, args.timeout)
        lo = np.where(keep, x.reshape(-1), np.minimum(x.reshape(-1), 0.0))
        hi = np.where(keep, x.reshape(-1), np.maximum(x.reshape(-1), 0.0))
        mb, tb = marabou_query(path, lo, hi, e.label, args.timeout)
        agree += mp == ours
        print(
            f"{s:>2} {e.label:>5} {e.mask_size:>5} | {ours:>14} {ours_point_s:>6.2f} | {mp:>13} {tp:>6.2f} "
            f"| {mb:>11} {tb:>6.2f}   (smugkit explain {t_ours:.1f}s)"
        )
    print(f"point verdicts agree on {agree}/{args.samples}")


if __name__ == "__main__":
    main()
