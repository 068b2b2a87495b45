"""The Model interface: scores, probabilities and gradients, batched, against onnxruntime and the IR."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from smugkit import zoo
from smugkit.errors import InputError
from smugkit.frontends import load_model
from smugkit.model import Model, gradient, softmax


@pytest.fixture(scope="module")
def model():
    return Model(zoo.model_path("digits_cnn8"))


@pytest.fixture(scope="module")
def points():
    images, _ = zoo.sample_inputs(8)
    return np.asarray(images[:5], np.float64)  # a batch (N, 1, 8, 8) of a (1, 1, 8, 8) model


def test_scores_and_probs_agree_with_onnxruntime(model, points):
    sess = ort.InferenceSession(str(zoo.model_path("digits_cnn8")), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ref = np.concatenate([sess.run(None, {name: p[None].astype(np.float32)})[0] for p in points])
    probs = model.probs(points)
    assert probs.shape == (len(points), model.num_classes)
    assert np.allclose(probs.sum(axis=1), 1.0)
    ref = ref.reshape(probs.shape)  # the bundled model outputs logits
    assert np.allclose(model.scores(points), ref, atol=1e-4)
    assert np.allclose(probs, softmax(ref.astype(np.float64)), atol=1e-5)
    assert np.array_equal(model.predict(points), ref.argmax(axis=1))
    assert model.predict(points[0][None]) == int(ref[0].argmax())


@pytest.mark.parametrize("gradients", ["ir", "onnx"])
def test_grad_is_batched_and_matches_the_gradient_function(points, gradients):
    m = Model(zoo.model_path("digits_cnn8"), gradients=gradients)
    batch = m.grad(points, 3, kind="logit")
    assert batch.shape == points.shape
    for p, g in zip(points, batch):
        assert np.allclose(m.grad(p[None], 3, kind="logit")[0], g, atol=1e-5)
    assert np.allclose(batch, gradient(m.network, points, target=3, kind="logit"), atol=1e-4)


def test_finite_differences_agree_with_exact_gradients(points):
    exact = Model(zoo.model_path("digits_cnn8")).grad(points[0][None], 2, kind="logit")
    fd = Model(zoo.model_path("digits_cnn8"), gradients="fd").grad(points[0][None], 2, kind="logit")
    # within ~1e-2 of the gradient's scale away from ReLU kinks (the fd provider's documented error)
    err = np.abs(fd - exact).reshape(-1)
    assert np.quantile(err, 0.9) < 1e-2 * np.abs(exact).max()
    assert np.corrcoef(fd.reshape(-1), exact.reshape(-1))[0, 1] > 0.999


def test_a_model_wraps_networks_and_refuses_unknown_providers():
    net = load_model(zoo.model_path("digits_mlp8"))
    assert Model.of(net).network is net
    m = Model(net)
    assert Model.of(m) is m and Model.of(m, gradients="onnx").gradients == "onnx"
    with pytest.raises(InputError, match="unknown gradient provider 'nope'"):
        Model(net, gradients="nope")
    with pytest.raises(InputError, match="expected a smugkit Model or Network"):
        gradient(object(), np.zeros(3))


def test_calls_count_the_points_evaluated(model, points):
    m = Model(model.network)
    m.scores(points)
    m.probs(points[:1])
    m.grad(points[:2], target=1)
    assert m.calls == {"scores": len(points) + 1, "grad": 2}
