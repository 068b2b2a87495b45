"""Batch inputs: folders, globs, .npy/.npz files and iterables become items; unreadable files are items with
their error, not the end of the batch."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from smugkit.errors import InputError
from smugkit.frontends import load_model
from smugkit.run.items import Item, as_items, read_items
from tests.run.batch_helpers import inputs, tiny_model


@pytest.fixture
def net(tmp_path):
    return load_model(tiny_model(tmp_path))


def _png(path, pixels):
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)


def test_folder_reads_images_and_keeps_bad_files_as_failed_items(tmp_path, net):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (4, 4)), rng.integers(0, 256, (4, 4))
    _png(folder / "a.png", a)
    _png(folder / "b.png", b)
    _png(folder / "big.png", rng.integers(0, 256, (6, 6)))
    (folder / "notes.txt").write_text("not an image")
    items = read_items(folder, net)
    assert [it.id for it in items] == ["a", "b", "big", "notes"]
    np.testing.assert_allclose(items[0].x, (a / 255.0).reshape(1, 1, 4, 4))
    np.testing.assert_allclose(items[1].x, (b / 255.0).reshape(1, 1, 4, 4))
    assert items[2].x is None and "6x6" in items[2].error and "resize" in items[2].error
    assert items[3].x is None and "unknown input type '.txt'" in items[3].error
    resized = read_items(folder, net, resize=True)
    assert resized[2].error is None and resized[2].x.shape == (1, 1, 4, 4)
    assert [it.id for it in read_items(str(folder / "*.png"), net)] == ["a", "b", "big"]


def test_array_files_give_one_item_per_row_with_labels(tmp_path, net):
    x = inputs(3)
    np.save(tmp_path / "many.npy", x[:, 0])  # (N, 1, 4, 4): no batch axis per item
    items = read_items(tmp_path / "many.npy", net)
    assert [it.id for it in items] == ["many-0000", "many-0001", "many-0002"]
    for it, row in zip(items, x, strict=True):
        np.testing.assert_array_equal(it.x, row)
    np.savez(tmp_path / "data.npz", x=x, y=np.array([2, 0, 1]))
    assert [it.label for it in read_items(tmp_path / "data.npz", net)] == [2, 0, 1]
    np.save(tmp_path / "one.npy", x[0])
    assert len(read_items(tmp_path / "one.npy", net)) == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: np.save(p / "bad.npy", np.zeros((2, 3))) or p / "bad.npy", "does not fit the model input"),
        (lambda p: np.savez(p / "bad.npz", z=np.zeros(16)) or p / "bad.npz", "needs an 'x' array"),
        (lambda p: p / "absent", "inputs not found"),
        (lambda p: str(p / "none-*.png"), "matches no files"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "has no files"),
    ],
)
def test_bad_sources_are_input_errors(tmp_path, net, make, message):
    with pytest.raises(InputError, match=message):
        read_items(make(tmp_path), net)


def test_python_iterables(net):
    x = inputs(2)
    assert [it.id for it in as_items(x, net)] == ["item-0000", "item-0001"]
    mixed = as_items([x[0], Item("mine", x[1])], net)
    assert [it.id for it in mixed] == ["item-0000", "mine"]
    with pytest.raises(InputError, match="does not fit"):
        as_items([np.zeros(5)], net)
