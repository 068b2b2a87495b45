"""Tiny ONNX models built with onnx.helper for the explanation tests."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def make_model(nodes, inits: dict, in_shape, out_shape, opset: int = 17):
    """A one-input one-output float model from nodes named 'x' -> ... -> 'y'."""
    g = helper.make_graph(
        nodes,
        "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def tiny_cnn(
    seed: int = 0,
    channels: int = 1,
    h: int = 4,
    w: int = 4,
    nhwc: bool = False,
    classes: int = 3,
    kernel: int = 2,
    stride: int = 1,
    pads=(0, 0, 0, 0),
    group: int = 1,
    filters: int = 2,
):
    """x -> Conv -> Relu -> Flatten -> Gemm: a toy image classifier with a conv first layer."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((filters, channels // group, kernel, kernel))
    b = rng.standard_normal(filters) * 0.1
    oh = (h + pads[0] + pads[2] - kernel) // stride + 1
    ow = (w + pads[1] + pads[3] - kernel) // stride + 1
    D = rng.standard_normal((filters * oh * ow, classes))
    nodes = []
    src = "x"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]))
        src = "xt"
    nodes += [
        helper.make_node(
            "Conv", [src, "W", "b"], ["c"], strides=[stride, stride], pads=list(pads), group=group
        ),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "D"], ["y"]),
    ]
    shape = [1, h, w, channels] if nhwc else [1, channels, h, w]
    return make_model(nodes, {"W": W, "b": b, "D": D}, shape, [1, classes])


def tiny_mlp(seed: int = 0, n_in: int = 9, hidden: int = 6, classes: int = 3):
    """x (1, n_in) -> Gemm -> Relu -> Gemm: a toy MLP."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "W2", "b2"], ["y"]),
    ]
    inits = {
        "W1": rng.standard_normal((n_in, hidden)),
        "b1": rng.standard_normal(hidden) * 0.1,
        "W2": rng.standard_normal((hidden, classes)),
        "b2": rng.standard_normal(classes) * 0.1,
    }
    return make_model(nodes, inits, [1, n_in], [1, classes])
