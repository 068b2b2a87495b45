"""Load time and IR forward time versus onnxruntime, batch of 64 inputs, for every shared third-party model.

Run: python benchmarks/ir_forward.py [--models DIR] [--batch 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from smugkit.errors import SmugkitError
from smugkit.frontends import load_model

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _runs(sess: ort.InferenceSession, feeds: dict) -> bool:
    """True when the model really accepts a batch (some symbolic batch axes meet fixed Reshapes)."""
    try:
        sess.run(None, feeds)
        return True
    except Exception:  # noqa: BLE001 -- onnxruntime raises several unrelated types for a rejected batch
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default=str(ROOT.parent / "shared" / "models"))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.intra_op_num_threads = 1
    rng = np.random.default_rng(0)
    print(f"{'model':55s} {'load ms':>8s} {'IR ms':>9s} {'ORT ms':>9s} {'IR/ORT':>7s}  ORT batching")
    for path in sorted(Path(args.models).rglob("*.onnx")):
        name = str(path.relative_to(args.models))
        t0 = time.perf_counter()
        try:
            net = load_model(path)
        except SmugkitError as e:
            print(f"{name:55s} rejected: {type(e).__name__}: {str(e).split(': ', 1)[-1][:60]}")
            continue
        load = time.perf_counter() - t0
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feeds = {i.name: rng.standard_normal((args.batch,) + i.shape).astype(np.float32) for i in net.inputs}
        ir_t = best_of(lambda net=net, feeds=feeds: net.run(feeds), args.repeat)
        sym = all(not isinstance(i.shape[0], int) for i in sess.get_inputs() if i.shape)
        batch = {k: v[:, 0] for k, v in feeds.items()}
        if sym and all(i.shape[0] == 1 for i in net.inputs) and _runs(sess, batch):
            ort_t = best_of(lambda sess=sess, batch=batch: sess.run(None, batch), args.repeat)
            how = "one call"
        else:
            singles = [{k: v[j] for k, v in feeds.items()} for j in range(args.batch)]
            ort_t = best_of(
                lambda sess=sess, singles=singles: [sess.run(None, f) for f in singles], args.repeat
            )
            how = f"{args.batch} calls (fixed batch axis)"
        print(f"{name:55s} {load * 1e3:8.1f} {ir_t * 1e3:9.2f} {ort_t * 1e3:9.2f} {ir_t / ort_t:7.1f}  {how}")


if __name__ == "__main__":
    main()
