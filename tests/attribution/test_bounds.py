"""Symbolic bounds of the full encoding are sound: sampled masks never leave them, and they never lose to
interval bounds after widening (the encoding takes the tighter of the two)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from smugkit import zoo
from smugkit.attribution.smug.bounds import symbolic_bounds, widen
from smugkit.attribution.smug.full import full_network_problem
from smugkit.frontends import load_model
from smugkit.units import detect_layout, make_windows
from tests.attribution.helpers import make_model


def mlp3(seed: int = 0):
    """x (1, 12) -> Gemm 10 -> Relu -> Gemm 8 -> Relu -> Gemm 3: two hidden layers, where symbolic bounds bite."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Gemm", ["x", "W1", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["r1"]),
        helper.make_node("Gemm", ["r1", "W2", "b2"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["r2"]),
        helper.make_node("Gemm", ["r2", "W3"], ["y"]),
    ]
    inits = {
        "W1": rng.standard_normal((12, 10)),
        "b1": rng.standard_normal(10) * 0.3,
        "W2": rng.standard_normal((10, 8)),
        "b2": rng.standard_normal(8) * 0.3,
        "W3": rng.standard_normal((8, 3)),
    }
    return load_model(make_model(nodes, inits, [1, 12], [1, 3]))


@pytest.mark.parametrize("which", ["mlp3", "digits_cnn8"])
def test_sampled_masks_stay_within_symbolic_bounds(which):
    if which == "mlp3":
        net, layout = mlp3(), "flat"
        x = np.random.default_rng(1).random(net.input.shape)
    else:
        net, layout = load_model(zoo.model_path(which)), "auto"
        x = zoo.sample_inputs(8)[0][2].reshape(net.input.shape)
    wins = make_windows(detect_layout(net, layout), 1)
    sb = symbolic_bounds(net, x, wins, 0.0)
    assert sb
    rng = np.random.default_rng(2)
    masks = [np.zeros(wins.count), np.ones(wins.count)]
    masks += [(rng.random(wins.count) < rng.random()).astype(float) for _ in range(300)]
    for m in masks:
        z = net.run(wins.apply(x, m, 0.0), list(sb))
        for t, (lo, hi) in sb.items():
            v = z[t].reshape(-1)
            assert np.all(v >= lo) and np.all(v <= hi), t
    boxes = net.bounds(np.minimum(x, 0.0), np.maximum(x, 0.0))
    if which == "mlp3":  # the second hidden layer is strictly tighter than interval arithmetic
        lo, hi = sb["h2"]
        blo, bhi = widen(*(b.reshape(-1) for b in boxes["h2"]))
        assert np.sum(hi - lo) < np.sum(bhi - blo)


def test_full_encoding_with_tight_bounds_keeps_the_optimum():
    from smugkit.attribution.smug import explain
    from smugkit.backends import solve

    net = mlp3(seed=4)
    x = np.random.default_rng(5).random(net.input.shape)
    a = explain(net, x, encoding="full", layout="flat", backend="highs", ig_steps=8)
    wins = make_windows(detect_layout(net, "flat"), 1)
    p, _ = full_network_problem(net, x.reshape(net.input.shape), a.label, wins, 0.0, 0.0, tight_bounds=False)
    loose = solve(p, "highs", timeout=30)
    assert a.status == loose.status == "optimal" and a.mask_size == loose.objective and a.certified


def test_enumeration_proves_the_same_optimum_as_the_milp():
    from smugkit.attribution.smug import explain

    net = mlp3(seed=6)
    x = np.random.default_rng(7).random(net.input.shape)
    kw = {"encoding": "full", "layout": "flat", "ig_steps": 8, "delta": 0.1, "backend": "highs"}
    enum = explain(net, x, **kw)
    milp = explain(net, x, enumerate_bits=0, **kw)
    assert enum.solution["backend"] == "enumeration" and milp.solution["backend"] == "highs"
    assert enum.status == milp.status == "optimal" and enum.mask_size == milp.mask_size
    assert enum.certified and enum.exact_check["holds"]
