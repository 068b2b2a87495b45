"""The CLI fails early and plainly: missing picture support before work, a closed pipe quietly, long names
wrapped rather than cut, a non-model object as a typed error."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import smugkit
from smugkit.cli import main
from smugkit.errors import InputError
from smugkit.zoo import model_path, sample_inputs


def test_missing_matplotlib_is_reported_before_any_work(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "matplotlib" else real(n, *a))
    x = tmp_path / "x.npy"
    np.save(x, sample_inputs(28)[0][0])
    rc = main(
        ["--quiet", "attribute", str(model_path("digits_cnn28")), str(x), "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "matplotlib" in err and "--no-pictures" in err
    assert not (tmp_path / "out").exists()


def test_closed_pipe_is_quiet():
    cmd = f"{sys.executable} -m smugkit inspect {model_path('digits_cnn28')} | head -1"
    run = subprocess.run(["bash", "-c", cmd], check=False, capture_output=True, text=True, timeout=120)
    assert (
        run.stdout.startswith("model:") and "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr
    )


def test_inspect_wraps_long_names(tmp_path, capsys):
    name = "encoder/" + "very_long_scope_name/" * 6 + "Gemm"
    w = numpy_helper.from_array(np.ones((3, 2), np.float32), "W")
    g = helper.make_graph(
        [helper.make_node("Gemm", ["X", "W"], ["Y"], name=name)],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])],
        initializer=[w],
    )
    path = tmp_path / "long.onnx"
    onnx.save_model(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    cells = [
        line.split("  ")[1].strip() if line[:1].isdigit() else line.strip().split("  ")[0]
        for line in out.splitlines()
    ]
    assert name.replace("/", "") in "".join(cells).replace("/", "").replace(" ", "")
    assert max(len(line) for line in out.splitlines() if "very_long" in line) < 120


@pytest.mark.parametrize("fn", [smugkit.explain, smugkit.attribute])
def test_a_non_model_object_is_an_input_error(fn):
    with pytest.raises(InputError, match="got object"):
        fn(object(), np.zeros((1, 1, 8, 8)))


@pytest.mark.parametrize("size", ["lots", "0", "-2G", "2X"])
def test_bad_max_memory_is_one_line_exit_2(size, monkeypatch, capsys):
    monkeypatch.delenv("SMUGKIT_MAX_BYTES", raising=False)
    rc = main(["--quiet", "bench", f"--max-memory={size}"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--max-memory" in err and "2G" in err


def test_max_memory_sets_the_guard_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SMUGKIT_MAX_BYTES", raising=False)
    x = tmp_path / "x.npy"
    np.save(x, sample_inputs(28)[0][0])
    args = ["--quiet", "attribute", str(model_path("digits_mlp28")), str(x), "--no-pictures"]
    rc = main([*args, "--out", str(tmp_path / "a.json"), "--max-memory", "1K"])
    err = capsys.readouterr().err
    assert rc == 2 and "above the memory limit of 1.0 KiB" in err and "--max-memory" in err
    assert os.environ["SMUGKIT_MAX_BYTES"] == "1024"  # workers started from here inherit it
    assert main([*args, "--out", str(tmp_path / "b.json"), "--max-memory", "2GiB"]) == 0
