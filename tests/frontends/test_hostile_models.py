"""Models a careless or hostile exporter could write are refused with typed errors that name the problem."""

from __future__ import annotations

import numpy as np
import pytest

from smugkit import guard
from smugkit.errors import InputError, ModelError, ResourceError
from smugkit.frontends import load_model
from tests.frontends.test_onnx_frontend import _external, make, mlp, node, w


@pytest.fixture
def rng():
    return np.random.default_rng(3)


def test_nan_weights_are_refused_unless_allowed(rng):
    m = mlp(rng)
    arr = np.frombuffer(m.graph.initializer[0].raw_data, np.float32).copy()
    arr[2] = np.nan
    m.graph.initializer[0].raw_data = arr.tobytes()
    with pytest.raises(ModelError, match=r"initializer 'W1' holds 1 NaN/Inf"):
        load_model(m)
    assert load_model(m, allow_nonfinite=True).outputs


def test_initializer_with_wrong_byte_count_is_a_model_error(rng):
    m = mlp(rng)
    m.graph.initializer[0].raw_data = m.graph.initializer[0].raw_data[:-4]
    with pytest.raises(ModelError, match=r"W1.*(too small|cannot be read)"):
        load_model(m)


def test_huge_declared_tensor_is_a_resource_error(rng, monkeypatch):
    monkeypatch.setenv("SMUGKIT_MAX_BYTES", "1M")
    m = make([node("Relu", ["X"], ["Y"])], [("X", [1, 1 << 20])], [("Y", [1, 1 << 20])])
    with pytest.raises(ResourceError, match=r"input 'X'.*above the memory limit of 1.0 MiB"):
        load_model(m)


def test_conv_whose_im2col_windows_exceed_the_limit_is_a_resource_error(rng, monkeypatch):
    # input and output fit in 1 MiB; the 8x8 windows of a 64x64 image (1.6 MiB in float64) do not
    monkeypatch.setenv("SMUGKIT_MAX_BYTES", "1M")
    m = make(
        [node("Conv", ["X", "W"], ["Y"], name="c8")],
        [("X", [1, 1, 64, 64])],
        [("Y", [1, 1, 57, 57])],
        {"W": w(rng, 1, 1, 8, 8)},
    )
    with pytest.raises(ResourceError, match=r"im2col windows of Conv 'c8'.*above the memory limit"):
        load_model(m)


@pytest.mark.parametrize(
    "attrs, match",
    [
        ({"kernel_shape": [2, 2], "ceil_mode": -7}, "ceil_mode"),
        ({"kernel_shape": [0, 2]}, "kernel_shape"),
        ({"kernel_shape": [2, 2], "strides": [0, 1]}, "strides"),
        ({"kernel_shape": [2, 2], "pads": [-1, 0, 0, 0]}, "pads"),
    ],
)
def test_pooling_attributes_outside_the_spec_name_node_and_op(attrs, match):
    m = make(
        [node("MaxPool", ["X"], ["Y"], name="pool1", **attrs)], [("X", [1, 1, 6, 6])], [("Y", [1, 1, 5, 5])]
    )
    with pytest.raises(ModelError, match=rf"'pool1' \(MaxPool\).*{match}"):
        load_model(m)


def test_conv_group_that_does_not_divide_channels_is_a_model_error(rng):
    m = make(
        [node("Conv", ["X", "W"], ["Y"], name="c", group=2)],
        [("X", [1, 3, 5, 5])],
        [("Y", [1, 4, 3, 3])],
        {"W": w(rng, 4, 1, 3, 3)},
    )
    with pytest.raises(ModelError, match=r"'c' \(Conv\)"):
        load_model(m)


def test_memory_limit_setting_is_validated(monkeypatch):
    monkeypatch.setenv("SMUGKIT_MAX_BYTES", "lots")
    with pytest.raises(InputError, match="SMUGKIT_MAX_BYTES"):
        guard.max_bytes()
    monkeypatch.setenv("SMUGKIT_MAX_BYTES", "2G")
    assert guard.max_bytes() == 2 << 30
    assert guard.human(3 << 20) == "3.0 MiB"


def test_garbage_bytes_are_a_model_error():
    with pytest.raises(ModelError):
        load_model(b"\x08\x07garbage-not-a-model" * 3)


# -- external data escape routes --------------------------------------------------------------------------
def test_symlink_inside_the_folder_pointing_out_is_refused(tmp_path, rng):
    path = _external(tmp_path, rng, "w.bin")
    outside = tmp_path / "secret.bin"
    (path.parent / "w.bin").rename(outside)
    (path.parent / "w.bin").symlink_to(outside)
    with pytest.raises(ModelError, match="outside"):
        load_model(path)


def test_model_file_that_is_a_symlink_reads_data_beside_its_target_only(tmp_path, rng):
    path = _external(tmp_path, rng, "w.bin")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "m.onnx"
    link.symlink_to(path)
    assert load_model(link)(np.ones((1, 4), np.float32)).shape == (1, 3)  # the data beside the real file
    (path.parent / "w.bin").unlink()
    (elsewhere / "w.bin").write_bytes(b"\0" * 48)  # data planted beside the link is never read
    with pytest.raises(ModelError, match="missing"):
        load_model(link)


def test_external_data_shorter_than_declared_is_a_model_error(tmp_path, rng):
    path = _external(tmp_path, rng, "w.bin")
    data = path.parent / "w.bin"
    data.write_bytes(data.read_bytes()[:20])
    with pytest.raises(ModelError, match="W"):
        load_model(path)
