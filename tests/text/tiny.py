"""Tiny ONNX text CNNs (ids -> Gather -> Conv1D -> ReLU -> ReduceMax -> Gemm) and their vocabularies."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from smugkit.text.vocab import Vocabulary

WORDS = ("good", "bad", "movie", "the", "was", "very", "not", "plot", "actors", "fun")


def tiny_vocab(length: int = 6) -> Vocabulary:
    return Vocabulary(tokens=("<pad>", "<unk>", *WORDS), length=length)


def tiny_text_cnn(
    seed: int = 0, length: int = 6, dim: int = 3, filters: int = 5, classes: int = 2, sigmoid=False
):
    """A random text CNN over `tiny_vocab` (pad row zero) as an ONNX ModelProto with int64 ids (1, length)."""
    rng = np.random.default_rng(seed)
    v = 2 + len(WORDS)
    table = rng.standard_normal((v, dim)).astype(np.float32)
    table[0] = 0.0
    w = rng.standard_normal((filters, dim, 3)).astype(np.float32)
    b = (0.3 * rng.standard_normal(filters)).astype(np.float32)
    fc = rng.standard_normal((classes, filters)).astype(np.float32)
    fb = (0.1 * rng.standard_normal(classes)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"], name="embed"),
        helper.make_node("Transpose", ["emb"], ["embT"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["embT", "w", "b"], ["conv"], pads=[1, 1], kernel_shape=[3]),
        helper.make_node("Relu", ["conv"], ["h"]),
        helper.make_node("ReduceMax", ["h"], ["pooled"], axes=[2], keepdims=0),
        helper.make_node("Gemm", ["pooled", "fc", "fb"], ["logits"], transB=1),
    ]
    out = "logits"
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["prob"]))
        out = "prob"
    inits = [
        numpy_helper.from_array(a, n)
        for a, n in ((table, "table"), (w, "w"), (b, "b"), (fc, "fc"), (fb, "fb"))
    ]
    g = helper.make_graph(
        nodes,
        "tiny_text_cnn",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, length])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, classes])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m
