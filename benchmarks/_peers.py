"""What the peer-comparison benchmarks share: the PyTorch twins of smugkit's models, timing, agreement.

The twins carry the ONNX models' own weights, so a peer library (Captum, Quantus, PAIR, ...) explains the
same function smugkit does. torch is imported only when a twin is built (it lives in the benchmark's venv).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from smugkit import zoo


def torch_cnn28():
    """The bundled digits CNN as the PyTorch module it was exported from, with its ONNX weights."""
    import torch

    from smugkit.zoo.train_digits import build

    net = build("digits_cnn28")
    m = onnx.load(str(zoo.model_path("digits_cnn28")))
    net.load_state_dict({i.name: torch.tensor(numpy_helper.to_array(i).copy()) for i in m.graph.initializer})
    return net.eval()


def torch_scale(path: Path):
    """The bench's ``scale`` model (Conv 7x7/2 + ReLU + global average pool + MatMul, no head bias) in PyTorch."""
    import torch

    w = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    conv, bias, dense = w["W"], w["b"], w["D"]
    net = torch.nn.Sequential(
        torch.nn.Conv2d(conv.shape[1], conv.shape[0], conv.shape[2], stride=2, padding=conv.shape[2] // 2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(*dense.shape, bias=False),
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(conv))
        net[0].bias.copy_(torch.tensor(bias))
        net[4].weight.copy_(torch.tensor(dense.T))  # Linear keeps (out, in)
    return net.eval()


def best_time(fn, repeats: int):
    """Best wall time of ``repeats`` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def correlation(a, b) -> float | None:
    """Pearson correlation of two attributions (None when the shapes differ or one is constant)."""
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])
