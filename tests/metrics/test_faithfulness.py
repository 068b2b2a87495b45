"""Insertion, deletion, the saliency metric, completeness and soundness on models with known outputs."""

from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest

from smugkit import zoo
from smugkit.errors import InputError
from smugkit.metrics import evaluate
from smugkit.metrics.image import resize_bilinear
from tests.metrics.toys import attribution, linear_image_model, switch_model

ONES = np.ones((1, 1, 4, 4))


def test_deletion_and_insertion_of_perfect_inverted_and_random_maps():
    model = switch_model()  # 16 pixels; class 0 needs pixel (0, 0)
    perfect = np.zeros((4, 4))
    perfect[0, 0] = 1.0
    inverted = 1.0 - perfect
    opts = {"steps": 0, "random_orders": 0}
    d = evaluate(attribution(perfect), metric="deletion", model=model, x=ONES, **opts)
    # curve 1, 0, ..., 0 over fractions k/16: the area of the first interval's triangle
    assert d.value == pytest.approx(0.5 / 16) and d.details["curve"][:2] == pytest.approx([1, 0])
    d_inv = evaluate(attribution(inverted), metric="deletion", model=model, x=ONES, **opts)
    assert d_inv.value == pytest.approx(1 - 0.5 / 16)
    ins = evaluate(attribution(perfect), metric="insertion", model=model, x=ONES, **opts)
    assert ins.value == pytest.approx(1 - 0.5 / 16) and ins.higher_is_better
    ins_inv = evaluate(attribution(inverted), metric="insertion", model=model, x=ONES, **opts)
    assert ins_inv.value == pytest.approx(0.5 / 16)
    # a random ranking removes pixel (0, 0) at a uniform position j = 1..16: expected area 1/2
    rnd = evaluate(attribution(perfect), metric="deletion", model=model, x=ONES, steps=0, random_orders=400)
    assert rnd.details["random_auc"] == pytest.approx(0.5, abs=0.04)
    noise = np.random.default_rng(1).standard_normal((4, 4))
    r = evaluate(attribution(noise), metric="deletion", model=model, x=ONES, **opts).value
    assert d.value <= r <= d_inv.value


def test_deletion_curve_matches_a_plain_loop_on_onnxruntime():
    """The digits CNN: every curve point equals the probability onnxruntime gives for the same input."""
    x = zoo.sample_inputs(28)[0][3]
    rng = np.random.default_rng(0)
    a = attribution(rng.standard_normal((1, 1, 28, 28)), target=9)
    from smugkit.model import Model

    s = evaluate(
        a, metric="deletion", model=Model(zoo.model_path("digits_cnn28")), x=x, steps=7, random_orders=0
    )
    sess = ort.InferenceSession(str(zoo.model_path("digits_cnn28")))
    order = np.argsort(-a.values.reshape(-1), kind="stable")
    ks = np.round(np.linspace(0, 784, 8)).astype(int)
    ref = []
    for k in ks:
        xi = x.reshape(-1).copy()
        xi[order[:k]] = 0.0
        z = sess.run(None, {"input": xi.reshape(1, 1, 28, 28).astype(np.float32)})[0][0].astype(np.float64)
        ref.append(np.exp(z[9] - z.max()) / np.exp(z - z.max()).sum())
    assert s.details["curve"] == pytest.approx(ref, abs=1e-5)
    assert s.value == pytest.approx(np.trapezoid(ref, ks / 784), abs=1e-5)
    from smugkit.metrics.insertion_deletion import curve
    from smugkit.units import detect_layout

    m = Model(zoo.model_path("digits_cnn28"))
    args = (m, detect_layout(m.network), x[None], order, ks, np.zeros((28, 28, 1)), 9, False)
    assert curve(*args, chunk=3) == pytest.approx(curve(*args), abs=1e-12)


def test_fills_and_all_zero_maps():
    model = switch_model()
    z = evaluate(attribution(np.zeros((4, 4))), metric="insertion", model=model, x=ONES)
    assert math.isnan(z.value) and "all zeros" in z.details["reason"]
    with pytest.raises(InputError, match="unknown fill 'grey'"):
        evaluate(attribution(np.ones((4, 4))), metric="deletion", model=model, x=ONES, fill="grey")
    m = np.zeros((4, 4))
    m[0, 0] = 1
    # the mean fill of an all-ones image is 1: deleting changes nothing
    assert evaluate(
        attribution(m), metric="deletion", model=model, x=ONES, fill="mean"
    ).value == pytest.approx(1)


def test_bilinear_resize_equals_the_zoo_torch_equal_upsampling():
    img = np.random.default_rng(0).random((8, 8))
    ref = zoo.upsample_bilinear(img[None], 28)[0]  # clipped to [0, 1]; inputs in [0, 1] stay there
    assert resize_bilinear(img[:, :, None], 28, 28)[:, :, 0] == pytest.approx(ref, abs=1e-12)


def _blob_model():
    """8x8 input, two classes: logit_0 = 20 (mean(x) - 0.5), logit_1 = 0."""
    w = np.zeros((8, 8, 2))
    w[:, :, 0] = 20.0 / 64
    return linear_image_model(w, np.array([-10.0, 0.0]))


def test_saliency_metric_finds_the_known_crop():
    model = _blob_model()
    x = np.zeros((1, 1, 8, 8))
    x[0, 0, 2:4, 2:4] = 1.0  # a 2x2 bright blob: any crop inside it resizes to all ones, p = sigmoid(10)
    log_p_blob = -math.log1p(math.exp(-10.0))
    peak = np.zeros((8, 8))
    peak[2:4, 2:4] = [[1.0, 0.5], [0.5, 0.5]]
    s = evaluate(attribution(peak), metric="saliency_metric", model=model, x=x)
    # the best box is the one peak pixel: area 1/64 floored to 0.05
    assert s.value == pytest.approx(math.log(0.05) - log_p_blob) and s.details["box"] == [2, 2, 3, 3]
    blob = (x[0, 0] > 0).astype(float)
    b = evaluate(attribution(blob), metric="saliency_metric", model=model, x=x)
    assert b.value == pytest.approx(math.log(4 / 64) - log_p_blob) and b.details["box"] == [2, 2, 4, 4]
    inv = evaluate(attribution(1 - blob), metric="saliency_metric", model=model, x=x)
    # positives span the image: the whole image, p = sigmoid(20 (4/64 - 0.5))
    assert inv.value == pytest.approx(math.log1p(math.exp(-20 * (4 / 64 - 0.5)))) and inv.details["area"] == 1
    rnd = evaluate(
        attribution(np.random.default_rng(0).random((8, 8))), metric="saliency_metric", model=model, x=x
    )
    assert s.value <= rnd.value
    nan = evaluate(attribution(-blob), metric="saliency_metric", model=model, x=x)
    assert math.isnan(nan.value) and "no positive value" in nan.details["reason"]


def test_completeness_keeps_the_label_and_soundness_catches_a_shape():
    model = switch_model()
    keep00 = np.zeros((4, 4))
    keep00[0, 0] = 1
    c = evaluate(attribution(keep00), metric="completeness", model=model, x=ONES)
    assert c.value == pytest.approx(1.0) and c.details["preserved"] and c.details["kept_fraction"] == 1 / 16
    c_inv = evaluate(attribution(1 - keep00), metric="completeness", model=model, x=ONES)
    assert c_inv.value == pytest.approx(0.0, abs=1e-12) and not c_inv.details["preserved"]
    top = evaluate(
        attribution(np.arange(16.0).reshape(4, 4)[::-1, ::-1]),
        metric="completeness",
        model=model,
        x=ONES,
        keep=1 / 16,
    )
    assert top.value == pytest.approx(1.0) and top.details["kept_fraction"] == 1 / 16
    # a model that says class 0 whenever anything shows in the top-left 2x2 block: that shape creates the label
    w = np.zeros((4, 4, 2))
    w[:2, :2, 0] = 100.0
    shape_model = linear_image_model(w, np.array([-0.01, 0.0]))
    corner = np.zeros((4, 4))
    corner[:2, :2] = 1
    unsound = evaluate(attribution(corner), metric="soundness", model=shape_model, x=ONES, samples=32)
    assert unsound.value == 0.0 and unsound.details["created"] == 32
    # the switch model needs pixel (0, 0) to be bright (> 0.5): noise there gets class 0 about half the time
    half = evaluate(attribution(keep00), metric="soundness", model=model, x=ONES, samples=200)
    assert half.value == pytest.approx(0.5, abs=0.1)
    elsewhere = evaluate(attribution(1 - keep00), metric="soundness", model=model, x=ONES)
    assert elsewhere.value == 1.0
    nan = evaluate(attribution(-keep00), metric="soundness", model=model, x=ONES)
    assert math.isnan(nan.value) and "keeps nothing" in nan.details["reason"]
