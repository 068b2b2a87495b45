"""`smugkit explain`, `smugkit demo` and `smugkit backends` write and print what they promise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smugkit.cli import main
from tests.attribution.helpers import tiny_cnn


@pytest.fixture
def model_and_input(tmp_path):
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_cnn(seed=4, h=4, w=4, filters=3).SerializeToString())
    x = np.random.default_rng(1).random((1, 1, 4, 4))
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "x.json").write_text(json.dumps(x[0].tolist()))
    return model, tmp_path


@pytest.mark.parametrize("input_name", ["x.npy", "x.json"])
def test_explain_writes_files(model_and_input, capsys, input_name):
    model, folder = model_and_input
    out = folder / f"out-{input_name}"
    rc = main(
        [
            "--quiet",
            "explain",
            str(model),
            str(folder / input_name),
            "--top-k",
            "8",
            "--ig-steps",
            "20",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert {p.name for p in out.iterdir()} == {
        "explanation.json",
        "explanation.npz",
        "saliency.png",
        "mask.png",
        "panel.png",
    }
    text = capsys.readouterr().out
    assert "certificate (onnxruntime): holds" in text and "optimal" in text
    record = json.loads((out / "explanation.json").read_text())
    assert record["mask_size"] == sum(record["mask_bits"]) and record["status"] == "optimal"


def test_explain_image_input(model_and_input, capsys):
    from PIL import Image

    model, folder = model_and_input
    Image.fromarray((np.random.default_rng(0).random((6, 6)) * 255).astype(np.uint8)).save(folder / "img.png")
    assert main(["explain", str(model), str(folder / "img.png"), "--out", str(folder / "o")]) == 2
    assert "pass --resize" in capsys.readouterr().err
    assert (
        main(
            [
                "--quiet",
                "explain",
                str(model),
                str(folder / "img.png"),
                "--resize",
                "--ig-steps",
                "10",
                "--out",
                str(folder / "o"),
                "--no-pictures",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--label", "9"], "out of range"),
        (["--gamma", "1.5"], "gamma"),
        (["--window", "0"], "window"),
        (["--backend", "nosuch"], "nosuch"),
    ],
)
def test_explain_bad_options(model_and_input, capsys, args, needle):
    model, folder = model_and_input
    assert main(["--quiet", "explain", str(model), str(folder / "x.npy"), "--ig-steps", "5", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smugkit: error:") and needle in err


def test_explain_bad_input_file(model_and_input, capsys):
    model, folder = model_and_input
    np.save(folder / "wrong.npy", np.zeros((2, 3)))
    assert main(["explain", str(model), str(folder / "wrong.npy")]) == 2
    assert "does not fit the model input" in capsys.readouterr().err
    assert main(["explain", str(model), str(folder / "x.txt")]) == 2


def test_demo_default_backend(tmp_path, capsys):
    assert main(["--quiet", "demo", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "optimal" in out and "holds" in out
    assert (tmp_path / "d" / "saliency.png").stat().st_size > 0


def test_demo_with_backend_and_short_budget_returns_best_mask(tmp_path, capsys):
    budget = 3.0
    folder = str(tmp_path / "d")
    assert main(["--quiet", "demo", "--backend", "cvc5", "--out", folder, "--timeout", f"{budget:g}"]) == 0
    out = capsys.readouterr().out
    assert "backend cvc5" in out and "holds" in out
    record = json.loads((tmp_path / "d" / "explanation.json").read_text())
    assert record["status"] in ("optimal", "feasible") and 0 < record["mask_size"] <= len(record["mask_bits"])
    # the solve stops at the budget; 5 s of slack past it for lowering the problem and killing the last
    # forked check on a loaded machine
    assert record["timings"]["solve"] < budget + 5.0


def test_backends_lists_solvers(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    assert "z3" in out and "cvc5" in out and "default:" in out
    assert "provers for a MILP backend" in out and "bnb" in out
    assert main(["backends", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"z3", "cvc5", "highs"}
