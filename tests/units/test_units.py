"""Mask units: image windows expand, apply and picture masks one at a time and as stacks, consistently."""

from __future__ import annotations

import numpy as np
import pytest

from smugkit.errors import InputError
from smugkit.frontends import load_model
from smugkit.units import ImageLayout, MaskUnits, detect_layout, guess_layout, make_windows, spatial_axes
from tests.attribution.helpers import tiny_cnn


@pytest.fixture(params=[(False, 3, 5, 4, 2), (True, 3, 5, 4, 2), (False, 1, 4, 4, 3)])
def windows(request):
    nhwc, c, h, w, size = request.param
    net = load_model(tiny_cnn(channels=c, h=h, w=w, nhwc=nhwc, kernel=2))
    return make_windows(detect_layout(net), size)


def test_windows_are_mask_units_covering_every_pixel_once(windows):
    assert isinstance(windows, MaskUnits) and windows.kind == "window"
    ids = windows.ids()
    assert ids.shape == windows.input_shape
    assert set(np.unique(ids)) == set(range(windows.count))
    E = windows.incidence().toarray()
    assert E.shape == (ids.size, windows.count) and np.all(E.sum(axis=1) == 1)
    lay = windows.layout
    for c in range(lay.channels):  # channels of a pixel share its window
        assert np.array_equal(lay.to_hwc(ids)[:, :, c], windows.plane_ids())


def test_stacked_masks_match_one_at_a_time(windows):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=windows.input_shape)
    fill = rng.uniform(size=windows.input_shape)
    masks = (rng.uniform(size=(6, windows.count)) > 0.5).astype(float)
    stacked = windows.apply(x, masks, fill)
    assert stacked.shape == (6, *windows.input_shape)
    for s, m in enumerate(masks):
        one = windows.apply(x, m, fill)
        keep = (windows.incidence() @ m).reshape(windows.input_shape)
        assert np.array_equal(stacked[s], one)
        assert np.allclose(one, np.where(keep > 0, x, fill))
        assert np.array_equal(windows.plane(masks)[s], windows.plane(m))
        assert np.array_equal(windows.expand(masks)[s], keep)


def test_bad_masks_are_refused(windows):
    with pytest.raises(InputError, match=f"needs {windows.count} values per mask"):
        windows.apply(np.zeros(windows.input_shape), np.ones(windows.count + 1))


def test_one_layout_detector_names_image_axes():
    assert guess_layout((3, 32, 32)) == "NCHW" and guess_layout((32, 32, 3)) == "NHWC"
    assert guess_layout((28, 28)) == "HW" and guess_layout((64,)) == "flat"
    assert guess_layout((32, 32, 32), channels_last=True) == "NHWC"
    with pytest.raises(InputError, match="does not look like an image"):
        guess_layout((7,))
    assert spatial_axes((1, 3, 8, 8)) == (2, 3)
    assert spatial_axes((1, 32, 32, 3)) == (1, 2)
    assert spatial_axes((1, 28, 28)) == (1, 2)
    assert spatial_axes((1, 7)) == (1,)
    lay = ImageLayout((1, 2, 3, 4), "NCHW", 3, 4, 2, 2, 3, 1)
    img = np.arange(24.0).reshape(3, 4, 2)
    assert np.array_equal(lay.to_hwc(lay.from_hwc(img)), img)
