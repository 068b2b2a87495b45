"""ir (float64 numpy) against onnx (emitted graph, onnxruntime float32): one vector-Jacobian product of the
output for a batch of points, on every bundled model and the bench's `scale` model (the rule behind
``gradients="auto"``, which takes onnx wherever it agrees with ir).

Run from the repository root: PYTHONPATH=. python benchmarks/providers.py [--points 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from smugkit import zoo
from smugkit.bench.models import scale_model
from smugkit.frontends import load_model
from smugkit.model.providers.ir import IRProvider
from smugkit.model.providers.onnx import OnnxProvider


def vjp_seconds(provider, feeds: dict, out: str, cot: np.ndarray, wrt: str, repeats: int) -> float:
    """Mean seconds of one VJP after a warm-up call (which builds the graph and session)."""
    provider.vjp(feeds, out, cot, wrt)
    t = time.perf_counter()
    for _ in range(repeats):
        provider.vjp(feeds, out, cot, wrt)
    return (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    nets = {m: load_model(zoo.model_path(m)) for m in zoo.list_models()}
    nets["scale"] = load_model(scale_model(Path(tempfile.mkdtemp()) / "scale.onnx"))
    print(f"{'model':16s} {'ir ms':>9s} {'onnx ms':>9s} {'ir/onnx':>8s}   ({args.points} points)")
    for name, net in nets.items():
        x = np.random.default_rng(0).random((args.points, *net.input.shape))
        feeds = {net.input.name: x}
        ir, onnx = IRProvider(net), OnnxProvider(net)
        cot = np.ones_like(ir.outputs(feeds, net.output.name))
        t_ir, t_onnx = (
            vjp_seconds(p, feeds, net.output.name, cot, net.input.name, args.repeats) for p in (ir, onnx)
        )
        print(f"{name:16s} {t_ir * 1e3:9.2f} {t_onnx * 1e3:9.2f} {t_ir / t_onnx:8.2f}", flush=True)


if __name__ == "__main__":
    main()
