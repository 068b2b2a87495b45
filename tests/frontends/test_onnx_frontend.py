"""The ONNX frontend: folding, cuts, layouts, error reporting, input checks and file handling."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from smugkit.errors import InputError, ModelError, UnsupportedOpError
from smugkit.frontends import load_model, parse_shape, read_model
from smugkit.ir import Network
from smugkit.ir.network import ModelOrigin

ort.set_default_logger_severity(3)
node = helper.make_node
F = TensorProto.FLOAT
TESTS = Path(__file__).resolve().parents[1]


def make(nodes, inputs, outputs, inits=None, opset=17, ir_version=8) -> onnx.ModelProto:
    """A model from ``(name, shape[, elem_type])`` inputs and ``(name, shape[, elem_type])`` outputs."""
    ins = [helper.make_tensor_value_info(i[0], i[2] if len(i) > 2 else F, i[1]) for i in inputs]
    outs = [helper.make_tensor_value_info(o[0], o[2] if len(o) > 2 else F, o[1]) for o in outputs]
    init = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    g = helper.make_graph(nodes, "g", ins, outs, initializer=init)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version)


def ort_tensors(m: onnx.ModelProto, feeds: dict, names: list[str]) -> list[np.ndarray]:
    """Run onnxruntime and fetch any tensors, internal ones included."""
    m2 = onnx.ModelProto()
    m2.CopyFrom(m)
    have = {o.name for o in m2.graph.output}
    for n in names:
        if n not in have:
            m2.graph.output.append(helper.make_empty_tensor_value_info(n))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(m2.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(names, feeds)


def assert_matches_ort(m, net, feeds, atol=1e-5):
    names = [net.origin.output_names.get(o.name, o.name) for o in net.outputs]
    got = net.run(feeds)
    for o, ref in zip(net.outputs, ort_tensors(m, feeds, names)):
        np.testing.assert_allclose(got[o.name], ref, rtol=1e-4, atol=atol)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def w(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def mlp(rng, with_softmax=False):
    nodes = [
        node("Gemm", ["X", "W1", "b1"], ["h"]),
        node("Relu", ["h"], ["r"]),
        node("Gemm", ["r", "W2", "b2"], ["logits"]),
    ]
    if with_softmax:
        nodes.append(node("Softmax", ["logits"], ["Y"]))
    inits = {"W1": w(rng, 4, 6), "b1": w(rng, 6), "W2": w(rng, 6, 3), "b2": w(rng, 3)}
    return make(nodes, [("X", [1, 4])], [("Y" if with_softmax else "logits", [1, 3])], inits)


# -- constant folding and BatchNorm folding --------------------------------------------------------------
def test_pytorch_shape_chain_is_folded(rng):
    nodes = [
        node("Shape", ["X"], ["s"]),
        node("Gather", ["s", "zero"], ["n"], axis=0),
        node("Unsqueeze", ["n", "ax0"], ["n1"]),
        node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        node("Reshape", ["X", "shape"], ["f"]),
        node("Gemm", ["f", "W", "b"], ["g"], transB=1),
        node("Relu", ["g"], ["Y"]),
    ]
    inits = {
        "zero": np.array(0, np.int64),
        "ax0": np.array([0], np.int64),
        "minus1": np.array([-1], np.int64),
        "W": w(rng, 5, 24),
        "b": w(rng, 5),
    }
    m = make(nodes, [("X", ["N", 2, 3, 4])], [("Y", ["N", 5])], inits)
    net = load_model(m)
    assert [n.op_type for n in net.nodes] == ["Reshape", "Dense", "Relu"]
    assert net.tensors["f"].shape == (1, 24)
    assert_matches_ort(m, net, {"X": w(rng, 1, 2, 3, 4)})
    net3 = load_model(m, batch_size=3)
    assert net3.input.shape == (3, 2, 3, 4)
    assert_matches_ort(m, net3, {"X": w(rng, 3, 2, 3, 4)})


def test_constant_subgraph_is_folded(rng):
    nodes = [node("Mul", ["a", "b"], ["ab"]), node("Sqrt", ["ab"], ["s"]), node("Add", ["X", "s"], ["Y"])]
    inits = {"a": np.abs(w(rng, 3)) + 1, "b": np.abs(w(rng, 3)) + 1}
    m = make(nodes, [("X", [2, 3])], [("Y", [2, 3])], inits)
    net = load_model(m)
    assert [n.op_type for n in net.nodes] == ["Add"]
    assert_matches_ort(m, net, {"X": w(rng, 2, 3)})


def test_batchnorm_folding_is_noted(rng):
    c = 3
    inits = {
        "W": w(rng, c, 2, 3, 3),
        "s": w(rng, c),
        "b": w(rng, c),
        "m": w(rng, c),
        "v": (0.5 + rng.random(c)).astype(np.float32),
    }
    nodes = [
        node("Conv", ["X", "W"], ["c"]),
        node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"]),
        node("Relu", ["bn"], ["Y"]),
    ]
    m = make(nodes, [("X", [1, 2, 5, 5])], [("Y", [1, c, 3, 3])], inits)
    net = load_model(m)
    assert [n.op_type for n in net.nodes] == ["Conv", "Relu"]
    assert any("BatchNormalization" in s and "folded" in s for s in net.origin.notes)
    assert_matches_ort(m, net, {"X": w(rng, 1, 2, 5, 5)}, atol=1e-4)


def test_origin_records_where_the_network_came_from(rng, tmp_path):
    m = mlp(rng, with_softmax=True)
    m.producer_name, m.producer_version = "exporter", "2.1"
    path = tmp_path / "mlp.onnx"
    path.write_bytes(m.SerializeToString())
    net = load_model(path)
    o = net.origin
    assert isinstance(o, ModelOrigin)
    assert (o.source, o.producer, o.opset, o.post_processing) == (str(path), "exporter 2.1", 17, "softmax")
    assert o.output_names == {"logits": "logits"} and any("Softmax" in s for s in o.notes)
    assert isinstance(o.model, onnx.ModelProto) and [n.op_type for n in o.model.graph.node][-1] == "Softmax"
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.source = "elsewhere"
    assert load_model(m).origin.source == "<ModelProto>"
    built = Network(net.inputs, net.outputs, net.nodes, net.tensors)
    assert built.origin == ModelOrigin() and built.origin.model is None and built.origin.source is None
    x = w(rng, 1, 4)
    np.testing.assert_array_equal(built(x), net(x))


# -- post-processing cut ----------------------------------------------------------------------------------
def test_softmax_at_the_end_is_cut(rng):
    m = mlp(rng, with_softmax=True)
    net = load_model(m)
    assert net.origin.post_processing == "softmax"
    assert [o.name for o in net.outputs] == ["logits"]
    assert any("Softmax" in s for s in net.origin.notes)
    x = w(rng, 1, 4)
    np.testing.assert_allclose(net(x), ort_tensors(m, {"X": x}, ["logits"])[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("softmax", [False, True])
def test_argmax_at_the_end_is_cut(rng, softmax):
    m = mlp(rng, with_softmax=softmax)
    last = "Y" if softmax else "logits"
    m.graph.node.append(node("ArgMax", [last], ["label"], axis=1, keepdims=0))
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info("label", TensorProto.INT64, [1]))
    net = load_model(m)
    assert [o.name for o in net.outputs] == ["logits"]
    assert net.origin.post_processing == ("softmax" if softmax else None)
    assert any("ArgMax" in s for s in net.origin.notes)
    x = w(rng, 1, 4)
    logits, label = ort_tensors(m, {"X": x}, ["logits", "label"])
    np.testing.assert_allclose(net(x), logits, rtol=1e-5, atol=1e-5)
    assert int(np.argmax(net(x))) == int(label[0])


def _sklearn_mlp(tmp_path: Path, zipmap: bool) -> Path:
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx is not installed")
    factories = TESTS / "model_factories.py"
    if factories.is_file():
        spec = importlib.util.spec_from_file_location("model_factories", factories)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if hasattr(mod, "sklearn_mlp"):  # (path, path_zipmap, classifier)
            path, path_zipmap, _ = mod.sklearn_mlp(tmp_path)
            return Path(path_zipmap if zipmap else path)
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=300, random_state=0).fit(x, y)
    m = skl2onnx.convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, 4]))],
        options={id(clf): {"zipmap": zipmap}},
        target_opset=17,
    )
    path = tmp_path / f"mlp_zipmap{int(zipmap)}.onnx"
    path.write_bytes(m.SerializeToString())
    return path


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("zipmap", [True, False])
def test_sklearn_mlp_classifier(tmp_path, rng, zipmap):
    path = _sklearn_mlp(tmp_path, zipmap)
    m = onnx.load(str(path))
    net = load_model(path)
    assert len(net.outputs) == 1
    assert net.origin.post_processing == "softmax"
    assert all(n.op_type in ("Dense", "Relu", "Reshape", "Add") for n in net.nodes)
    x = w(rng, 1, net.input.shape[1])
    scores = net(x)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    label, proba = sess.run(None, {sess.get_inputs()[0].name: x})
    probs = np.array([list(proba[0].values())]) if zipmap else proba
    e = np.exp(scores - scores.max())
    np.testing.assert_allclose(e / e.sum(), probs, rtol=1e-4, atol=1e-5)
    assert int(np.argmax(scores)) == int(np.argmax(probs))
    assert int(np.ravel(label)[0]) == int(np.argmax(scores))  # classes are 0..k-1
    logits_name = net.origin.output_names[net.output.name]
    np.testing.assert_allclose(
        scores, ort_tensors(m, {sess.get_inputs()[0].name: x}, [logits_name])[0], rtol=1e-4, atol=1e-5
    )


# -- layouts ---------------------------------------------------------------------------------------------
def test_keras_nhwc_transposes(rng):
    nodes = [
        node("Transpose", ["X"], ["xt"], perm=[0, 3, 1, 2]),
        node("Conv", ["xt", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        node("Relu", ["c"], ["r"]),
        node("Transpose", ["r"], ["rt"], perm=[0, 2, 3, 1]),
        node("Reshape", ["rt", "shape"], ["f"]),
        node("MatMul", ["f", "M"], ["m"]),
        node("Add", ["m", "mb"], ["Y"]),
    ]
    inits = {
        "W": w(rng, 4, 3, 3, 3),
        "B": w(rng, 4),
        "shape": np.array([-1, 6 * 6 * 4], np.int64),
        "M": w(rng, 144, 5),
        "mb": w(rng, 5),
    }
    m = make(nodes, [("X", ["unk", 6, 6, 3])], [("Y", ["unk", 5])], inits)
    net = load_model(m)
    assert net.input.shape == (1, 6, 6, 3)
    assert_matches_ort(m, net, {"X": w(rng, 1, 6, 6, 3)}, atol=1e-4)
    fl = net.first_layer()
    assert fl.kind == "Conv" and fl.activation_type == "Relu"
    assert net.node(fl.affine_part[0]).op_type == "Transpose"


# -- errors ----------------------------------------------------------------------------------------------
def test_all_unsupported_ops_are_reported_at_once(rng):
    nodes = [
        node("Erf", ["X"], ["e1"], name="erf_a"),
        node("Resize", ["e1", "", "scales"], ["rs"], name="resize", mode="nearest"),
        node("Erf", ["rs"], ["e2"], name="erf_b"),
        node("TopK", ["e2", "k"], ["vals", "idx"], name="topk", axis=-1),
        node("Relu", ["vals"], ["r"]),
        node("Flatten", ["r"], ["f"]),
        node("Gemm", ["f", "W"], ["Y"]),
    ]
    inits = {
        "scales": np.array([1, 1, 2, 2], np.float32),
        "k": np.array([3], np.int64),
        "W": w(rng, 8 * 3, 2),
    }
    m = make(nodes, [("X", [1, 1, 4, 4])], [("Y", [1, 2])], inits, opset=13)
    with pytest.raises(UnsupportedOpError) as e:
        load_model(m)
    assert e.value.ops == {"Erf": ["erf_a", "erf_b"], "Resize": ["resize"], "TopK": ["topk"]}
    for word in ("Erf", "Resize", "TopK", "erf_a", "erf_b", "resize", "topk"):
        assert word in str(e.value)


def test_symbolic_non_batch_dim_needs_input_shape(rng):
    nodes = [node("Relu", ["X"], ["Y"])]
    m = make(nodes, [("X", ["N", "C", 4])], [("Y", ["N", "C", 4])])
    with pytest.raises(InputError, match="--input-shape"):
        load_model(m)
    net = load_model(m, input_shapes={"X": (2, 3, 4)})
    assert net.input.shape == (2, 3, 4)
    net = load_model(m, input_shapes=parse_shape("1,5,4"))
    assert net.input.shape == (1, 5, 4)
    with pytest.raises(InputError, match="declared"):
        load_model(m, input_shapes={"X": (2, 3, 5)})
    with pytest.raises(InputError, match="nope"):
        load_model(m, input_shapes={"nope": (2, 3, 4)})


def test_parse_shape():
    assert parse_shape("input=1,3,32,32") == {"input": (1, 3, 32, 32)}
    assert parse_shape("1x3x8x8") == {"": (1, 3, 8, 8)}
    assert parse_shape("a=1,2; b=3") == {"a": (1, 2), "b": (3,)}
    for bad in ("abc", "x=", "x=1,a", "x=0,3", "x=-1,2", "x=1.5"):
        with pytest.raises(InputError, match="bad input shape"):
            parse_shape(bad)


def test_nodes_out_of_topological_order(rng):
    m = mlp(rng, with_softmax=False)
    nodes = list(m.graph.node)[::-1]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    with pytest.raises(onnx.checker.ValidationError):
        onnx.checker.check_model(m)
    net = load_model(m)
    assert [n.op_type for n in net.nodes] == ["Dense", "Relu", "Dense"]
    ordered = mlp(np.random.default_rng(7))
    x = w(rng, 1, 4)
    np.testing.assert_allclose(net(x), ort_tensors(ordered, {"X": x}, ["logits"])[0], rtol=1e-5, atol=1e-5)


def test_cycle_is_a_model_error():
    nodes = [node("Add", ["X", "b"], ["a"]), node("Relu", ["a"], ["b"])]
    m = make(nodes, [("X", [2])], [("b", [2])])
    with pytest.raises(ModelError, match=r"cycle: #0 \(Add\) -> #1 \(Relu\) -> #0 \(Add\)"):
        load_model(m)


def test_cycle_error_names_the_nodes_on_it():
    nodes = [
        node("Relu", ["X"], ["r"], name="entry"),
        node("Add", ["r", "c"], ["a"], name="add"),
        node("Relu", ["a"], ["c"], name="loop"),
        node("Identity", ["c"], ["Y"], name="exit"),
    ]
    m = make(nodes, [("X", [2])], [("Y", [2])])
    with pytest.raises(ModelError, match="cycle") as e:
        load_model(m)
    assert "'add' (Add)" in str(e.value) and "'loop' (Relu)" in str(e.value)
    assert "entry" not in str(e.value) and "exit" not in str(e.value)


# -- files -----------------------------------------------------------------------------------------------
def _external(tmp_path: Path, rng, location: str) -> Path:
    m = make([node("MatMul", ["X", "W"], ["Y"])], [("X", [1, 4])], [("Y", [1, 3])], {"W": w(rng, 4, 3)})
    t = m.graph.initializer[0]
    data = numpy_helper.to_array(t).tobytes()
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", str(len(data)))):
        e = t.external_data.add()
        e.key, e.value = k, v
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    target = Path(location) if Path(location).is_absolute() else folder / location
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    path = folder / "m.onnx"
    path.write_bytes(m.SerializeToString())
    return path


def test_external_data_in_the_same_folder(tmp_path, rng):
    weight = w(rng, 4, 3)
    m = make([node("MatMul", ["X", "W"], ["Y"])], [("X", [1, 4])], [("Y", [1, 3])], {"W": weight})
    path = tmp_path / "m.onnx"
    onnx.save_model(
        m,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="w.bin",
        size_threshold=0,
    )
    assert (tmp_path / "w.bin").is_file()
    net = load_model(path)
    x = w(rng, 1, 4)
    np.testing.assert_allclose(net(x), x.astype(np.float64) @ weight, rtol=1e-6)
    sub = _external(tmp_path, rng, "data/w.bin")
    assert load_model(sub)(x).shape == (1, 3)


@pytest.mark.parametrize("where", ["parent", "absolute", "sneaky"])
def test_external_data_outside_the_folder_is_refused(tmp_path, rng, where):
    location = {
        "parent": "../x.bin",
        "absolute": str(tmp_path / "abs" / "x.bin"),
        "sneaky": "sub/../../x.bin",
    }[where]
    path = _external(tmp_path, rng, location)
    with pytest.raises(ModelError, match="outside"):
        load_model(path)


def test_external_data_missing_file(tmp_path, rng):
    path = _external(tmp_path, rng, "w.bin")
    (path.parent / "w.bin").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(path)


def test_external_data_from_bytes_is_refused(tmp_path, rng):
    path = _external(tmp_path, rng, "w.bin")
    with pytest.raises(ModelError, match="external data"):
        load_model(path.read_bytes())


def test_bad_files(tmp_path, rng):
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "missing.onnx")
    with pytest.raises(InputError, match="not a file"):
        load_model(tmp_path)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        load_model(empty)
    junk = tmp_path / "junk.onnx"
    for seed in range(5):
        junk.write_bytes(np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8).tobytes())
        with pytest.raises(ModelError):
            load_model(junk)
    text = tmp_path / "text.onnx"
    text.write_text("this is not a model\n" * 20)
    with pytest.raises(ModelError):
        load_model(text)


def test_truncated_protobuf(tmp_path, rng):
    m = make(
        [node("MatMul", ["X", "W"], ["h"]), node("Relu", ["h"], ["Y"])],
        [("X", [1, 40])],
        [("Y", [1, 30])],
        {"W": w(rng, 40, 30)},
    )
    data = m.SerializeToString()
    assert load_model(data)(np.zeros((1, 40))).shape == (1, 30)
    for cut in (len(data) // 2, len(data) - 3, 10):
        half = tmp_path / f"half{cut}.onnx"
        half.write_bytes(data[:cut])
        with pytest.raises(ModelError):
            load_model(half)
        with pytest.raises(ModelError):
            load_model(data[:cut])


def test_truncated_real_model(tmp_path, shared_models):
    data = (shared_models / "marabou" / "mnist2x10.onnx").read_bytes()
    half = tmp_path / "half.onnx"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=str(half)):
        load_model(half)


def test_invalid_graph_is_a_model_error():
    m = make([node("Relu", ["nowhere"], ["Y"])], [("X", [2])], [("Y", [2])])
    with pytest.raises(ModelError):
        load_model(m)


def test_read_model_sources(tmp_path, rng):
    m = mlp(rng)
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    for src in (m, m.SerializeToString(), path, str(path)):
        model, _label, _ = read_model(src)
        assert [n.op_type for n in model.graph.node] == ["Gemm", "Relu", "Gemm"]
    assert read_model(path)[1] == str(path)


# -- inputs to run ---------------------------------------------------------------------------------------
def test_wrong_input_shape_and_values(rng):
    net = load_model(mlp(rng))
    with pytest.raises(InputError, match="shape"):
        net.run(np.zeros((1, 5)))
    with pytest.raises(InputError, match="shape"):
        net.run(np.zeros((2, 3, 4)))
    for bad in (np.nan, np.inf, -np.inf):
        x = np.zeros((1, 4))
        x[0, 2] = bad
        with pytest.raises(InputError, match="NaN or Inf"):
            net.run(x)
    with pytest.raises(InputError):
        net.run(np.array([["a", "b", "c", "d"]]))
    with pytest.raises(InputError):
        net.run({"nope": np.zeros((1, 4))})
    with pytest.raises(InputError):
        net.vjp(np.zeros((1, 4)), "logits", np.zeros((1, 2)), wrt=["X"])


def test_run_conventions(rng):
    m = mlp(rng)
    net = load_model(m)
    xs = w(rng, 5, 4)
    single = np.stack([net(xs[k : k + 1])[0] for k in range(5)])
    np.testing.assert_allclose(net(xs), single, rtol=1e-12)  # a batch for a batch-1 model
    np.testing.assert_allclose(net(xs[:, None])[:, 0], single, rtol=1e-12)  # a stack
    np.testing.assert_allclose(net({"X": xs[:1]}), net(xs[:1]))
    ref = ort_tensors(m, {"X": xs[:1]}, ["logits", "h"])
    got = net.run(xs[:1], outputs=["logits", "h"])
    np.testing.assert_allclose(got["h"], ref[1], rtol=1e-5, atol=1e-6)
    g = net.vjp(xs, "logits", np.ones((5, 3)), wrt=["X"])["X"]
    assert g.shape == (5, 4)
    lo, hi = net.bounds(xs[:1] - 0.1, xs[:1] + 0.1)["logits"]
    assert np.all(lo <= net(xs[:1])) and np.all(net(xs[:1]) <= hi)
    with pytest.raises(InputError):
        net.bounds(xs[:1] + 0.1, xs[:1] - 0.1)
