"""Self-check of tests/model_factories.py: each exported ONNX file matches its torch / sklearn reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests import model_factories as mf

EXPORTERS = [pytest.param(False, id="torchscript"), pytest.param(True, id="dynamo")]


def _needs_torch(dynamo: bool) -> None:
    """Skip unless torch (and onnxscript for the dynamo exporter) is installed."""
    pytest.importorskip("torch", reason="torch is not installed (the factories export PyTorch models)")
    if dynamo:
        pytest.importorskip(
            "onnxscript", reason="onnxscript is not installed (needed by the dynamo exporter)"
        )


def _run(path: Path, x: np.ndarray) -> list:
    """All outputs of the ONNX model at ``path`` on the single input ``x``."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})


def _op_types(path: Path) -> set[str]:
    """Op types of the main graph of the ONNX file at ``path``."""
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def _io_names(path: Path) -> tuple[list[str], list[str]]:
    """Input and output names of the ONNX file at ``path``."""
    g = onnx.load(str(path)).graph
    return [i.name for i in g.input], [o.name for o in g.output]


@pytest.mark.parametrize("dynamo", EXPORTERS)
def test_torch_mlp_matches_torch(tmp_path: Path, dynamo: bool) -> None:
    _needs_torch(dynamo)
    path, model = mf.torch_mlp(tmp_path, dynamo)
    assert _io_names(path) == (["input"], ["output"])
    batch = 1 if dynamo else 5
    x = np.random.default_rng(1).normal(size=(batch, 20)).astype(np.float32)
    np.testing.assert_allclose(_run(path, x)[0], mf.torch_forward(model, x), rtol=1e-5, atol=1e-5)
    assert {"Gemm", "Relu", "Tanh"} <= _op_types(path)


@pytest.mark.parametrize("dynamo", EXPORTERS)
def test_torch_cnn_matches_torch(tmp_path: Path, dynamo: bool) -> None:
    _needs_torch(dynamo)
    path, model = mf.torch_cnn(tmp_path, dynamo)
    assert _io_names(path) == (["input"], ["output"])
    for seed in range(3):
        x = np.random.default_rng(seed).random(mf.CNN_INPUT, dtype=np.float32)
        ref = mf.torch_forward(model, x)
        assert ref.shape == (1, 5) and np.abs(ref).max() > 1e-3
        np.testing.assert_allclose(_run(path, x)[0], ref, rtol=1e-5, atol=1e-5)
    ops = _op_types(path)
    assert {"Sub", "Div", "Conv", "BatchNormalization", "Relu", "LeakyRelu", "MaxPool", "AveragePool"} <= ops
    convs = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in convs]
    assert {a.get("group", 1) for a in attrs} >= {1, 2, 8}
    assert any(list(a.get("strides", [1, 1])) == [2, 2] for a in attrs)
    assert any(list(a.get("dilations", [1, 1])) == [2, 2] for a in attrs)


def test_torch_cnn_batchnorm_has_nontrivial_stats() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    model = mf._small_cnn()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 2 and not model.training
    for bn in bns:
        assert bn.running_mean.abs().sum() > 0 and (bn.running_var - 1).abs().sum() > 0


@pytest.mark.parametrize("dynamo", EXPORTERS)
def test_torch_embedding_text_matches_torch(tmp_path: Path, dynamo: bool) -> None:
    _needs_torch(dynamo)
    path, model = mf.torch_embedding_text(tmp_path, dynamo)
    assert _io_names(path) == (["input"], ["output"])
    g = onnx.load(str(path)).graph
    assert g.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    for seed in range(3):
        ids = np.random.default_rng(seed).integers(0, mf.TEXT_VOCAB, size=mf.TEXT_INPUT, dtype=np.int64)
        ref = mf.torch_forward(model, ids)
        assert ref.shape == (1, 2)
        np.testing.assert_allclose(_run(path, ids)[0], ref, rtol=1e-5, atol=1e-5)
    assert {"Gather", "Gemm", "Relu"} <= _op_types(path)


def test_sklearn_mlp_matches_classifier(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
    path, path_zipmap, clf = mf.sklearn_mlp(tmp_path)
    x = np.random.default_rng(0).random((7, 64), dtype=np.float32)
    label, proba = _run(path, x)
    np.testing.assert_array_equal(label, clf.predict(x))
    np.testing.assert_allclose(proba, clf.predict_proba(x), rtol=1e-4, atol=1e-5)
    assert {"MatMul", "Add", "Softmax", "ArgMax"} <= _op_types(path)
    assert "ZipMap" not in _op_types(path)

    label_z, proba_z = _run(path_zipmap, x)
    np.testing.assert_array_equal(label_z, clf.predict(x))
    as_array = np.array([[row[c] for c in clf.classes_] for row in proba_z], dtype=np.float32)
    np.testing.assert_allclose(as_array, clf.predict_proba(x), rtol=1e-4, atol=1e-5)
    assert "ZipMap" in _op_types(path_zipmap)

    one, clf_one = mf.sklearn_mlp(tmp_path / "one", zipmap=True)
    assert one.name == "sklearn_mlp_zipmap.onnx" and np.array_equal(clf_one.coefs_[0], clf.coefs_[0])


def test_torch_factories_are_deterministic(tmp_path: Path) -> None:
    _needs_torch(False)
    a, _ = mf.torch_cnn(tmp_path / "a", False)
    b, _ = mf.torch_cnn(tmp_path / "b", False)
    ia = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(str(a)).graph.initializer}
    ib = {t.name: onnx.numpy_helper.to_array(t) for t in onnx.load(str(b)).graph.initializer}
    assert ia.keys() == ib.keys() and all(np.array_equal(ia[k], ib[k]) for k in ia)
