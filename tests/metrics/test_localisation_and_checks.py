"""Pointing game, sparsity, mask size, the model sanity checks and robustness, on constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from scipy.stats import spearmanr

from smugkit.attribution import METHODS, Method, attribute, register_method
from smugkit.errors import InputError
from smugkit.metrics import evaluate
from smugkit.metrics.robustness import noisy_inputs
from smugkit.model import Model
from tests.metrics.toys import attribution, linear_image_model, switch_model

BOX = (1, 1, 3, 3)  # rows 1-2, columns 1-2 of a 4x4 image


def test_pointing_game_hits_misses_and_ties():
    model = switch_model()
    inside = np.zeros((4, 4))
    inside[2, 2] = 1
    assert evaluate(attribution(inside), metric="pointing_game", model=model, truth=BOX).value == 1
    mask = np.zeros((4, 4), dtype=bool)
    mask[1:3, 1:3] = True
    assert evaluate(attribution(~mask), metric="pointing_game", model=model, truth=BOX).value == 0
    assert evaluate(attribution(-inside), metric="pointing_game", model=model, truth=BOX).value == 3 / 15
    assert evaluate(attribution(inside), metric="pointing_game", model=model, truth=mask).value == 1
    plateau = np.zeros((4, 4))
    plateau[2, 2] = plateau[0, 0] = plateau[3, 3] = plateau[1, 1] = 1  # two of four peaks inside
    share = evaluate(attribution(plateau), metric="pointing_game", model=model, truth=BOX)
    assert share.value == 0.5 and share.details["peaks"] == 4
    assert (
        evaluate(attribution(plateau), metric="pointing_game", model=model, truth=BOX, ties="any").value == 1
    )
    assert (
        evaluate(attribution(plateau), metric="pointing_game", model=model, truth=BOX, ties="first").value
        == 0
    )
    near = np.zeros((4, 4))
    near[0, 0] = 1
    assert evaluate(attribution(near), metric="pointing_game", model=model, truth=BOX, tolerance=1).value == 1


def test_bad_ground_truth_and_non_image_inputs_are_typed_errors():
    model = switch_model()
    a = attribution(np.eye(4))
    with pytest.raises(InputError, match=r"ground truth must be a box .* got shape \[3, 3\]"):
        evaluate(a, metric="pointing_game", model=model, truth=np.ones((3, 3), dtype=bool))
    with pytest.raises(InputError, match="empty or outside the 4x4 image"):
        evaluate(a, metric="pointing_game", model=model, truth=(0, 0, 5, 2))
    with pytest.raises(InputError, match="pass truth="):
        evaluate(a, metric="pointing_game", model=model)
    z = evaluate(attribution(np.zeros((4, 4))), metric="pointing_game", model=model, truth=BOX)
    assert math.isnan(z.value) and "all zeros" in z.details["reason"]
    # a text model: integer token ids through an embedding
    g = helper.make_graph(
        [
            helper.make_node("Gather", ["E", "x"], ["e"]),
            helper.make_node("Flatten", ["e"], ["f"]),
            helper.make_node("Gemm", ["f", "W"], ["y"]),
        ],
        "text",
        [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [
            numpy_helper.from_array(np.ones((20, 4), np.float32), "E"),
            numpy_helper.from_array(np.ones((24, 2), np.float32), "W"),
        ],
    )
    text = Model(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    ids = np.arange(6).reshape(1, 6)
    for metric, kw in [("pointing_game", {"truth": (0, 0, 1, 2)}), ("deletion", {}), ("saliency_metric", {})]:
        with pytest.raises(InputError, match=f"metric '{metric}' is an image metric.*integer ids"):
            evaluate(attribution(np.ones(6)), metric=metric, model=text, x=ids, **kw)


def test_sparsity_and_mask_size_count_what_the_map_keeps():
    v = np.array([0.0, 0.0, 0.0, 1.0, -2.0, 0.001, 0.0, 4.0])
    assert evaluate(attribution(v), metric="sparsity").value == 4 / 8
    assert evaluate(attribution(v), metric="sparsity", tol=0.01).value == 5 / 8
    assert evaluate(attribution(v), metric="mask_size").value == 3 / 8
    assert evaluate(attribution(v), metric="mask_size", tol=0.1).value == 2 / 8
    for name in ("sparsity", "mask_size"):
        assert math.isnan(evaluate(attribution(np.zeros(5)), metric=name).value)
    assert "no positive value" in evaluate(attribution(-np.ones(3)), metric="mask_size").details["reason"]


@pytest.fixture
def input_method():
    """A method whose map is the input itself, whatever the model: the edge-detector case of Adebayo et al."""

    @register_method
    class InputMap(Method):
        name = "input_map_for_tests"

        from dataclasses import dataclass as _dc

        @_dc(frozen=True)
        class Options:
            pass

        def compute(self, model, x, target):
            return np.asarray(x, dtype=np.float64), model.input.name, {}

    yield InputMap.name
    del METHODS[InputMap.name]


def _linear():
    w = np.random.default_rng(3).standard_normal((4, 4, 3))
    return linear_image_model(w, np.zeros(3)), w


def test_model_randomisation_passes_gradients_and_fails_an_input_map(input_method):
    model, w = _linear()
    x = np.random.default_rng(4).random((1, 1, 4, 4)) + 0.1
    blind = evaluate(
        attribute(model, x, method=input_method, target=1), metric="model_randomisation", model=model, x=x
    )
    assert blind.value == pytest.approx(1.0) and len(blind.details["correlations"]) == 1
    g = attribute(model, x, method="gradient", target=1)
    assert g.values.reshape(-1) == pytest.approx(w[:, :, 1].reshape(-1))  # the gradient is the weight column
    s = evaluate(g, metric="model_randomisation", model=model, x=x, seed=7)
    # the one layer (Gemm) is redrawn from N(0, std) with the seeded stream, weights first
    rng = np.random.default_rng(7)
    flat = w.reshape(16, 3)
    drawn = rng.normal(0.0, flat.std(), flat.shape)
    assert s.value == pytest.approx(spearmanr(np.abs(flat[:, 1]), np.abs(drawn[:, 1])).statistic)


def test_model_perturbation_degrades_with_the_noise(input_method):
    model, _ = _linear()
    x = np.random.default_rng(4).random((1, 1, 4, 4)) + 0.1
    blind = evaluate(
        attribute(model, x, method=input_method, target=1), metric="model_perturbation", model=model, x=x
    )
    assert blind.value == pytest.approx(1.0)
    g = attribute(model, x, method="gradient", target=1)
    s = evaluate(g, metric="model_perturbation", model=model, x=x, scales=(1e-6, 0.3, 3.0))
    c = s.details["correlations"]
    assert c[0] == pytest.approx(1.0) and c[0] > c[2] and len(s.details["prediction_kept"]) == 3
    with pytest.raises(InputError, match="scales must be positive"):
        evaluate(g, metric="model_perturbation", model=model, x=x, scales=(0.1, -1.0))


def test_robustness_of_a_constant_and_an_input_following_map(input_method):
    model, _ = _linear()
    x = np.random.default_rng(4).random((1, 1, 4, 4)) + 0.1
    g = attribute(model, x, method="gradient", target=1)  # a linear model's gradient ignores the input
    assert evaluate(g, metric="max_sensitivity", model=model, x=x).value == pytest.approx(0.0, abs=1e-12)
    assert evaluate(g, metric="topk_intersection", model=model, x=x, k=0.25).value == 1.0
    a = attribute(model, x, method=input_method, target=1)
    s = evaluate(a, metric="max_sensitivity", model=model, x=x, radius=0.05, samples=5, seed=2)
    u = noisy_inputs(x, 0.05, 5, 2) - x
    assert s.value == pytest.approx(max(np.linalg.norm(d) for d in u) / np.linalg.norm(x))
    z = evaluate(attribution(np.zeros((4, 4)), method="gradient"), metric="max_sensitivity", model=model, x=x)
    assert math.isnan(z.value) and "all zeros" in z.details["reason"]
    with pytest.raises(InputError, match="no registered method"):
        evaluate(attribution(np.ones((4, 4)), method="nope"), metric="topk_intersection", model=model, x=x)


def test_localisation_auc_f1_and_mae_of_perfect_inverted_and_random_maps():
    model = switch_model()
    region = np.zeros((4, 4), dtype=bool)
    region[1:3, 1:4] = True  # 6 of 16 pixels
    perfect, inverted = region.astype(float), (~region).astype(float)
    score = {
        n: (lambda v, n=n, **kw: evaluate(attribution(v), metric=n, model=model, truth=region, **kw).value)
        for n in ("localisation_auc", "max_f1", "min_mae")
    }
    assert (score["localisation_auc"](perfect), score["max_f1"](perfect), score["min_mae"](perfect)) == (
        1,
        1,
        0,
    )
    assert score["localisation_auc"](inverted) == 0
    assert score["max_f1"](inverted) == pytest.approx(2 * 6 / (16 + 6))  # best cut: keep every pixel
    assert score["min_mae"](inverted) == pytest.approx(6 / 16)  # best cut: keep none
    from sklearn.metrics import roc_auc_score

    rnd = np.round(np.random.default_rng(5).standard_normal((4, 4)), 1)  # with ties
    assert score["localisation_auc"](rnd) == pytest.approx(roc_auc_score(region.ravel(), rnd.ravel()))
    f1s, maes = [], []
    for t in np.unique(rnd):
        kept = rnd >= t
        tp = (kept & region).sum()
        f1s.append(2 * tp / (kept.sum() + region.sum()))
        maes.append((kept != region).mean())
    assert score["max_f1"](rnd) == pytest.approx(max(f1s))
    assert score["min_mae"](rnd) == pytest.approx(min([*maes, region.mean()]))
    everything = evaluate(attribution(rnd), metric="max_f1", model=model, truth=np.ones((4, 4), bool))
    assert math.isnan(everything.value) and "covers everything" in everything.details["reason"]
