"""The gradient family: gradient x input, SmoothGrad / SmoothGrad-squared / VarGrad, Blur IG, Guided IG,
geometrically-guided IG, and IG's Captum-named options, on models whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper
from scipy.ndimage import gaussian_filter

import smugkit
from smugkit import zoo
from smugkit.attribution import get_method
from smugkit.attribution.gradient_tools import blur_stack, points_per_call
from smugkit.errors import InputError
from smugkit.frontends import load_model
from smugkit.model import Model
from tests.attribution.helpers import make_model

SHAPE = [1, 1, 8, 8]
FAMILY = {
    "gradient": {},
    "gradient_x_input": {},
    "integrated_gradients": {"n_steps": 16},
    "smoothgrad": {"n_samples": 8},
    "smoothgrad_sq": {"n_samples": 8},
    "vargrad": {"n_samples": 8},
    "blur_ig": {"steps": 12, "max_sigma": 4.0},
    "guided_ig": {"steps": 12},
    "geometric_ig": {"steps": 12},
}


def linear_model(seed: int = 0):
    """(1, 1, 8, 8) -> 3 logits, ``y = W^T x + c``: every gradient is a row of ``W``."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Gemm", ["f", "W", "c"], ["y"])]
    return make_model(nodes, {"W": rng.standard_normal((64, 3)), "c": rng.standard_normal(3)}, SHAPE, [1, 3])


def right_half_blind_model(seed: int = 1):
    """A small conv net that multiplies the image's right half (columns 4-7) by zero before anything else."""
    rng = np.random.default_rng(seed)
    keep = np.ones(SHAPE)
    keep[..., 4:] = 0.0
    nodes = [
        helper.make_node("Mul", ["x", "keep"], ["k"]),
        helper.make_node("Conv", ["k", "K", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Flatten", ["r"], ["f"]),
        helper.make_node("Gemm", ["f", "D"], ["y"]),
    ]
    inits = {
        "keep": keep,
        "K": rng.standard_normal((3, 1, 3, 3)),
        "b": rng.standard_normal(3) * 0.1,
        "D": rng.standard_normal((3 * 64, 4)) * 0.3,
    }
    return make_model(nodes, inits, SHAPE, [1, 4])


@pytest.fixture(scope="module")
def linear():
    return Model(load_model(linear_model()))


@pytest.fixture(scope="module")
def blind():
    return Model(load_model(right_half_blind_model()))


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(3).uniform(0.1, 1.0, SHAPE)


def weights(model: Model, target: int) -> np.ndarray:
    return model.grad(np.zeros(SHAPE), target, kind="logit")


def test_on_a_linear_model_gradient_x_input_ig_and_geometric_ig_are_w_times_x(linear, x):
    wx = weights(linear, 1) * x
    for name in ("gradient_x_input", "integrated_gradients", "geometric_ig"):
        a = smugkit.attribute(linear, x, method=name, target=1, **FAMILY[name])
        assert np.allclose(a.values, wx, atol=1e-10), name
    guided = smugkit.attribute(linear, x, method="guided_ig", target=1, baselines="zeros", steps=12)
    assert np.allclose(guided.values, wx, atol=1e-10)  # a path method: constant gradient, exact sum


def test_on_a_linear_model_the_noise_tunnel_gives_w_w_squared_and_zero_variance(linear, x):
    w = weights(linear, 2)
    opts = {"n_samples": 8, "stdevs": 0.3}
    assert np.allclose(smugkit.attribute(linear, x, method="smoothgrad", target=2, **opts).values, w)
    sq = smugkit.attribute(linear, x, method="smoothgrad", target=2, squared=True, **opts).values
    assert np.allclose(sq, w**2)
    assert np.allclose(smugkit.attribute(linear, x, method="smoothgrad_sq", target=2, **opts).values, w**2)
    assert np.allclose(smugkit.attribute(linear, x, method="vargrad", target=2, **opts).values, 0, atol=1e-12)
    # wrapping gradient x input: the mean of w * (x + noise) tends to w * x, with a variance w^2 sigma^2
    many = {"n_samples": 400, "stdevs": 0.1, "base": "gradient_x_input"}
    mean = smugkit.attribute(linear, x, method="smoothgrad", target=2, **many).values
    var = smugkit.attribute(linear, x, method="vargrad", target=2, **many).values
    assert np.abs(mean - w * x).max() < 4 * 0.1 * np.abs(w).max() / np.sqrt(400)
    assert np.allclose(var.mean() / np.mean(w**2 * 0.01), 1.0, atol=0.15)


def test_blur_ig_adds_up_to_the_change_from_the_blurred_image(linear, blind, x):
    for model in (linear, blind):
        a = smugkit.attribute(model, x, method="blur_ig", steps=64, max_sigma=6.0)
        assert a.diagnostics["relative_error"] < 0.05
        assert a.values.sum() == pytest.approx(a.diagnostics["f_x"] - a.diagnostics["f_baseline"], rel=0.05)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_a_model_blind_to_half_the_image_gets_zero_attribution_there(blind, x, name):
    a = smugkit.attribute(blind, x, method=name, **FAMILY[name])
    assert a.values.shape == tuple(SHAPE)
    assert np.abs(a.values[..., 4:]).max() < 1e-12
    assert np.abs(a.values[..., :4]).max() > 1e-6


def test_seeds_make_random_methods_repeatable(blind, x):
    for name in ("smoothgrad", "vargrad"):
        a = smugkit.attribute(blind, x, method=name, n_samples=6, seed=5).values
        assert np.array_equal(a, smugkit.attribute(blind, x, method=name, n_samples=6, seed=5).values)
        assert not np.allclose(a, smugkit.attribute(blind, x, method=name, n_samples=6, seed=6).values)
    a = smugkit.attribute(blind, x, method="smoothgrad", n_samples=6, seed=5)
    assert a.options["seed"] == 5 and a.options["n_samples"] == 6 and a.options["gradients"] == "ir"


@pytest.mark.parametrize(
    ("name", "opts"),
    [
        ("smoothgrad", {"n_samples": 7}),
        ("vargrad", {"n_samples": 7, "base": "gradient_x_input"}),
        ("blur_ig", {"steps": 7, "max_sigma": 3.0}),
        ("geometric_ig", {"steps": 7, "select": "max_abs"}),
        ("integrated_gradients", {"n_steps": 7}),
        ("gradient_x_input", {}),
    ],
)
def test_batching_does_not_change_results(blind, x, name, opts):
    size = "internal_batch_size" if name == "integrated_gradients" else "batch_size"
    whole = smugkit.attribute(blind, x, method=name, **opts).values
    for b in (1, 3):
        assert np.allclose(smugkit.attribute(blind, x, method=name, **opts, **{size: b}).values, whole)


def test_noise_tunnel_wraps_integrated_gradients(blind, x):
    a = smugkit.attribute(
        blind,
        x,
        method="smoothgrad",
        base="integrated_gradients",
        n_samples=3,
        base_options={"n_steps": 8},
        stdevs=0.0,
    )
    ig = smugkit.attribute(blind, x, method="integrated_gradients", n_steps=8, target=a.target)
    assert np.allclose(a.values, ig.values)  # no noise: the mean of three identical IG maps
    assert a.diagnostics["base_options"]["steps"] == 8


def test_integrated_gradients_takes_captums_names(blind, x):
    a = smugkit.attribute(blind, x, method="integrated_gradients", n_steps=10, baselines="black+white")
    b = smugkit.attribute(blind, x, method="integrated_gradients", steps=10, baseline="black_white")
    assert np.array_equal(a.values, b.values) and a.options["steps"] == 10
    assert a.options["baseline"] == "black_white"
    with pytest.raises(InputError, match="not both"):
        get_method("integrated_gradients", steps=5, n_steps=10)


def test_blur_stack_equals_scipys_gaussian_filter():
    img = np.random.default_rng(0).random((9, 7, 2))
    for s in (0.5, 2.0, 30.0):
        ref = gaussian_filter(img, [s, s, 0], mode="constant")
        assert np.allclose(blur_stack(img, [s])[0], ref, atol=1e-12)
    assert np.array_equal(blur_stack(img, [0.0])[0], img)


def test_points_per_call_is_bounded_by_memory_and_by_the_request(blind):
    assert points_per_call(blind.network, 1000) == 1000  # a tiny net: everything fits
    assert points_per_call(blind.network, 1000, batch_size=16) == 16
    assert points_per_call(blind.network, 5, batch_size=16) == 5


@pytest.mark.parametrize(
    ("name", "opts", "message"),
    [
        ("smoothgrad", {"n_samples": 0}, "n_samples must be >= 1"),
        ("smoothgrad", {"stdevs": -0.1}, "stdevs must be >= 0"),
        ("vargrad", {"batch_size": 0}, "batch_size must be >= 1"),
        ("vargrad", {"base": "nope"}, "unknown base method 'nope'"),
        ("smoothgrad", {"input_range": (1.0, 0.0)}, "input_range"),
        ("smoothgrad", {"base_options": {"stepz": 3}, "base": "integrated_gradients"}, "has no option"),
        ("blur_ig", {"max_sigma": 0}, "max_sigma must be > 0"),
        ("blur_ig", {"steps": 0}, "steps must be >= 1"),
        ("guided_ig", {"fraction": 1.5}, "fraction must be in"),
        ("guided_ig", {"max_dist": -0.1}, "max_dist must be >= 0"),
        ("geometric_ig", {"select": "min"}, "select must be one of"),
        ("gradient_x_input", {"kind": "softmax"}, "kind must be one of"),
        ("integrated_gradients", {"internal_batch_size": 0}, "batch_size must be"),
    ],
)
def test_options_outside_their_domain_are_typed_errors(name, opts, message):
    with pytest.raises(InputError, match=message):
        get_method(name, **opts)


def test_blur_ig_on_a_non_image_input_says_so():
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"])]
    model = Model(load_model(make_model(nodes, {"W": np.ones((7, 2))}, [1, 7], [1, 2])))
    with pytest.raises(InputError, match="does not look like an image|not image-like"):
        smugkit.attribute(model, np.ones((1, 7)), method="blur_ig")


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_without_a_provider_named_the_family_runs_on_the_compiled_graph_and_agrees_with_ir(name):
    path = zoo.model_path("digits_cnn8")
    x = zoo.sample_inputs(8)[0][0]
    fast = smugkit.attribute(path, x, method=name, **FAMILY[name])
    exact = smugkit.attribute(path, x, method=name, gradients="ir", **FAMILY[name])
    assert fast.options["gradients"] == "onnx" and exact.options["gradients"] == "ir"
    scale = np.abs(exact.values).max()
    if (
        name == "guided_ig"
    ):  # float32 gradients may reorder near-equal features: the same map, not bit for bit
        assert np.corrcoef(fast.values.ravel(), exact.values.ravel())[0, 1] > 0.99
    else:
        assert np.abs(fast.values - exact.values).max() < 1e-4 * scale


def test_the_fastest_provider_is_ir_when_an_op_has_no_onnx_gradient_emitter(monkeypatch, linear):
    from smugkit.model.gradient import fastest_provider
    from smugkit.runtime import vjp_graph

    assert fastest_provider(linear.network) == "onnx"
    monkeypatch.delitem(vjp_graph.EMITTERS, linear.network.nodes[-1].op_type)
    assert fastest_provider(linear.network) == "ir"


def test_guided_ig_kept_on_the_straight_path_is_left_riemann_ig(blind, x):
    guided = smugkit.attribute(blind, x, method="guided_ig", steps=12, max_dist=0.0, target=1)
    ig = smugkit.attribute(blind, x, method="integrated_gradients", n_steps=12, rule="riemann_left", target=1)
    assert np.allclose(guided.values, ig.values, atol=1e-12)


def test_blur_ig_is_the_blur_path_sum_written_with_scipy(blind, x):
    steps, max_sigma, h = 6, 3.0, 0.01
    a = smugkit.attribute(blind, x, method="blur_ig", steps=steps, max_sigma=max_sigma, grad_step=h, target=2)
    image = x[0].transpose(1, 2, 0)  # (H, W, C)

    def blur(s):
        return gaussian_filter(image, [s, s, 0], mode="constant") if s > 0 else image

    ref = np.zeros_like(image)
    for k in range(steps):
        s = k * max_sigma / steps
        g = blind.grad(blur(s).transpose(2, 0, 1)[None], 2)[0].transpose(1, 2, 0)
        ref -= (max_sigma / steps) * (blur(s + h) - blur(s)) / h * g
    assert np.allclose(a.values[0].transpose(1, 2, 0), ref, atol=1e-9)


def test_long_runs_show_progress_on_a_terminal_only(monkeypatch):
    from smugkit.attribution import gradient_tools

    seen = []

    class Bar(list):
        def __init__(self, items, **kw):
            super().__init__(items)
            seen.append(kw)

    monkeypatch.setattr("tqdm.auto.tqdm", Bar)
    assert list(gradient_tools.progress(range(3), "x")) == [0, 1, 2]
    assert list(gradient_tools.progress(range(1), "x")) == [0]
    assert seen[0]["disable"] is None and seen[1]["disable"] is True  # None: tqdm shows it on a terminal
