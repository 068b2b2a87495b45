"""Integrated Gradients: completeness on analytic models, convergence, baselines, internal tensors, errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from scipy.ndimage import gaussian_filter

from smugkit.attribution.integrated_gradients import RULES, integrated_gradients, quadrature
from smugkit.errors import GradientError, InputError
from smugkit.frontends import load_model
from smugkit.model import gradient
from smugkit.units import make_baseline, spatial_axes

RNG = np.random.default_rng(11)
W = RNG.standard_normal((5, 3))
B = RNG.standard_normal(3) * 0.1


def model(nodes, in_shape, inits, in_name="x", out="y", elem=TensorProto.FLOAT) -> onnx.ModelProto:
    """One input, one output; output shape from shape inference."""
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(in_name, elem, in_shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()],
    )
    return onnx.shape_inference.infer_shapes(
        helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    )


@pytest.fixture(scope="module")
def linear():
    return load_model(model([helper.make_node("Gemm", ["x", "W", "B"], ["y"])], [1, 5], {"W": W, "B": B}))


@pytest.fixture(scope="module")
def sigmoid():
    return load_model(
        model(
            [helper.make_node("MatMul", ["x", "W"], ["z"]), helper.make_node("Sigmoid", ["z"], ["y"])],
            [1, 5],
            {"W": W},
        )
    )


_R = np.random.default_rng(5)
MLP_W = {
    "W1": _R.standard_normal((5, 7)),
    "b1": _R.standard_normal(7) * 0.3,
    "W2": _R.standard_normal((7, 4)),
    "W3": _R.standard_normal((4, 3)),
}
HEAD = [
    helper.make_node("Gemm", ["post", "W2"], ["u"]),
    helper.make_node("Tanh", ["u"], ["t"]),
    helper.make_node("Gemm", ["t", "W3"], ["logits"]),
    helper.make_node("Softmax", ["logits"], ["y"]),
]


def mlp_proto() -> onnx.ModelProto:
    """x -> Gemm -> Relu (first-layer post) -> Gemm -> Tanh -> Gemm -> Softmax (cut: probability output)."""
    first = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"]), helper.make_node("Relu", ["h"], ["post"])]
    return model(first + HEAD, [1, 5], MLP_W)


@pytest.fixture(scope="module")
def mlp():
    return load_model(mlp_proto())


@pytest.fixture(scope="module")
def rest_of_mlp():
    """The same network from its post-ReLU tensor on: IG on that tensor must agree with IG on this."""
    return load_model(model(HEAD, [1, 7], {k: MLP_W[k] for k in ("W2", "W3")}, in_name="post"))


X = np.array([[0.3, -0.7, 0.9, 0.1, 0.5]])


@pytest.mark.parametrize("rule", RULES)
def test_linear_model_ig_is_exact(linear, rule):
    res = integrated_gradients(linear, X, target=2, steps=3, rule=rule, kind="logit")
    assert np.allclose(res.attributions, X * W[:, 2], atol=1e-12)
    assert res.completeness_error < 1e-10
    assert res.attributions.shape == (1, 5) and res.target == (0, 2) and res.rule == rule


def test_sigmoid_model_matches_the_closed_form_and_converges(sigmoid):
    # f = s(w.x): along the path the gradient is w s'(a w.x), so IG_i = x_i w_i (f(x) - f(0)) / (w.x)
    z = (X @ W[:, 1]).item()
    exact = X * W[:, 1] * (1 / (1 + np.exp(-z)) - 0.5) / z
    for rule in RULES:
        errors = [
            integrated_gradients(sigmoid, X, target=1, steps=m, rule=rule).completeness_error
            for m in (2, 8, 32)
        ]
        # each refinement shrinks the error until it reaches rounding level (Gauss-Legendre gets there at 8)
        floor = 1e-12
        assert errors[0] > max(errors[1], floor) and (errors[1] > errors[2] or errors[1] <= floor), (
            rule,
            errors,
        )
    res = integrated_gradients(sigmoid, X, target=1, steps=64, rule="gauss_legendre")
    assert np.allclose(res.attributions, exact, atol=1e-12)
    mid = integrated_gradients(sigmoid, X, target=1, steps=200)
    assert mid.rule == "riemann_mid" and mid.steps == 200
    assert mid.relative_error < 1e-4 and np.allclose(mid.attributions, exact, atol=1e-6)
    rec = mid.record()
    assert rec["steps"] == 200 and rec["target"] == [0, 1] and rec["options"]["seed"] == 0
    assert np.isclose(rec["attribution_sum"], mid.attributions.sum()) and "attributions" not in rec


def test_probability_target_is_the_default_after_a_cut_softmax(mlp):
    res = integrated_gradients(mlp, X, steps=1024)  # ReLU kinks: a piecewise-smooth integrand, O(1/steps)
    assert res.output == "probability" and mlp.origin.post_processing == "softmax"
    logits = mlp.run(X)[mlp.output.name]
    p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert res.target == (0, int(p.argmax())) and np.isclose(res.f_x, p.max())
    assert res.relative_error < 1e-3
    assert integrated_gradients(mlp, X, steps=8, kind="logit").output == "logit"
    assert np.array_equal(gradient(mlp, X, target=1), gradient(mlp, X, target=1, kind="probability"))


def test_internal_tensor_ig_equals_ig_on_the_sub_network(mlp, rest_of_mlp):
    post = mlp.first_layer().post
    assert post == "post"
    value = mlp.run(X, ["post"])["post"]
    for kw, sub_baseline in (
        ({}, "zeros"),
        ({"baseline": "white", "tensor_baseline": "input"}, mlp.run(np.ones((1, 5)), ["post"])["post"]),
    ):
        res = integrated_gradients(mlp, X, target=1, tensor=post, steps=50, **kw)
        ref = integrated_gradients(rest_of_mlp, value, target=1, steps=50, baseline=sub_baseline)
        assert res.attributions.shape == (1, 7)
        assert np.allclose(res.attributions, ref.attributions, atol=1e-12)
        assert np.isclose(res.f_x - res.f_baseline, ref.f_x - ref.f_baseline)


def test_providers_agree_on_ig(mlp):
    post = mlp.first_layer().post
    ir = integrated_gradients(mlp, X, target=0, tensor=post, steps=40)
    on = integrated_gradients(mlp, X, target=0, tensor=post, steps=40, gradients="onnx")
    assert on.provider == "onnx"
    assert np.abs(on.attributions - ir.attributions).max() <= 1e-5 * np.abs(ir.attributions).max()
    raw = mlp.origin.source
    assert raw.startswith("<")  # built in memory: the fd provider needs the model itself
    fd = integrated_gradients(
        mlp, X, target=0, tensor=post, steps=40, gradients="fd", provider_options={"model": mlp_proto()}
    )
    assert np.abs(fd.attributions - ir.attributions).max() <= 1e-2 * np.abs(ir.attributions).max()


def test_ig_on_the_zoo_cnn_first_layer():
    from smugkit.zoo import model_path, sample_inputs

    net = load_model(model_path("digits_cnn8"))
    x = sample_inputs(8)[0][0]  # (1, 8, 8): one image without the batch axis
    post = net.first_layer().post
    ir = integrated_gradients(net, x, target=None, tensor=post, kind="probability", steps=64, batch_size=16)
    on = integrated_gradients(
        net, x, target=None, tensor=post, kind="probability", steps=64, gradients="onnx"
    )
    assert ir.attributions.shape == net.tensor(post).shape[1:]
    assert np.abs(on.attributions - ir.attributions).max() <= 1e-4 * np.abs(ir.attributions).max()
    assert ir.relative_error < 0.05 and ir.evaluations == 64
    whole = integrated_gradients(
        net, x, target=None, tensor=post, kind="probability", steps=64, batch_size=64
    )
    assert np.allclose(whole.attributions, ir.attributions, atol=1e-12)  # chunking changes nothing


# -- baselines ---------------------------------------------------------------------------------------------------
def test_black_white_is_the_average_of_black_and_white(sigmoid):
    bw = integrated_gradients(sigmoid, X, target=0, baseline="black_white", steps=30, input_range=(-1.0, 2.0))
    black = integrated_gradients(sigmoid, X, target=0, baseline=np.full((1, 5), -1.0), steps=30)
    white = integrated_gradients(sigmoid, X, target=0, baseline=np.full((1, 5), 2.0), steps=30)
    assert np.allclose(bw.attributions, (black.attributions + white.attributions) / 2, atol=1e-14)
    assert np.isclose(bw.f_baseline, (black.f_baseline + white.f_baseline) / 2)
    assert bw.evaluations == 60 and bw.baseline == "black_white"


def test_blur_uniform_and_array_baselines():
    img = np.random.default_rng(0).uniform(0, 1, (1, 3, 16, 12))
    assert spatial_axes(img.shape) == (2, 3) and spatial_axes((1, 32, 32, 3)) == (1, 2)
    assert np.allclose(
        make_baseline("blur", img, blur_sigma=2.0), gaussian_filter(img, [0, 0, 2.0, 2.0], mode="nearest")
    )
    u = make_baseline("uniform", img, seed=3, input_range=(0.2, 0.4))
    assert np.array_equal(u, make_baseline("uniform", img, seed=3, input_range=(0.2, 0.4)))
    assert not np.array_equal(u, make_baseline("uniform", img, seed=4, input_range=(0.2, 0.4)))
    assert u.min() >= 0.2 and u.max() <= 0.4
    assert np.array_equal(make_baseline("white", img, input_range=(0, 255)), np.full(img.shape, 255.0))
    net = load_model(
        model(
            [
                helper.make_node("Conv", ["x", "K"], ["c"]),
                helper.make_node("Sigmoid", ["c"], ["s"]),
                helper.make_node("Flatten", ["s"], ["y"]),
            ],
            [1, 3, 16, 12],
            {"K": np.random.default_rng(1).standard_normal((2, 3, 3, 3)) * 0.3},
        )
    )
    for baseline in ("blur", "uniform"):
        res = integrated_gradients(net, img, target=5, baseline=baseline, steps=32)
        assert res.relative_error < 1e-3 and res.baseline == baseline


# -- bad input ---------------------------------------------------------------------------------------------------
def test_bad_steps_and_rules(linear):
    for steps in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="steps must be an integer >= 1"):
            integrated_gradients(linear, X, steps=steps)
    with pytest.raises(InputError, match="unknown quadrature rule 'simpson'"):
        quadrature("simpson", 4)
    with pytest.raises(InputError, match="batch_size"):
        integrated_gradients(linear, X, batch_size=0)


def test_bad_baselines(linear, mlp):
    with pytest.raises(InputError, match=r"baseline array has shape \[5\]; expected \[1, 5\]"):
        integrated_gradients(linear, X, baseline=np.zeros(5))
    with pytest.raises(InputError, match="NaN or Inf"):
        integrated_gradients(linear, X, baseline=np.full((1, 5), np.inf))
    with pytest.raises(InputError, match="unknown baseline 'grey'"):
        integrated_gradients(linear, X, baseline="grey")
    with pytest.raises(InputError, match="input_range"):
        integrated_gradients(linear, X, baseline="white", input_range=(1.0, 0.0))
    with pytest.raises(InputError, match="tensor_baseline='input'"):
        integrated_gradients(mlp, X, tensor="post", baseline="blur", tensor_baseline="zeros")
    with pytest.raises(InputError, match="tensor_baseline must be"):
        integrated_gradients(mlp, X, tensor="post", tensor_baseline="ones")


def test_bad_points_targets_and_tensors(linear):
    with pytest.raises(InputError, match="NaN or Inf"):
        integrated_gradients(linear, np.full((1, 5), np.nan))
    with pytest.raises(InputError, match="one point"):
        integrated_gradients(linear, np.zeros((3, 5)))
    with pytest.raises(InputError, match=r"expected shape \[1, 5\]"):
        integrated_gradients(linear, np.zeros((1, 4)))
    with pytest.raises(InputError, match=r"target class 7 out of range: the output has 3 classes"):
        integrated_gradients(linear, X, target=7)
    with pytest.raises(InputError, match=r"no tensor named 'conv1'; valid tensors: \['x', 'y'\]"):
        integrated_gradients(linear, X, tensor="conv1")
    with pytest.raises(InputError, match="kind must be one of"):
        integrated_gradients(linear, X, kind="score")


def test_integer_tensor_is_a_gradient_error():
    net = load_model(
        model(
            [helper.make_node("Gather", ["E", "x"], ["e"]), helper.make_node("Flatten", ["e"], ["y"])],
            [1, 3],
            {"E": np.arange(12.0).reshape(6, 2)},
            elem=TensorProto.INT64,
        )
    )
    with pytest.raises(GradientError, match="integer ids"):
        integrated_gradients(net, np.array([[1, 2, 3]]), target=0)
    emb = integrated_gradients(net, np.array([[1, 2, 3]]), target=(0, 3), tensor="e", steps=4)
    assert np.allclose(emb.attributions.reshape(-1), [0, 0, 0, 5, 0, 0])  # y = e flattened: linear, exact


@pytest.mark.parametrize("gradients", ["ir", "onnx"])
def test_ig_batches_shrink_to_fit_the_memory_limit(monkeypatch, gradients):
    from smugkit.errors import ResourceError
    from smugkit.zoo import model_path, sample_inputs

    net = load_model(model_path("digits_cnn28"))
    x = sample_inputs(28)[0][0]
    full = integrated_gradients(net, x, steps=24, gradients=gradients)
    assert full.options["batch_size"] == 24
    monkeypatch.setenv("SMUGKIT_MAX_BYTES", str(3 * net.point_bytes()))  # three points per forward pass
    with pytest.raises(ResourceError, match="above the memory limit"):  # what a batch of 24 would meet
        net.run({net.inputs[0].name: np.repeat(x[None, None], 24, axis=0)})
    small = integrated_gradients(net, x, steps=24, gradients=gradients)
    assert small.options["batch_size"] == 3
    assert (
        integrated_gradients(net, x, steps=24, gradients=gradients, batch_size=12).options["batch_size"] == 3
    )
    np.testing.assert_allclose(small.attributions, full.attributions, rtol=1e-6, atol=1e-9)
