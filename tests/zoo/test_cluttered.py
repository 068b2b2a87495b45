"""Cluttered digits: the generator is seeded and its truth is right; the bundled model and test set agree."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from smugkit import zoo
from smugkit.errors import InputError
from smugkit.zoo.cluttered import LEVELS, make_cluttered, mask_boxes


@pytest.fixture(scope="module")
def source():
    """The 8x8 test digits the bundled cluttered test set is made of."""
    return zoo.test_set(8)


@pytest.fixture(scope="module")
def bundled():
    return zoo.cluttered_test_set()


def test_generator_rebuilds_the_bundled_test_set_bit_for_bit(source, bundled):
    from smugkit.zoo.train_cluttered import TEST_SEED

    items = make_cluttered(source[0], source[1], seed=TEST_SEED)
    for got, want in zip((items.x, items.labels, items.boxes, items.masks), bundled):
        np.testing.assert_array_equal(got, want)
    again = make_cluttered(source[0], source[1], n=30, seed=TEST_SEED + 1)
    other = make_cluttered(source[0], source[1], n=30, seed=TEST_SEED + 2)
    assert np.array_equal(again.x, make_cluttered(source[0], source[1], n=30, seed=TEST_SEED + 1).x)
    assert not np.array_equal(again.x, other.x)


def test_the_digit_lies_in_its_box_and_the_clutter_outside(source, bundled):
    from smugkit.zoo.cluttered import DIGIT_SIZE

    x, labels, boxes, masks = bundled
    images = x[:, 0]
    n = len(images)
    assert images.shape == (n, 40, 40) and masks.shape == (n, 40, 40) and boxes.shape == (n, 4)
    assert 300 <= n <= 450 and masks.dtype == bool
    assert np.array_equal(np.rint(images * LEVELS) / LEVELS, images)  # 8-bit levels
    # all the digit's ink is inside its mask: the ink of the upsampled source digit, counted independently
    items = make_cluttered(source[0], source[1], seed=0)
    digit_ink = np.rint(zoo.upsample_bilinear(source[0][items.sources, 0], DIGIT_SIZE) * LEVELS).sum((1, 2))
    np.testing.assert_array_equal(np.rint(images * LEVELS * masks).sum((1, 2)), digit_ink)
    assert np.array_equal(labels, source[1][items.sources])
    rows, cols = np.arange(40)[None, :, None], np.arange(40)[None, None, :]
    t, l, b, r = (boxes[:, k, None, None] for k in range(4))
    in_box = (rows >= t) & (rows < b) & (cols >= l) & (cols < r)
    assert not (masks & ~in_box).any()  # the digit's pixels lie inside its box
    assert not ((images > 0) & in_box & ~masks).any()  # no clutter inside the box
    assert ((images > 0) & ~in_box).sum((1, 2)).min() > 0  # every item has clutter
    # boxes are tight: every edge row and column of a box holds a digit pixel
    for i in range(0, n, 37):
        m = masks[i]
        assert m[t[i, 0, 0]].any() and m[b[i, 0, 0] - 1].any()
        assert m[:, l[i, 0, 0]].any() and m[:, r[i, 0, 0] - 1].any()
    assert np.all(boxes[:, 2] - boxes[:, 0] <= DIGIT_SIZE) and np.all(boxes[:, 3] - boxes[:, 1] <= DIGIT_SIZE)


def test_mask_boxes_on_constructed_masks():
    m = np.zeros((2, 5, 6), dtype=bool)
    m[0, 1:3, 2] = True
    m[1, 4, 0] = m[1, 0, 5] = True
    assert mask_boxes(m).tolist() == [[1, 2, 3, 3], [0, 0, 5, 6]]
    with pytest.raises(InputError, match="at least one pixel"):
        mask_boxes(np.zeros((1, 3, 3), dtype=bool))


def test_bad_generator_input_is_a_typed_error(source):
    x, y = source
    with pytest.raises(InputError, match="one label each"):
        make_cluttered(x[:5], y[:4])
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        make_cluttered(x[:5] * 16, y[:5])
    with pytest.raises(InputError, match="canvas"):
        make_cluttered(x[:5], y[:5], canvas=16)


def test_bundled_model_accuracy_matches_the_manifest(bundled):
    entry = zoo.manifest()["models"]["cluttered_cnn"]
    x, labels, _, _ = bundled
    sess = ort.InferenceSession(str(zoo.model_path("cluttered_cnn")), providers=["CPUExecutionProvider"])
    acc = float((sess.run(["logits"], {"input": x})[0].argmax(1) == labels).mean())
    assert acc == pytest.approx(entry["test_accuracy"], abs=0.5 / len(x))
    assert entry["test_accuracy"] >= 0.9 and entry["test_size"] == len(x)
    images, y = zoo.model_samples("cluttered_cnn")
    np.testing.assert_array_equal(images, x[:20])
    np.testing.assert_array_equal(y, labels[:20])


def test_evaluate_data_of_the_cluttered_model_carries_boxes_and_masks(bundled, tmp_path):
    from smugkit.evaluation import load_data
    from smugkit.frontends import load_model

    net = load_model(zoo.model_path("cluttered_cnn"))
    data = load_data(None, net, model_name="cluttered_cnn", n=5)
    assert len(data) == 5 and data.masks.shape == (5, 40, 40) and data.boxes.shape == (5, 4)
    truth = data.truth(3)
    assert truth.dtype == bool and np.array_equal(truth, bundled[3][3])
    x, labels, boxes, masks = bundled
    np.savez(tmp_path / "d.npz", x=x[:3], y=labels[:3], boxes=boxes[:3], masks=masks[:3])
    assert np.array_equal(load_data(tmp_path / "d.npz", net).truth(2), masks[2])
    np.savez(tmp_path / "bad.npz", x=x[:3], masks=masks[:3, :20])
    with pytest.raises(InputError, match=r"masks must have shape \[3, 40, 40\]"):
        load_data(tmp_path / "bad.npz", net)


def test_smug_explains_a_cluttered_digit_end_to_end(bundled):
    from smugkit.attribution.smug import explain

    x, labels, _, _ = bundled
    e = explain(zoo.model_path("cluttered_cnn"), x[0], window=4, top_k=20, ig_steps=16, timeout=20)
    assert e.label == labels[0] and e.mask_plane.shape == (40, 40)
    assert e.status in ("optimal", "feasible") and 0 < e.mask_size < 100
    assert e.certificate["holds"] and e.mask_size == int(e.mask_bits.sum())
    json.dumps(e.to_dict())


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_training_script_reproduces_the_bundle(tmp_path, bundled):
    pytest.importorskip("torch", reason="torch is not installed (needed to retrain the zoo)")
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (needed to retrain the zoo)")
    from smugkit.zoo import train_cluttered

    assert train_cluttered.main(["--out", str(tmp_path)]) == 0
    fresh = json.loads((tmp_path / "manifest.json").read_text())["models"]["cluttered_cnn"]
    entry = zoo.manifest()["models"]["cluttered_cnn"]
    assert fresh["test_accuracy"] == pytest.approx(entry["test_accuracy"], abs=0.03)
    with np.load(tmp_path / "cluttered_test.npz") as f:
        np.testing.assert_array_equal(f["x"].astype(np.float32) / np.float32(255.0), bundled[0])
        np.testing.assert_array_equal(f["masks"], bundled[3])
