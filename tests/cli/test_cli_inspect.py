"""`smugkit inspect` and the CLI's error handling."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from smugkit.cli import main


def _symbolic_model(path):
    w = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "F"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        [w],
    )
    path.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return path


def test_inspect_text(shared_models, capsys):
    assert main(["inspect", str(shared_models / "marabou" / "KJ_TinyTaxiNet.onnx")]) == 0
    out = capsys.readouterr().out
    assert "first layer: Conv 'conv2d/Conv2D' -> Relu" in out
    assert "folded Add" in out and "[1, 8, 16, 1]" in out


def test_inspect_json(shared_models, capsys):
    assert main(["inspect", str(shared_models / "marabou" / "mnist2x10.onnx"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["source"].endswith("mnist2x10.onnx") and s["producer"] == "pytorch 1.11.0" and s["opset"] == 11
    assert s["outputs"] == [{"name": "output", "onnx_name": "output", "shape": [1, 10]}]
    assert s["outputs_are"] == "scores" and s["notes"] == []
    assert s["inputs"][0]["shape"] == [1, 1, 28, 28]
    assert s["first_layer"]["op"] == "Dense" and s["first_layer"]["neurons"] == 10
    assert [L["op"] for L in s["layers"]].count("Relu") == 2


def test_inspect_unsupported_lists_ops(shared_models, capsys):
    assert main(["inspect", str(shared_models / "marabou" / "resize" / "resize_4dims.onnx")]) == 2
    assert "Resize" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content,needle",
    [(None, "not found"), (b"", "empty file"), (b"\x08\x07garbage\xff\xff\xff", "not a valid ONNX model")],
)
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, content, needle):
    path = tmp_path / "m.onnx"
    if content is not None:
        path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("smugkit: error:") and needle in err[0]


def test_debug_shows_traceback(tmp_path, capsys):
    assert main(["--debug", "inspect", str(tmp_path / "missing.onnx")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_symbolic_shape_asks_for_input_shape(tmp_path, capsys):
    path = _symbolic_model(tmp_path / "sym.onnx")
    assert main(["inspect", str(path)]) == 2
    assert "--input-shape x=" in capsys.readouterr().err
    assert main(["inspect", str(path), "--input-shape", "x=1,4"]) == 0
    assert main(["inspect", str(path), "--input-shape", "x=1,five"]) == 2
    assert "bad input shape" in capsys.readouterr().err
