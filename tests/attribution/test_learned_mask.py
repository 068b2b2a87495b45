"""Learned-mask methods: meaningful perturbation and the locally smooth explanation."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import smugkit
from smugkit.attribution.learned_mask import MaskOptimizer, bilinear_matrix, total_variation
from smugkit.errors import InputError
from smugkit.frontends import load_model
from smugkit.model import Model
from smugkit.units import detect_layout
from tests.attribution.helpers import make_model


def left_half_model(seed: int = 0):
    """(1, 1, 8, 8) -> two logits that read only the left half of the image (columns 0-3)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, (8, 8))
    w[:, 4:] = 0.0
    D = np.stack([w.reshape(-1), -w.reshape(-1)], axis=1) * 0.3
    nodes = [helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("Gemm", ["f", "D"], ["y"])]
    return make_model(nodes, {"D": D}, [1, 1, 8, 8], [1, 2])


@pytest.fixture(scope="module")
def model():
    return Model(load_model(left_half_model()))


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(3).uniform(0.2, 1.0, (1, 1, 8, 8))


def test_upsampling_and_its_pull_back_are_adjoint(model):
    opt = MaskOptimizer(detect_layout(model.network), 3, init=0.0, lr=0.1)
    rng = np.random.default_rng(0)
    opt.m = rng.random(opt.m.shape)
    g = rng.standard_normal(model.input.shape)
    lhs = float(np.sum(g * opt.to_input(opt.image())))
    assert lhs == pytest.approx(float(np.sum(opt.pull_back(g) * opt.m)))
    assert np.allclose(bilinear_matrix(8, 3).sum(axis=1), 1.0)


def test_total_variation_gradient_matches_finite_differences():
    m = np.random.default_rng(1).random((4, 5))
    _, g = total_variation(m, 3.0)
    eps = 1e-6
    for idx in [(0, 0), (2, 3), (3, 4)]:
        d = np.zeros_like(m)
        d[idx] = eps
        fd = (total_variation(m + d, 3.0)[0] - total_variation(m - d, 3.0)[0]) / (2 * eps)
        assert g[idx] == pytest.approx(fd, rel=1e-5)


def test_meaningful_perturbation_deletes_only_what_the_model_reads(model, x):
    opts = {
        "method": "meaningful_perturbation",
        "target": 0,
        "perturbation": "zeros",
        "kind": "logit",
        "mask_size": 8,
    }
    a = smugkit.attribute(model, x, **opts, tv_coeff=0.0)
    v = a.values.reshape(8, 8)
    assert np.abs(v[:, 4:]).max() < 0.05  # the ignored half is never worth deleting
    assert v[:, :4].mean() > 0.5
    assert a.diagnostics["probability_perturbed"] < a.diagnostics["probability"]
    smooth = smugkit.attribute(model, x, **opts).values.reshape(8, 8)  # TV spreads the edge, no more
    assert smooth[:, 6:].max() < 0.2 < smooth[:, :3].mean()


def test_local_smooth_keeps_only_what_the_model_reads_and_is_seeded(model, x):
    opts = {"method": "local_smooth", "target": 0, "mask_size": 8, "n_iter": 60, "n_samples": 4}
    a = smugkit.attribute(model, x, **opts)
    v = a.values.reshape(8, 8)
    assert np.abs(v[:, 4:]).max() < 0.05
    assert v[:, :4].mean() > 0.2
    assert a.diagnostics["loss_last"] < a.diagnostics["loss_first"]
    assert np.array_equal(a.values, smugkit.attribute(model, x, **opts).values)
    assert not np.array_equal(a.values, smugkit.attribute(model, x, **opts, seed=1).values)


@pytest.mark.parametrize(
    "method, options, message",
    [
        ("meaningful_perturbation", {"n_iter": 0}, "n_iter must be >= 1"),
        ("meaningful_perturbation", {"lr": -1.0}, "lr must be > 0"),
        ("meaningful_perturbation", {"perturbation": "paint"}, "perturbation must be one of"),
        ("meaningful_perturbation", {"kind": "odds"}, "kind must be one of"),
        ("local_smooth", {"n_samples": 0}, "n_samples must be >= 1"),
        ("local_smooth", {"noise": float("nan")}, "noise must be a finite number"),
        ("local_smooth", {"mask_size": 2.5}, "mask_size must be a finite integer"),
    ],
)
def test_bad_options_are_typed_errors(model, x, method, options, message):
    with pytest.raises(InputError, match=message):
        smugkit.attribute(model, x, method=method, **options)
