"""Time one gradient and Integrated Gradients (200 steps) per provider (ir, onnx, fd) on two CNNs.

Models: the bundled digits CNN (1x28x28, conv-relu-maxpool x2, dense) and a 224x224x3 input through a 7x7/2
64-channel conv + ReLU + global average pool + dense head (random weights, seed 0). Each time is also given
as a ratio to one onnxruntime forward pass of the same batch (1 point for a gradient, 200 for IG) on the
original model. Finite differences on the 224x224x3 input (150,528 coordinates, 2 forward passes each) are
timed on a bounded number of coordinates and extrapolated; those rows are marked "extrapolated".

Run: python benchmarks/gradients.py [--repeats N] [--fd-coords K]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from smugkit.attribution.integrated_gradients import integrated_gradients
from smugkit.frontends import load_model
from smugkit.model import get_provider, gradient
from smugkit.model.providers import FDProvider
from smugkit.model.targets import one_hot

STEPS = 200


def big_cnn(path: Path, seed: int = 0) -> Path:
    """(N,3,224,224) -> Conv 64x7x7 stride 2 pad 3 -> Relu -> GlobalAveragePool -> Flatten -> Gemm(64, 10)."""
    r = np.random.default_rng(seed)
    inits = {
        "W": r.standard_normal((64, 3, 7, 7)) * np.sqrt(2 / 147),
        "b": r.standard_normal(64) * 0.1,
        "D": r.standard_normal((64, 10)) * 0.3,
        "c": r.standard_normal(10) * 0.1,
    }
    nodes = [
        helper.make_node(
            "Conv", ["x", "W", "b"], ["conv"], kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3]
        ),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "D", "c"], ["logits"]),
    ]
    g = helper.make_graph(
        nodes,
        "cnn224",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()],
    )
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def best(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def forward_time(path: Path, x: np.ndarray, n: int, repeats: int) -> float:
    """One onnxruntime forward pass of a batch of ``n`` copies of ``x`` on the original model."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    batch = np.repeat(x.astype(np.float32), n, axis=0)
    return best(lambda: sess.run(None, {name: batch}), repeats)


def fd_extrapolated(net, prov: FDProvider, x: np.ndarray, target: int, coords: int) -> float:
    """Seconds for a full fd gradient, extrapolated from ``coords`` random coordinates."""
    pick = np.random.default_rng(0).choice(x.size, coords, replace=False)
    point = {net.input.name: x}
    cot = one_hot(net.output.shape, [(0, target)])[0]
    prov.partial(point, net.output.name, cot, net.input.name, coordinates=pick[:8])  # warm-up, session set-up
    t = time.perf_counter()
    prov.partial(point, net.output.name, cot, net.input.name, coordinates=pick)
    return (time.perf_counter() - t) * x.size / coords


def bench_provider(
    label: str, net, name: str, x: np.ndarray, target: int, fwd1: float, fwd_ig: float, repeats: int
) -> list[tuple]:
    """Rows for one provider: one gradient (best of ``repeats``) and IG with 200 steps."""
    t = time.perf_counter()
    prov = get_provider(name, net)
    gradient(net, x, target=target, gradients=prov)
    setup = time.perf_counter() - t
    one = best(lambda: gradient(net, x, target=target, gradients=prov), repeats)
    note = f"first call {setup:.3g}s (graph + session)" if name == "onnx" else ""
    results = []

    def ig() -> None:
        results.append(integrated_gradients(net, x, target=target, steps=STEPS, gradients=prov, kind="logit"))

    t_ig = best(ig, max(1, repeats // 2)) if name != "fd" else once(ig)
    err = f"completeness rel. err {results[-1].relative_error:.1e}"
    return [(label, name, "gradient", one, fwd1, note), (label, name, f"IG {STEPS} steps", t_ig, fwd_ig, err)]


def once(fn) -> float:
    """Wall time of one call."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_model(label: str, path: Path, x: np.ndarray, repeats: int, fd_coords: int | None) -> list[tuple]:
    """Rows (model, provider, task, seconds, forward seconds, note) for one model."""
    net = load_model(path)
    target = int(net(x).argmax())
    fwd1 = forward_time(path, x, 1, repeats)
    fwd_ig = forward_time(path, x, STEPS, max(1, repeats // 2))
    rows = []
    for name in ("ir", "onnx", "fd"):
        if name == "fd" and fd_coords is not None:
            one = fd_extrapolated(net, FDProvider(net), x, target, fd_coords)
            rows.append(
                (label, name, "gradient", one, fwd1, f"extrapolated from {fd_coords} of {x.size} coords")
            )
            rows.append(
                (label, name, f"IG {STEPS} steps", one * STEPS, fwd_ig, "extrapolated (200 gradients)")
            )
        else:
            rows += bench_provider(label, net, name, x, target, fwd1, fwd_ig, repeats)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed repetitions (best is reported)")
    ap.add_argument("--fd-coords", type=int, default=256, help="coordinates timed for fd on 224x224x3")
    args = ap.parse_args()
    from smugkit.zoo import model_path, sample_inputs

    rows = []
    digits = model_path("digits_cnn28")
    rows += bench_model("digits_cnn28 1x28x28", digits, sample_inputs(28)[0][:1], args.repeats, None)
    with tempfile.TemporaryDirectory() as tmp:
        path = big_cnn(Path(tmp) / "cnn224.onnx")
        x = np.random.default_rng(1).uniform(0, 1, (1, 3, 224, 224))
        rows += bench_model("conv7x7/2-64 3x224x224", path, x, max(1, args.repeats // 2), args.fd_coords)
    print(
        f"# smugkit gradient providers; {platform.processor() or platform.machine()}, onnxruntime {ort.__version__}, "
        f"numpy {np.__version__}; best of {args.repeats} (IG: fewer) after a warm-up"
    )
    head = ("model", "provider", "task", "seconds", "ORT fwd (same batch)", "x forward", "note")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for model, prov, task, sec, fwd, note in rows:
        print(f"| {model} | {prov} | {task} | {sec:.4g} | {fwd:.3g} | {sec / fwd:.3g} | {note} |")


if __name__ == "__main__":
    main()
