"""`smugkit attribute` runs any registered method and writes its record."""

from __future__ import annotations

import numpy as np
import pytest

from smugkit.attribution import Attribution, attribute
from smugkit.cli import main
from smugkit.frontends import load_model
from tests.attribution.helpers import tiny_cnn


@pytest.fixture
def files(tmp_path):
    model = tmp_path / "tiny.onnx"
    model.write_bytes(tiny_cnn(seed=4, h=4, w=4, filters=3).SerializeToString())
    np.save(tmp_path / "x.npy", np.random.default_rng(1).random((1, 1, 4, 4)))
    return model, tmp_path / "x.npy", tmp_path


@pytest.mark.parametrize("method", ["gradient", "integrated_gradients"])
def test_attribute_writes_the_methods_record(files, capsys, method):
    pytest.importorskip("matplotlib")
    model, x, folder = files
    out = folder / method
    rc = main(["attribute", str(model), str(x), "--method", method, "--target", "1", "--out", str(out)])
    assert rc == 0 and f"wrote {out / 'attribution.json'}" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {
        "attribution.json",
        "attribution.npy",
        "attribution.png",
        "panel.png",
    }
    a = Attribution.load(out)
    ref = attribute(load_model(model), np.load(x), method=method, target=1)
    assert a.method == method and a.target == 1 and np.allclose(a.values, ref.values)
    assert np.array_equal(np.load(out / "attribution.npy"), a.values)


def test_methods_lists_every_method_with_its_options(capsys):
    from smugkit.attribution import METHODS

    assert main(["methods"]) == 0
    text = capsys.readouterr().out
    for name in METHODS:
        assert f"\n{name}  (needs " in "\n" + text
    assert "    top_k = 100" in text and "    kind = None" in text


def test_method_options_are_parsed_and_checked(files, capsys):
    model, x, folder = files
    out = folder / "ig.json"
    assert (
        main(["attribute", str(model), str(x), "-o", "steps=16", "-o", "baseline=black", "--out", str(out)])
        == 0
    )
    assert Attribution.load(out).options["steps"] == 16
    assert main(["attribute", str(model), str(x), "-o", "stepz=3"]) == 2
    assert "has no option(s) ['stepz']" in capsys.readouterr().err
    assert main(["attribute", str(model), str(x), "-o", "steps"]) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err
