"""Layouts, windows, the first-layer encoding and SMUG_BASE, checked against the IR and by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from smugkit.attribution.smug.encoding import first_layer_instance
from smugkit.attribution.smug.saliency import smug_base
from smugkit.errors import InputError
from smugkit.frontends import load_model
from smugkit.ir.linearize import affine_rows
from smugkit.units import detect_layout, make_windows
from tests.attribution.helpers import tiny_cnn, tiny_mlp


@pytest.mark.parametrize("nhwc,channels,h,w", [(False, 1, 4, 4), (False, 3, 5, 7), (True, 3, 6, 5)])
def test_layout_detection_and_round_trip(nhwc, channels, h, w):
    net = load_model(tiny_cnn(channels=channels, h=h, w=w, nhwc=nhwc))
    lay = detect_layout(net)
    assert (lay.height, lay.width, lay.channels) == (h, w, channels)
    assert lay.name == ("NHWC" if nhwc else "NCHW")
    x = np.random.default_rng(0).standard_normal(net.input.shape)
    np.testing.assert_array_equal(lay.from_hwc(lay.to_hwc(x)), x)


def test_flat_square_layout_and_errors():
    net = load_model(tiny_mlp(n_in=16))
    lay = detect_layout(net)
    assert (lay.name, lay.height, lay.width) == ("flat-square", 4, 4)
    with pytest.raises(InputError, match="not look like an image"):
        detect_layout(load_model(tiny_mlp(n_in=5)))
    assert detect_layout(load_model(tiny_mlp(n_in=5)), "flat").width == 5
    with pytest.raises(InputError, match="unknown layout"):
        detect_layout(net, "CWH")


def test_ragged_windows():
    net = load_model(tiny_cnn(h=5, w=7, channels=3))
    wins = make_windows(detect_layout(net), 3)
    assert (wins.rows, wins.cols, wins.count) == (2, 3, 6)
    ids = wins.plane_ids()
    assert ids[4, 6] == 5 and ids[0, 0] == 0 and ids[2, 3] == 1
    E = wins.incidence()
    assert E.shape == (3 * 5 * 7, 6) and np.all(np.asarray(E.sum(axis=1)) == 1)
    with pytest.raises(InputError):
        make_windows(detect_layout(net), 0)
    with pytest.raises(InputError, match="larger"):
        make_windows(detect_layout(net), 8)


@pytest.mark.parametrize("window,mask_value", [(1, 0.0), (2, 0.3)])
def test_instance_margins_equal_ir_on_masked_inputs(window, mask_value):
    net = load_model(tiny_cnn(channels=2, h=5, w=6, pads=(1, 0, 1, 1), stride=2, filters=3))
    rng = np.random.default_rng(3)
    x = rng.random(net.input.shape)
    fl = net.first_layer()
    pre = net.run(x, [fl.pre])[fl.pre].reshape(-1)
    active = np.flatnonzero(pre > 0)
    wins = make_windows(detect_layout(net), window)
    inst = first_layer_instance(net, x, active, 0.5, wins, mask_value)
    for _ in range(5):
        bits = rng.integers(0, 2, wins.count)
        z = net.run(wins.apply(x, bits, mask_value), [fl.pre])[fl.pre].reshape(-1)[active]
        np.testing.assert_allclose(inst.margins(bits), z - 0.5 * pre[active], atol=1e-10)
    assert inst.feasible(np.ones(wins.count))


@pytest.mark.parametrize("gamma", [0.0, 0.2, 0.5, 0.9])
def test_implied_rows_hold_for_every_mask(gamma):
    # presolve drops rows that hold for all masks: check that claim against every mask of a tiny instance
    net = load_model(tiny_cnn(channels=1, h=4, w=4, filters=3))
    x = np.random.default_rng(11).random(net.input.shape)
    fl = net.first_layer()
    active = np.flatnonzero(net.run(x, [fl.pre])[fl.pre].reshape(-1) > 0)
    wins = make_windows(detect_layout(net), 2)
    inst = first_layer_instance(net, x, active, gamma, wins)
    implied = inst.implied_rows()
    every = np.array([[(b >> i) & 1 for i in range(wins.count)] for b in range(2**wins.count)])
    holds = np.stack([inst.margins(bits) >= 0 for bits in every])
    np.testing.assert_array_equal(implied, holds.all(axis=0))  # exactly the rows no mask can break


def test_gamma_out_of_range():
    net = load_model(tiny_cnn())
    with pytest.raises(InputError, match="gamma"):
        first_layer_instance(
            net, np.ones(net.input.shape), np.array([0]), 1.0, make_windows(detect_layout(net), 1)
        )


def test_smug_base_by_hand_on_a_toy_conv():
    # 1x3x3 image, 2x2 kernel, stride 1 -> 4 neurons per filter; neuron (i, j) sees pixels (i..i+1, j..j+1)
    net = load_model(tiny_cnn(h=3, w=3, filters=1))
    fl = net.first_layer()
    C, _ = affine_rows(net, fl.pre, np.arange(4))
    scores = np.array([1.0, 2.0, 3.0, 4.0])  # neurons (0,0) (0,1) (1,0) (1,1)
    pix = np.arange(9)
    got = smug_base(C, scores, pix, 9, "max").reshape(3, 3)
    want = np.array([[1, 2, 2], [3, 4, 4], [3, 4, 4]], dtype=float)
    np.testing.assert_array_equal(got, want)
    got_sum = smug_base(C, scores, pix, 9, "sum").reshape(3, 3)
    want_sum = np.array([[1, 3, 2], [4, 10, 6], [3, 7, 4]], dtype=float)
    np.testing.assert_array_equal(got_sum, want_sum)
    with pytest.raises(InputError):
        smug_base(sp.csr_matrix((1, 9)), np.ones(1), pix, 9, "mean")
