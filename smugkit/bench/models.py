"""Models for benchmark suites that are built, not bundled: the ImageNet-sized first layer (seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def scale_model(path: Path, seed: int = 0, classes: int = 10) -> Path:
    """3x224x224 -> Conv 7x7/2 (64 channels, pads 3; Inception v1's first layer) -> ReLU -> GAP -> Dense."""
    path = Path(path)
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((64, 3, 7, 7)) * np.sqrt(2.0 / 147)).astype(np.float32)
    b = (rng.standard_normal(64) * 0.05).astype(np.float32)
    d = (rng.standard_normal((64, classes)) * 0.5).astype(np.float32)
    nodes = [
        helper.make_node(
            "Conv", ["input", "W", "b"], ["conv"], kernel_shape=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3]
        ),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("MatMul", ["flat", "D"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "scale",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b"), numpy_helper.from_array(d, "D")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="smugkit-bench"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def scale_image(seed: int = 0) -> np.ndarray:
    """A seeded smooth 3x224x224 image in [0, 1] (blurred noise, so neighbouring pixels correlate)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    img = gaussian_filter(rng.random((3, 224, 224)), sigma=(0, 6, 6))
    img = (img - img.min()) / (img.max() - img.min())
    return img[None].astype(np.float64)
