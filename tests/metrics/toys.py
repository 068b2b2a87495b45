"""Tiny ONNX image models whose outputs are known in closed form, for metric tests."""

from __future__ import annotations

import numpy as np
from onnx import helper

from smugkit.attribution import Attribution
from smugkit.model import Model
from tests.attribution.helpers import make_model


def linear_image_model(weights: np.ndarray, bias: np.ndarray) -> Model:
    """``logits = flatten(x) @ weights + bias`` over a ``(1, 1, H, W)`` input; ``weights`` is ``(H, W, K)``."""
    h, w, k = weights.shape
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("Gemm", ["f", "W", "b"], ["y"]),
    ]
    onnx_model = make_model(nodes, {"W": weights.reshape(h * w, k), "b": bias}, [1, 1, h, w], [1, k])
    return Model(onnx_model.SerializeToString())


def switch_model(h: int = 4, w: int = 4, pixel=(0, 0), gain: float = 100.0) -> Model:
    """Two classes; class 0 wins (probability 1 - 1e-22) exactly when pixel ``pixel`` is 1, not 0."""
    weights = np.zeros((h, w, 2))
    weights[pixel[0], pixel[1], 0] = gain
    return linear_image_model(weights, np.array([-gain / 2, 0.0]))


def attribution(values, target: int = 0, method: str = "test", **options) -> Attribution:
    return Attribution(
        values=np.asarray(values, float), method=method, target=target, tensor="x", model="m", options=options
    )
