"""smugkit beside Marabou on "is this masked input still classified as l" queries, bundled 28x28 CNN.

For each digit, smugkit finds a SMUG mask (first-layer encoding, HiGHS) and answers, for that mask:
- point: does the masked input (dropped pixels at the mask value 0) keep label l? smugkit: the exact float64
  IR check and onnxruntime's certificate; Marabou: for every other class j, is ``logit_j >= logit_l``
  satisfiable with the input fixed (UNSAT for all j = label kept).
- box: does l win for every input whose dropped pixels lie anywhere between 0 and their value (kept pixels
  fixed)? A stronger, continuous question. smugkit: its full-network encoding (`full.network_logits`) over
  continuous per-pixel bits, one HiGHS MILP per other class j (``logit_j >= logit_l`` infeasible for all j =
  kept; a feasible point is re-checked exactly); Marabou: the same nine queries.
smugkit gets ``--timeout`` seconds per question, Marabou ``--query-timeout`` per query (nine per question,
each on a freshly read network); agreement is counted on the questions both tools settled.

Install the peer in its own environment (never a smugkit dependency):
    python -m venv --system-site-packages /work/venvs/speed-peers && /work/venvs/speed-peers/bin/pip install maraboupy
Run from the project root with that interpreter: python benchmarks/marabou_compare.py [--samples 10] [--timeout 30] [--query-timeout 10]
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
    """'kept' when no class j can reach the label's logit over the input box [lo, hi], else 'lost'/'unknown'.

    One Marabou query per class j, each on a freshly read network (a network object reused after a solve,
    even with ``clearProperty``, answered UNSAT to a query that is SAT) with ``timeout`` seconds of its own.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from maraboupy import Marabou

    t = time.perf_counter()
    verdict = "kept"
    for j in range(10):
        if j == label:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = Marabou.read_onnx(path)
        inp, out = net.inputVars[0].reshape(-1), net.outputVars[0].reshape(-1)
        for v, a, b in zip(inp.tolist(), lo.tolist(), hi.tolist()):
            net.setLowerBound(v, a)
            net.setUpperBound(v, b)
        net.addInequality([out[label], out[j]], [1.0, -1.0], 0.0)  # logit_l - logit_j <= 0
        opts = Marabou.createOptions(verbosity=0, timeoutInSeconds=max(1, int(timeout)))
        res, _, _ = net.solve(options=opts, verbose=False)
        if res == "sat":
            return "lost", time.perf_counter() - t
        if res != "unsat":
            verdict = "unknown"
    return verdict, time.perf_counter() - t


def smugkit_box_query(net, x, keep: np.ndarray, label: int, timeout: float) -> tuple[str, float]:
    """The box question through smugkit's full encoding: is ``logit_j >= logit_l`` feasible for some class j
    with the kept pixels fixed and every dropped pixel anywhere between 0 and its value? One HiGHS MILP, the
    class picked by binaries ``s`` (``logit_j - logit_l >= -M_j (1 - s_j)``, ``sum(s) = 1``)."""
    from smugkit.attribution.smug.full import network_logits
    from smugkit.backends import solve
    from smugkit.dsl import Problem
    from smugkit.units import detect_layout, make_windows

    t = time.perf_counter()
    wins = make_windows(detect_layout(net), 1)
    p = Problem("box_query")
    m = p.var("m", wins.count, "real", lb=keep.astype(float), ub=1.0)
    z = network_logits(net, x, wins, 0.0, m, kept=keep).ravel()
    others = [j for j in range(z.size) if j != label]
    s = p.binary("s", len(others))
    D = np.zeros((len(others), z.size))
    D[np.arange(len(others)), others] = 1.0
    D[:, label] = -1.0
    gap = D @ z  # logit_j - logit_l
    big = np.maximum(-gap.bounds()[0], 0.0) + 1.0
    p.add(gap + big * (1 - s) >= 0)
    p.add(s.sum() == 1)
    sol = solve(p, "highs", timeout=max(0.5, timeout - (time.perf_counter() - t)))
    if sol.has_assignment:
        return "lost", time.perf_counter() - t
    return ("kept" if sol.status == "infeasible" else "unknown"), time.perf_counter() - t


def main() -> None:
    from smugkit.frontends import load_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument(
        "--timeout", type=float, default=30.0, help="smugkit: seconds per explanation and question"
    )
    ap.add_argument("--query-timeout", type=float, default=10.0, help="Marabou: seconds per query (class j)")
    ap.add_argument("--top-k", type=int, default=100)
    args = ap.parse_args()
    path = str(zoo.model_path("digits_cnn28"))
    net = load_model(path)
    images, _ = zoo.sample_inputs(28)
    print(
        f"digits_cnn28, {args.samples} digits, SMUG first-layer masks (top-k {args.top_k}), "
        f"smugkit {args.timeout:g}s per question, Marabou {args.query_timeout:g}s per query (nine per question)"
    )
    print(
        f"{'#':>2} {'label':>5} {'mask':>5} | point: {'smugkit':>7} {'s':>6} {'Marabou':>7} {'s':>6} "
        f"| box: {'smugkit':>7} {'s':>6} {'Marabou':>7} {'s':>6}"
    )
    agree = {"point": [0, 0], "box": [0, 0]}
    times = {k: [] for k in ("sp", "mp", "sb", "mb")}
    for s in range(args.samples):
        x = images[s].reshape(1, 1, 28, 28).astype(np.float64)
        e = explain(path, x, top_k=args.top_k, backend="highs", timeout=args.timeout)
        keep = e.mask_plane.reshape(-1) > 0
        masked = np.where(keep, x.reshape(-1), 0.0)
        ours = "kept" if (e.exact_check["logit_margin"] >= 0 and e.certificate["keeps_label"]) else "lost"
        sp_ = e.timings["certify"]  # the exact IR check and onnxruntime's certificate
        mp, tp = marabou_query(path, masked, masked, e.label, args.query_timeout)
        sb, tsb = smugkit_box_query(net, x, keep, e.label, args.timeout)
        lo = np.where(keep, x.reshape(-1), np.minimum(x.reshape(-1), 0.0))
        hi = np.where(keep, x.reshape(-1), np.maximum(x.reshape(-1), 0.0))
        mb, tb = marabou_query(path, lo, hi, e.label, args.query_timeout)
        for key, a, b in (("point", ours, mp), ("box", sb, mb)):
            if "unknown" not in (a, b):
                agree[key][0] += a == b
                agree[key][1] += 1
        for key, v in zip(("sp", "mp", "sb", "mb"), (sp_, tp, tsb, tb)):
            times[key].append(v)
        print(
            f"{s:>2} {e.label:>5} {e.mask_size:>5} | point: {ours:>7} {sp_:>6.2f} {mp:>7} {tp:>6.2f} "
            f"| box: {sb:>7} {tsb:>6.2f} {mb:>7} {tb:>6.2f}",
            flush=True,
        )
    for key in ("point", "box"):
        print(f"{key} verdicts agree on {agree[key][0]}/{agree[key][1]} questions both tools settled")
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(
        f"median seconds: point smugkit {med['sp']:.2f}, Marabou {med['mp']:.2f}; "
        f"box smugkit {med['sb']:.2f}, Marabou {med['mb']:.2f}"
    )


if __name__ == "__main__":
    main()
