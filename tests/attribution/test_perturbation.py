"""Perturbation (black-box) methods on analytic models whose right answer is known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from onnx import helper

import smugkit
from smugkit.attribution.blackbox import TargetScorer
from smugkit.attribution.gsa import hsic_binary, latin_hypercube
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.units import detect_layout
from smugkit.units.superpixels import make_superpixels, slic_segments
from tests.attribution.helpers import make_model, tiny_mlp

BLACK_BOX = ("occlusion", "rise", "lime", "kernel_shap", "sobol", "hsic")
SIDE = 8


def additive_model(seed: int = 0):
    """y0 = sum_i (a_i x_i^2 + b_i x_i) over an 8x8 image, y1 = 0: a sum of one term per pixel."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(1, 1, SIDE, SIDE))
    b = rng.normal(size=(1, 1, SIDE, SIDE))
    d = np.zeros((SIDE * SIDE, 2))
    d[:, 0] = 1.0
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["x2"]),
        helper.make_node("Mul", ["x2", "A"], ["ax2"]),
        helper.make_node("Mul", ["x", "B"], ["bx"]),
        helper.make_node("Add", ["ax2", "bx"], ["t"]),
        helper.make_node("Flatten", ["t"], ["f"]),
        helper.make_node("Gemm", ["f", "D"], ["y"]),
    ]
    model = make_model(nodes, {"A": a, "B": b, "D": d}, [1, 1, SIDE, SIDE], [1, 2])
    return Model(model.SerializeToString()), a, b


def left_half_model(seed: int = 1):
    """x * (left-half mask) -> Conv 3x3 -> Relu -> Flatten -> Gemm: the right half cannot matter."""
    rng = np.random.default_rng(seed)
    keep = np.zeros((1, 1, SIDE, SIDE))
    keep[..., : SIDE // 2] = 1.0
    nodes = [
        helper.make_node("Mul", ["x", "K"], ["xk"]),
        helper.make_node("Conv", ["xk", "W", "c"], ["h"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "D"], ["y"]),
    ]
    inits = {
        "K": keep,
        "W": rng.normal(size=(4, 1, 3, 3)),
        "c": rng.normal(size=4) * 0.1,
        "D": rng.normal(size=(4 * SIDE * SIDE, 3)) * 0.3,
    }
    return Model(make_model(nodes, inits, [1, 1, SIDE, SIDE], [1, 3]).SerializeToString())


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(5).uniform(0.2, 1.0, (1, 1, SIDE, SIDE))


def blocks() -> np.ndarray:
    """Eight 4x2 superpixels, none straddling the two halves."""
    r, c = np.mgrid[0:SIDE, 0:SIDE]
    return (r // 4) * 4 + c // 2


def test_occlusion_recovers_the_terms_of_an_additive_model(x):
    model, a, b = additive_model()
    terms = a * x**2 + b * x
    one = smugkit.attribute(model, x, method="occlusion", target=0, patch=1, stride=1, kind="logit")
    assert np.allclose(one.values, terms, atol=1e-4)
    tiles = smugkit.attribute(model, x, method="occlusion", target=0, patch=2, stride=2, kind="logit")
    sums = terms.reshape(SIDE // 2, 2, SIDE // 2, 2).sum(axis=(1, 3))
    assert np.allclose(tiles.values.reshape(SIDE, SIDE), np.kron(sums, np.ones((2, 2))), atol=1e-4)
    assert tiles.diagnostics["model_calls"] == 1 + (SIDE // 2) ** 2


def test_surrogates_recover_superpixel_sums_of_an_additive_model(x):
    model, a, b = additive_model()
    seg = blocks()
    sums = np.bincount(seg.ravel(), (a * x**2 + b * x).ravel())
    shap = smugkit.attribute(model, x, method="kernel_shap", target=0, kind="logit", segmentation=seg)
    assert shap.diagnostics["exact"] and np.allclose(shap.values.reshape(-1), sums[seg.ravel()], atol=1e-4)
    sampled = smugkit.attribute(
        model,
        x,
        method="kernel_shap",
        target=0,
        kind="logit",
        segmentation="grid",
        n_segments=64,
        n_samples=300,
    )
    assert not sampled.diagnostics["exact"]
    assert np.allclose(sampled.values, a * x**2 + b * x, atol=1e-3)
    lime = smugkit.attribute(model, x, method="lime", target=0, kind="logit", segmentation=seg, alpha=0.0)
    assert np.allclose(lime.values.reshape(-1), sums[seg.ravel()], atol=1e-3)


@pytest.mark.parametrize("method", BLACK_BOX)
def test_a_half_the_model_ignores_gets_no_attribution(method, x):
    model = left_half_model()
    options = {
        "occlusion": {"patch": 2, "stride": 2},
        "rise": {"n_masks": 3000, "grid_size": 4},
        "lime": {"segmentation": blocks(), "n_samples": 400},
        "kernel_shap": {"segmentation": blocks()},
        "sobol": {"grid_size": 4},
        "hsic": {"grid_size": 4, "n_design": 400},
    }[method]
    att = smugkit.attribute(model, x, method=method, **options)
    values = att.values.reshape(SIDE, SIDE)
    right_cols = slice(SIDE // 2, None)
    if method == "rise":
        # RISE gives E[f | pixel kept]: for an ignored pixel that is E[f] (the mean output), except where its
        # smooth masks (cells of 2 px, bilinear) still overlap the left half; judge the far columns
        values = values - att.diagnostics["mean_output"]
        right_cols = slice(SIDE - 2, None)
    left, right = np.abs(values[:, : SIDE // 2]).max(), np.abs(values[:, right_cols]).max()
    assert left > 0
    tolerance = {"rise": 0.25, "lime": 0.05, "hsic": 0.2}.get(method, 1e-6)
    assert right <= tolerance * left, (method, right, left)


@pytest.mark.parametrize(
    "method, options",
    [
        ("rise", {"n_masks": 50}),
        ("lime", {"n_samples": 60, "n_segments": 8}),
        ("kernel_shap", {"n_samples": 60, "segmentation": "grid", "n_segments": 16}),
        ("sobol", {"grid_size": 2, "n_design": 8, "scramble": True}),
        ("hsic", {"grid_size": 2, "n_design": 40}),
    ],
)
def test_seeds_repeat_and_batching_does_not_change_results(method, options, x):
    model = left_half_model()
    a = smugkit.attribute(model, x, method=method, target=1, seed=3, **options)
    b = smugkit.attribute(model, x, method=method, target=1, seed=3, internal_batch_size=7, **options)
    c = smugkit.attribute(model, x, method=method, target=1, seed=4, **options)
    assert b.diagnostics["batch_size"] == 7 and a.options["seed"] == 3
    assert np.allclose(a.values, b.values, rtol=1e-6, atol=1e-9)
    assert not np.allclose(a.values, c.values)


def test_memory_bound_limits_the_batch_and_calls_are_counted(x):
    model = left_half_model()
    model.calls.clear()
    a = smugkit.attribute(model, x, method="rise", n_masks=40, max_memory_mb=12 * 64 * 10 / 2**20)
    assert a.diagnostics["batch_size"] == 10 and a.diagnostics["model_calls"] == 40
    assert model.calls["scores"] >= 40


def test_onnxruntime_scorer_matches_the_exact_forward(x):
    model = left_half_model()
    pts = np.random.default_rng(0).uniform(0, 1, (9, 1, 1, SIDE, SIDE))
    score = TargetScorer(model, 2, kind="logit", batch_size=4)
    assert score.session is not None
    got = score(9, lambda a, b: pts[a:b])
    ref = np.asarray(model.scores(pts)).reshape(9, -1)[:, 2]
    assert np.allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_exact_kernel_shap_is_the_brute_force_shapley_value(x):
    model = left_half_model(seed=7)
    r, c = np.mgrid[0:SIDE, 0:SIDE]
    seg = (r // 4) * 2 + (c // 4) + 2 * ((r % 4) // 2) * 2  # 8 pieces, mixing rows across the halves
    seg = np.unique(seg, return_inverse=True)[1].reshape(SIDE, SIDE)
    m = seg.max() + 1
    att = smugkit.attribute(model, x, method="kernel_shap", target=0, kind="logit", segmentation=seg)
    assert att.diagnostics["exact"]

    subsets = [s for k in range(m + 1) for s in itertools.combinations(range(m), k)]
    stack = np.stack([x * np.isin(seg, list(s)) for s in subsets])  # every coalition, one model call
    cache = dict(zip(subsets, np.asarray(model.scores(stack)).reshape(len(subsets), -1)[:, 0]))
    phi = np.zeros(m)
    for i in range(m):
        rest = [j for j in range(m) if j != i]
        for k in range(m):
            w = math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m)
            for s in itertools.combinations(rest, k):
                phi[i] += w * (cache[tuple(sorted(s + (i,)))] - cache[s])
    got = np.array([att.values.reshape(SIDE, SIDE)[seg == i][0] for i in range(m)])
    assert np.allclose(got, phi, atol=1e-4)


def test_hsic_estimator_matches_the_trace_formula():
    rng = np.random.default_rng(0)
    masks = (rng.random((30, 5)) > 0.5).astype(float)
    y = masks[:, 0] * 2 + rng.normal(size=30) * 0.1
    got, width = hsic_binary(masks, y)
    n = len(y)
    h = np.eye(n) - 1.0 / n
    gram = np.exp(-((y[:, None] - y[None]) ** 2) / (2 * width**2))
    ref = [
        np.trace((masks[:, [d]] == masks[:, d][None]).astype(float) @ h @ gram @ h) / (n - 1) ** 2
        for d in range(5)
    ]
    assert np.allclose(got, ref) and got.argmax() == 0


def test_latin_hypercube_puts_one_point_in_each_stratum():
    pts = latin_hypercube(10, 3, np.random.default_rng(0))
    assert all(sorted(np.floor(pts[:, j] * 10).astype(int)) == list(range(10)) for j in range(3))


def test_superpixels_partition_the_image_into_connected_pieces():
    from scipy import ndimage

    from smugkit import zoo

    img = zoo.sample_inputs(28)[0][0].reshape(28, 28, 1)
    seg = slic_segments(img, n_segments=30)
    assert seg.shape == (28, 28) and seg.min() == 0 and 15 <= seg.max() + 1 <= 60
    assert all(ndimage.label(seg == v)[1] == 1 for v in range(seg.max() + 1))
    net = Model(zoo.model_path("digits_cnn28")).network
    units = make_superpixels(detect_layout(net), img.reshape(1, 1, 28, 28), "grid", n_segments=16)
    assert units.count == 16 and units.ids().shape == (1, 1, 28, 28)


@pytest.mark.parametrize(
    "method, options, match",
    [
        ("rise", {"n_masks": 0}, "n_masks must be >= 1"),
        ("rise", {"p": 1.0}, "strictly between 0 and 1"),
        ("rise", {"p": 0}, "strictly between 0 and 1"),
        ("occlusion", {"patch": 9}, "larger than the 8x8 image"),
        ("occlusion", {"stride": 0}, "stride must be >= 1"),
        ("lime", {"n_samples": 0}, "n_samples must be >= 1"),
        ("kernel_shap", {"segmentation": "quickshift"}, "segmentation must be one of"),
        ("sobol", {"grid_size": 9}, "larger than the 8x8 image"),
        ("hsic", {"n_design": 1}, "n_design must be >= 2"),
        ("occlusion", {"fill": "grey"}, "fill must be a number or one of"),
        ("occlusion", {"kind": "log"}, "kind must be one of"),
        ("rise", {"internal_batch_size": 0}, "internal_batch_size must be >= 1"),
    ],
)
def test_bad_options_are_typed_errors(method, options, match, x):
    with pytest.raises(InputError, match=match):
        smugkit.attribute(left_half_model(), x, method=method, **options)


@pytest.mark.parametrize("method", BLACK_BOX)
def test_a_model_without_an_image_input_is_a_typed_error(method):
    model = Model(tiny_mlp(n_in=7).SerializeToString())
    with pytest.raises(InputError, match="image-like input"):
        smugkit.attribute(model, np.ones((1, 7)), method=method)
