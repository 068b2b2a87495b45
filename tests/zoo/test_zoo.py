"""The bundled model zoo: files load in onnxruntime, classify the bundled samples, match the manifest."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest

from smugkit import zoo
from smugkit.errors import InputError

EXPECTED = {"digits_mlp8", "digits_cnn8", "digits_cnn28", "digits_mlp28"}
ALL = EXPECTED | {"cluttered_cnn"}  # tests/zoo/test_cluttered.py covers the cluttered-digits model


def test_list_models_names_the_four_digit_models() -> None:
    assert set(zoo.list_models()) == ALL
    assert zoo.list_models() == sorted(zoo.list_models())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_runs_and_classifies_samples(name: str) -> None:
    entry = zoo.manifest()["models"][name]
    res = entry["input_shape"][-1]
    images, labels = zoo.sample_inputs(res)
    sess = ort.InferenceSession(str(zoo.model_path(name)), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["logits"]
    logits = sess.run(["logits"], {"input": images})[0]
    assert logits.shape == (len(images), 10)
    single = sess.run(["logits"], {"input": images[:1]})[0]
    np.testing.assert_allclose(single, logits[:1], rtol=1e-5, atol=1e-5)
    acc = float((logits.argmax(1) == labels).mean())
    assert acc >= 0.85, f"{name}: accuracy {acc:.2f} on the bundled samples"
    assert entry["test_accuracy"] >= 0.90


@pytest.mark.parametrize("resolution", [8, 28])
def test_sample_inputs_shapes_and_range(resolution: int) -> None:
    images, labels = zoo.sample_inputs(resolution)
    assert images.shape == (20, 1, resolution, resolution) and images.dtype == np.float32
    assert labels.shape == (20,) and labels.dtype == np.int64
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_test_set_reproduces_the_manifests_accuracy(name: str) -> None:
    entry = zoo.manifest()["models"][name]
    images, labels = zoo.test_set(entry["input_shape"][-1])
    assert images.shape[0] == labels.shape[0] == 450
    np.testing.assert_allclose(images[:20], zoo.sample_inputs(entry["input_shape"][-1])[0], atol=1e-6)
    sess = ort.InferenceSession(str(zoo.model_path(name)), providers=["CPUExecutionProvider"])
    acc = float((sess.run(["logits"], {"input": images})[0].argmax(1) == labels).mean())
    assert acc == pytest.approx(entry["test_accuracy"], abs=1 / 450)  # the same split the manifest scored


def test_sample_inputs_rejects_other_resolutions() -> None:
    with pytest.raises(InputError, match="resolution"):
        zoo.sample_inputs(16)
    images, labels = zoo.sample_inputs(40)  # the cluttered digits
    assert images.shape == (20, 1, 40, 40) and labels.shape == (20,)


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(InputError) as info:
        zoo.model_path("resnet50")
    msg = str(info.value)
    assert "resnet50" in msg and all(name in msg for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(ALL))
def test_manifest_sha256_matches_file(name: str) -> None:
    entry = zoo.manifest()["models"][name]
    assert hashlib.sha256(zoo.model_path(name).read_bytes()).hexdigest() == entry["sha256"]


def test_manifest_is_a_copy() -> None:
    zoo.manifest()["models"].clear()
    assert set(zoo.list_models()) == ALL


def test_zoo_import_does_not_import_torch() -> None:
    code = "import sys, smugkit.zoo; sys.exit(1 if 'torch' in sys.modules or 'sklearn' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.slow
@pytest.mark.timeout(1800)  # retraining takes ~600 s, as long as the suite-wide timeout
def test_training_script_reproduces_the_bundle(tmp_path) -> None:
    pytest.importorskip("torch", reason="torch is not installed (needed to retrain the zoo)")
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (needed to retrain the zoo)")
    from smugkit.zoo import train_digits

    assert train_digits.main(["--out", str(tmp_path)]) == 0
    fresh = json.loads((tmp_path / "manifest.json").read_text())
    bundled = zoo.manifest()
    # float summation order depends on the machine's threads, so weights match closely, not bit for bit:
    # compare what the models do instead
    for name, entry in bundled["models"].items():
        if name not in train_digits.MODELS:
            continue
        assert fresh["models"][name]["test_accuracy"] == pytest.approx(entry["test_accuracy"], abs=0.02)
        images, _ = zoo.sample_inputs(entry["input_shape"][-1])
        ours = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        theirs = ort.InferenceSession(str(zoo.model_path(name)), providers=["CPUExecutionProvider"])
        agree = ours.run(None, {"input": images})[0].argmax(1) == theirs.run(None, {"input": images})[
            0
        ].argmax(1)
        assert agree.mean() >= 0.9, (name, agree.mean())
    np.testing.assert_array_equal(np.load(tmp_path / "digits_samples_labels.npy"), zoo.sample_inputs(8)[1])
    np.testing.assert_allclose(np.load(tmp_path / "digits28_samples.npy"), zoo.sample_inputs(28)[0])
