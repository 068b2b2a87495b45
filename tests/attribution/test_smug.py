"""SMUG end to end: minimality by brute force, agreement of backends, certificates, JSON, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smugkit import backends
from smugkit.attribution.smug import Explanation, explain
from smugkit.errors import InputError, ModelError, SolverUnavailable
from smugkit.frontends import load_model
from smugkit.units import detect_layout, make_windows
from tests.attribution.helpers import make_model, tiny_cnn, tiny_mlp

SOLVERS = [b for b in ("highs", "z3", "cvc5") if b in backends.available_backends()]


def _all_masks(n: int) -> np.ndarray:
    """Every 0/1 vector of length ``n``, in ``itertools.product`` order (row ``i`` is ``i`` in binary)."""
    return ((np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(float)


def _brute_force_first_layer(net, e: Explanation, chunk: int = 8192) -> int:
    """Smallest number of windows keeping every constrained neuron above its threshold, by enumeration.

    All ``2**bits`` masked inputs go through the network as stacks of ``chunk`` (one ``net.run`` each).
    """
    fl = net.first_layer()
    wins = make_windows(detect_layout(net), e.window)
    x = np.asarray(e_input(net, e), np.float64)
    v = e.options["mask_value"]
    neurons = np.asarray(e.neurons["constrained"], dtype=int)
    thr = np.asarray(e.neurons["thresholds"])
    best = None
    masks = _all_masks(wins.count)
    for lo in range(0, len(masks), chunk):
        bits = masks[lo : lo + chunk]
        z = net.run(wins.apply(x, bits, v), [fl.pre])[fl.pre].reshape(len(bits), -1)
        ok = np.all(z[:, neurons] >= thr, axis=1)
        if ok.any():
            size = int(bits[ok].sum(axis=1).min())
            best = size if best is None else min(best, size)
    return best


def e_input(net, e: Explanation) -> np.ndarray:
    return detect_layout(net).from_hwc(e.image)


@pytest.fixture(scope="module")
def cnn():
    return load_model(tiny_cnn(seed=4, h=4, w=4, filters=3))


@pytest.mark.parametrize("backend", SOLVERS)
@pytest.mark.parametrize("window,gamma", [(1, 0.6), (2, 0.9)])
def test_first_layer_mask_is_minimum_and_certified(cnn, backend, window, gamma):
    x = np.random.default_rng(1).random(cnn.input.shape)
    e = explain(cnn, x, top_k=12, gamma=gamma, window=window, backend=backend, ig_steps=20, timeout=30)
    assert e.status == "optimal"
    assert e.mask_size == _brute_force_first_layer(cnn, e)
    assert e.certificate["holds"] and e.exact_check["holds"]
    assert e.mask_size == int(e.mask_bits.sum()) and e.mask_plane.shape == (4, 4)


def test_backends_agree_on_mask_size(cnn):
    x = np.random.default_rng(2).random(cnn.input.shape)
    sizes = {b: explain(cnn, x, top_k=12, gamma=0.7, backend=b, ig_steps=20).mask_size for b in SOLVERS}
    assert len(set(sizes.values())) == 1, sizes


@pytest.mark.parametrize("backend", SOLVERS)
def test_full_network_mask_is_minimum(backend):
    net = load_model(tiny_mlp(seed=3, n_in=9, hidden=5))
    x = np.random.default_rng(0).random(net.input.shape)
    e = explain(
        net, x, encoding="full", delta=0.0, backend=backend, ig_steps=10, timeout=30, enumerate_bits=0
    )
    wins = make_windows(detect_layout(net), 1)
    best = None
    for bits in _all_masks(9):
        logits = net(wins.apply(x, bits, 0.0)).reshape(-1)
        if logits[e.label] >= np.delete(logits, e.label).max() and (best is None or bits.sum() < best):
            best = int(bits.sum())
    assert e.status == "optimal" and e.mask_size == best
    assert e.certificate["holds"] and e.certificate["keeps_label"]


def test_smug_base_and_saliency_are_consistent(cnn):
    x = np.random.default_rng(5).random(cnn.input.shape)
    e = explain(cnn, x, top_k=12, gamma=0.5, ig_steps=20)
    np.testing.assert_array_equal(e.saliency, e.saliency_base * e.mask_plane)
    assert e.saliency_base.max() == pytest.approx(max(e.neurons["ig"]))


def test_json_round_trip_and_files(cnn, tmp_path):
    x = np.random.default_rng(6).random(cnn.input.shape)
    e = explain(cnn, x, top_k=6, gamma=0.5, ig_steps=10, num_solutions=2)
    assert len(e.alternatives) == 1  # the next-best distinct mask, never the optimum again
    alt = np.asarray(e.alternatives[0])
    assert alt.sum() >= e.mask_size and not np.array_equal(alt, np.asarray(e.mask_bits).reshape(-1))
    files = e.save(tmp_path)
    assert {p.name for p in files.values()} == {
        "explanation.json",
        "explanation.npz",
        "saliency.png",
        "mask.png",
        "panel.png",
    }
    back = Explanation.load(tmp_path)
    assert back.mask_size == e.mask_size and back.label == e.label
    np.testing.assert_array_equal(back.saliency, e.saliency)
    assert json.loads((tmp_path / "explanation.json").read_text())["versions"]["smugkit"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"label": 7}, "label 7 is out of range"),
        ({"gamma": 1.0}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"window": 0}, "window"),
        ({"window": 9}, "larger"),
        ({"top_k": 0}, "top_k"),
        ({"ig_steps": 0}, "ig_steps"),
        ({"encoding": "middle"}, "encoding"),
        ({"backend": "nosuch"}, "nosuch"),
    ],
)
def test_bad_options(cnn, kwargs, match):
    x = np.random.default_rng(0).random(cnn.input.shape)
    with pytest.raises((InputError, ModelError, SolverUnavailable), match=match):
        explain(cnn, x, **{"ig_steps": 5, **kwargs})


def test_bad_inputs(cnn):
    with pytest.raises(InputError, match="shape"):
        explain(cnn, np.zeros((1, 3, 4, 4)))
    with pytest.raises(InputError, match="NaN"):
        explain(cnn, np.full(cnn.input.shape, np.nan))


def test_model_without_activation_after_first_layer():
    from onnx import helper

    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("Flatten", ["c"], ["y"])]
    net = load_model(make_model(nodes, {"W": np.ones((2, 1, 2, 2))}, [1, 1, 3, 3], [1, 8]))
    with pytest.raises(ModelError, match="activation"):
        explain(net, np.ones(net.input.shape))


def test_non_image_input_is_rejected():
    net = load_model(tiny_mlp(n_in=5))
    with pytest.raises(InputError, match="image"):
        explain(net, np.ones(net.input.shape))


def test_package_is_callable_and_light(cnn):
    import subprocess
    import sys

    import smugkit

    x = np.random.default_rng(8).random(cnn.input.shape)
    e = smugkit.explain(cnn, x, top_k=6, gamma=0.5, ig_steps=10)
    assert e.mask_size == explain(cnn, x, top_k=6, gamma=0.5, ig_steps=10).mask_size and e.certified
    code = "import sys, smugkit; sys.exit('smugkit.attribution' in sys.modules or 'onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
