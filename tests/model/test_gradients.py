"""Gradient providers: ir vs the emitted ONNX graph vs finite differences vs torch.autograd, and error paths."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from smugkit.errors import GradientError, InputError, SmugkitError
from smugkit.frontends import load_model
from smugkit.model import PROVIDERS, get_provider, gradient
from smugkit.model.providers import EPS32, FDProvider, OnnxProvider
from smugkit.runtime import vjp_graph as onnx_grad
from tests.shared_models import FILES, MARABOU, load_shared

SHARED, SHARED_FILES = MARABOU, FILES
PIECEWISE = {"Relu", "LeakyRelu", "Clip", "MaxPool"}
F32_RTOL = 1e-4  # emitted graph (float32) vs IR (float64), relative to the gradient's largest entry
FD_RTOL = 1e-2  # finite differences' stated accuracy, relative to the gradient's largest entry


def close(a, b, rtol: float) -> bool:
    """Entry-wise agreement relative to the reference's scale: |a - b| <= rtol * max|b| + 1e-7."""
    return np.abs(np.asarray(a) - np.asarray(b)).max() <= rtol * np.abs(b).max() + 1e-7


def onnx_model(nodes, inputs, outputs, inits=None, opset: int = 17) -> onnx.ModelProto:
    """A model from nodes; ``inputs``/``outputs`` are ``(name, shape)`` pairs (float) or names (shape unknown)."""
    ins = [
        helper.make_tensor_value_info(n, s[2] if len(s) > 2 else TensorProto.FLOAT, s[1])
        for s in inputs
        for n in [s[0]]
    ]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    init = [
        numpy_helper.from_array(np.asarray(v, np.float32 if np.asarray(v).dtype.kind == "f" else None), k)
        for k, v in (inits or {}).items()
    ]
    g = helper.make_graph(nodes, "g", ins, outs, initializer=init)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return onnx.shape_inference.infer_shapes(m)  # fills in the output shapes the checker asks for


def random_feeds(net, rng, n: int = 3) -> dict:
    return {
        i.name: (
            rng.integers(0, 4, (n,) + i.shape)
            if i.dtype.startswith("int")
            else rng.uniform(-1, 1, (n,) + i.shape)
        )
        for i in net.inputs
    }


# -- ir vs onnx on every shared model ------------------------------------------------------------------------
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda p: str(p.relative_to(SHARED)))
def test_ir_and_onnx_agree_on_shared_models(path):
    net = load_shared(path)
    rng = np.random.default_rng(0)
    feeds = random_feeds(net, rng)
    ir, on = get_provider("ir", net), get_provider("onnx", net)
    wrts = [i.name for i in net.inputs if not i.dtype.startswith("int")]
    try:
        wrts.append(net.first_layer().post)
    except SmugkitError:
        pass
    for o in net.outputs:
        assert close(on.outputs(feeds, o.name), ir.outputs(feeds, o.name), F32_RTOL)
        cot = rng.standard_normal((3,) + o.shape)
        for w in wrts:
            assert close(on.vjp(feeds, o.name, cot, w), ir.vjp(feeds, o.name, cot, w), F32_RTOL), (o.name, w)
        axis = len(o.shape) - 1
        w = wrts[0]
        assert close(on.vjp(feeds, o.name, cot, w, axis), ir.vjp(feeds, o.name, cot, w, axis), F32_RTOL)


# -- finite differences on the shared models ------------------------------------------------------------------
FD_FILES = [p for p in SHARED_FILES if "layer-zoo" not in str(p) and "split" not in str(p)]


def central_differences(net, x, target, steps, coords):
    """Float64 central differences of the IR at flat ``coords`` with the fd provider's steps (no float32 noise)."""
    eye = np.zeros((coords.size, x.size))
    eye[np.arange(coords.size), coords] = steps.reshape(-1)[coords]
    pts = np.concatenate([x.reshape(1, -1) + eye, x.reshape(1, -1) - eye]).reshape(
        (2 * coords.size,) + x.shape
    )
    f = net.run(pts)[net.output.name].reshape(2 * coords.size, -1)[:, target]
    return (f[: coords.size] - f[coords.size :]) / (2 * steps.reshape(-1)[coords])


@pytest.mark.parametrize("path", FD_FILES, ids=lambda p: str(p.relative_to(SHARED)))
def test_fd_agrees_on_shared_models(path):
    net = load_shared(path)
    if len(net.inputs) != 1 or len(net.outputs) != 1:
        pytest.skip("fd check runs single-input single-output models")
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 1.0, (2,) + net.input.shape)
    prov = FDProvider(net)
    g_fd = gradient(net, x, gradients=prov)
    g_ir = gradient(net, x, gradients="ir")
    for i in range(2):
        out = net.run(x[i])[net.output.name]
        h = prov.steps(x[i])
        coords = rng.choice(x[i].size, min(x[i].size, 64), replace=False)
        ref = central_differences(net, x[i], int(out.argmax()), h, coords)
        # the same differences up to float32 rounding of the outputs: a few eps32 * |f| / h
        noise = 4 * EPS32 * np.abs(out).max() / h.min()
        assert np.abs(g_fd[i].reshape(-1)[coords] - ref).max() <= 2e-3 * np.abs(ref).max() + noise
    if not PIECEWISE & {n.op_type for n in net.nodes}:
        assert close(g_fd, g_ir, FD_RTOL)  # smooth: within the stated accuracy of the exact gradient


# -- op coverage of the emitted graph --------------------------------------------------------------------------
def _op_models():
    """Small ONNX graphs covering the emitted ops' attributes (name, model, input shape)."""
    r = np.random.default_rng(3)
    w = lambda *s: r.standard_normal(s).astype(np.float32)
    yield (
        "conv_group_dilation_pads_stride",
        onnx_model(
            [
                helper.make_node(
                    "Conv",
                    ["x", "W", "B"],
                    ["c"],
                    group=2,
                    dilations=[2, 1],
                    strides=[2, 3],
                    pads=[1, 0, 2, 1],
                ),
                helper.make_node("Tanh", ["c"], ["y"]),
            ],
            [("x", [1, 4, 9, 10])],
            ["y"],
            {"W": w(6, 2, 3, 2), "B": w(6)},
        ),
        (1, 4, 9, 10),
    )
    yield (
        "conv1d_clip_avgpool_ceil",
        onnx_model(
            [
                helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1], strides=[2]),
                helper.make_node("Clip", ["c", "lo", "hi"], ["k"]),
                helper.make_node(
                    "AveragePool",
                    ["k"],
                    ["y"],
                    kernel_shape=[3],
                    strides=[2],
                    pads=[1, 1],
                    ceil_mode=1,
                    count_include_pad=1,
                ),
            ],
            [("x", [1, 2, 11])],
            ["y"],
            {"W": w(3, 2, 3), "lo": np.float32(-0.5), "hi": np.float32(0.7)},
        ),
        (1, 2, 11),
    )
    yield (
        "maxpool_pads_dilation_gap",
        onnx_model(
            [
                helper.make_node(
                    "MaxPool",
                    ["x"],
                    ["m"],
                    kernel_shape=[3, 2],
                    strides=[2, 1],
                    pads=[1, 0, 1, 1],
                    dilations=[1, 2],
                ),
                helper.make_node("GlobalAveragePool", ["m"], ["g"]),
                helper.make_node("LeakyRelu", ["g"], ["y"], alpha=0.2),
            ],
            [("x", [1, 3, 7, 6])],
            ["y"],
        ),
        (1, 3, 7, 6),
    )
    yield (
        "two_variable_mul_div_softmax",
        onnx_model(
            [
                helper.make_node("MatMul", ["x", "W"], ["a"]),
                helper.make_node("Sigmoid", ["x"], ["s"]),
                helper.make_node("MatMul", ["s", "V"], ["b"]),
                helper.make_node("Mul", ["a", "b"], ["m"]),
                helper.make_node("Add", ["b", "two"], ["d"]),
                helper.make_node("Div", ["m", "d"], ["q"]),
                helper.make_node("Softmax", ["q"], ["p"], axis=-1),
                helper.make_node("Sub", ["c", "p"], ["y"]),
            ],
            [("x", [1, 5])],
            ["y"],
            {"W": w(5, 4), "V": w(5, 4), "two": np.float32(3.0), "c": w(2, 1, 4)},
        ),
        (1, 5),
    )
    yield (
        "matmul_left_transpose_pad_slice_concat",
        onnx_model(
            [
                helper.make_node("MatMul", ["A", "x"], ["a"]),
                helper.make_node("Transpose", ["a"], ["t"], perm=[1, 0]),
                helper.make_node("Pad", ["t", "pads", "pv"], ["p"], mode="constant"),
                helper.make_node("Slice", ["p", "st", "en"], ["s"]),
                helper.make_node("Concat", ["s", "t"], ["y"], axis=0),
            ],
            [("x", [4, 3])],
            ["y"],
            {
                "A": w(5, 4),
                "pads": np.array([1, 0, 0, 2], np.int64),
                "pv": np.float32(0.5),
                "st": np.array([1, 1], np.int64),
                "en": np.array([4, 6], np.int64),
            },
        ),
        (4, 3),
    )
    yield (
        "conv1d_same_lower_maxpool_dilated_ceil",
        onnx_model(
            [
                helper.make_node("Conv", ["x", "W"], ["c"], strides=[3], auto_pad="SAME_LOWER"),
                helper.make_node("Unsqueeze", ["c", "ax"], ["u"]),
                helper.make_node(
                    "MaxPool",
                    ["u"],
                    ["y"],
                    kernel_shape=[1, 2],
                    dilations=[1, 2],
                    strides=[1, 2],
                    ceil_mode=1,
                ),
            ],
            [("x", [1, 2, 16])],
            ["y"],
            {"W": w(4, 2, 4), "ax": np.array([2], np.int64)},
        ),
        (1, 2, 16),
    )
    yield (
        "avgpool_ceil_pads_excluded_empty_slice",
        onnx_model(
            [
                helper.make_node(
                    "AveragePool",
                    ["x"],
                    ["a"],
                    kernel_shape=[3, 3],
                    strides=[2, 2],
                    pads=[1, 1, 1, 1],
                    ceil_mode=1,
                    count_include_pad=0,
                ),
                helper.make_node("Flatten", ["a"], ["f"]),
                helper.make_node("Slice", ["f", "st", "st", "one"], ["e"]),
                helper.make_node("Concat", ["e", "f"], ["y"], axis=1),
            ],
            [("x", [1, 1, 6, 7])],
            ["y"],
            {"st": np.array([2], np.int64), "one": np.array([1], np.int64)},
        ),
        (1, 1, 6, 7),
    )


@pytest.mark.parametrize("name,model,shape", list(_op_models()), ids=[m[0] for m in _op_models()])
def test_emitted_ops_match_ir_and_onnxruntime(name, model, shape):
    net = load_model(model)
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (4,) + shape)
    out = net.output.name
    g_ir = gradient(net, x, target=None, gradients="ir")
    g_on = gradient(net, x, target=None, gradients="onnx")
    assert close(g_on, g_ir, F32_RTOL)
    cot = rng.standard_normal((4,) + net.output.shape)
    on = get_provider("onnx", net)
    ir = get_provider("ir", net)
    assert close(
        on.vjp({net.input.name: x}, out, cot, net.input.name),
        ir.vjp({net.input.name: x}, out, cot, net.input.name),
        F32_RTOL,
    )
    # the forward half of the graph is onnxruntime's own answer on the original model
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = sess.run([out], {net.input.name: x[0].astype(np.float32)})[0]
    assert close(on.outputs({net.input.name: x[:1]}, out)[0], ref, 1e-5)


def test_maxpool_ties_route_to_the_first_maximum_as_in_the_ir():
    net = load_model(
        onnx_model(
            [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 0, 0])],
            [("x", [1, 1, 3, 3])],
            ["y"],
        )
    )
    x = np.zeros((2, 1, 1, 3, 3))  # all-zero windows: every entry ties (post-ReLU zeros are common)
    x[1, 0, 0, 2, 2] = 1.0
    cot = np.ones((2, 1, 1, 3, 3))
    ir = get_provider("ir", net).vjp({"x": x}, "y", cot, "x")
    assert np.array_equal(get_provider("onnx", net).vjp({"x": x}, "y", cot, "x"), ir)
    assert ir[0].reshape(3, 3)[0, 0] == 4  # the top-left entry is first in all four windows that hold it


def test_unsupported_op_is_a_gradient_error_naming_it(monkeypatch):
    net = load_model(onnx_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [1, 3])], ["y"]))
    monkeypatch.delitem(onnx_grad.EMITTERS, "Relu")
    with pytest.raises(GradientError, match=r"Relu .*no emitter"):
        gradient(net, np.ones((1, 3)), target=0, gradients="onnx")


# -- internal tensors ------------------------------------------------------------------------------------------
def test_gradient_wrt_first_layer_post_activation_all_providers():
    from smugkit.zoo import model_path, sample_inputs

    net = load_model(model_path("digits_cnn8"))
    x = sample_inputs(8)[0][:2]
    post = net.first_layer().post
    g_ir = gradient(net, x, tensor=post, kind="probability", gradients="ir")
    assert g_ir.shape == (2,) + net.tensor(post).shape[1:]
    assert close(gradient(net, x, tensor=post, kind="probability", gradients="onnx"), g_ir, F32_RTOL)
    g_fd = gradient(net, x, tensor=post, kind="probability", gradients="fd")
    assert np.quantile(np.abs(g_fd - g_ir), 0.98) <= FD_RTOL * np.abs(g_ir).max()


def test_fd_refuses_tensors_the_onnx_file_does_not_have():
    model = onnx_model(
        [helper.make_node("Gemm", ["x", "W"], ["y"], transA=1)],
        [("x", [3, 1])],
        ["y"],
        {"W": np.ones((3, 2), np.float32)},
    )
    net = load_model(model)
    internal = next(n.output for n in net.nodes if n.op_type == "Transpose")  # made by the frontend
    with pytest.raises(GradientError, match="does not exist in the ONNX model"):
        gradient(net, np.ones((3, 1)), target=0, tensor=internal, gradients="fd", model=model)


# -- finite differences: batching and step size --------------------------------------------------------------
def test_fd_batches_a_symbolic_axis_and_loops_a_fixed_reshape(tmp_path):
    w = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    flat = onnx_model(
        [
            helper.make_node("Reshape", ["x", "shape"], ["f"]),
            helper.make_node("MatMul", ["f", "W"], ["m"]),
            helper.make_node("Tanh", ["m"], ["y"]),
        ],
        [("x", [1, 2, 3])],
        ["y"],
        {"shape": np.array([1, 6], np.int64), "W": w},
    )
    onnx.save(flat, tmp_path / "fixed.onnx")
    sym = onnx_model(
        [
            helper.make_node("Flatten", ["x"], ["f"]),
            helper.make_node("MatMul", ["f", "W"], ["m"]),
            helper.make_node("Tanh", ["m"], ["y"]),
        ],
        [("x", ["N", 2, 3])],
        ["y"],
        {"W": w},
    )
    onnx.save(sym, tmp_path / "sym.onnx")
    x = np.random.default_rng(1).uniform(-1, 1, (3, 2, 3))  # a batch of 3 for the batch-1 models
    for name, batched in (("fixed.onnx", False), ("sym.onnx", True)):
        net = load_model(tmp_path / name)
        prov = FDProvider(net)
        g = gradient(net, x, target=1, gradients=prov)
        assert g.shape == x.shape
        assert close(g, gradient(net, x, target=1, gradients="ir"), FD_RTOL)
        assert [s.batched for s in prov._sessions.values()] == [batched]


def test_fd_warns_when_the_step_is_large_for_the_input_scale():
    net = load_model(
        onnx_model([helper.make_node("Sigmoid", ["x"], ["y"])], [("x", [1, 4])], ["y"]),
    )
    prov = FDProvider(
        net, model=onnx_model([helper.make_node("Sigmoid", ["x"], ["y"])], [("x", [1, 4])], ["y"])
    )
    with pytest.warns(UserWarning, match="large relative to the input scale"):
        gradient(net, np.full((1, 4), 1e-3), target=0, gradients=prov)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradient(net, np.full((1, 4), 0.5), target=0, gradients=prov)
    with pytest.raises(InputError, match="step"):
        FDProvider(
            net,
            model=onnx_model([helper.make_node("Sigmoid", ["x"], ["y"])], [("x", [1, 4])], ["y"]),
            step=-1.0,
        )


def test_fd_needs_the_original_model():
    net = load_model(onnx_model([helper.make_node("Relu", ["x"], ["y"])], [("x", [1, 3])], ["y"]))
    with pytest.raises(GradientError, match="original ONNX model"):
        gradient(net, np.ones((1, 3)), target=0, gradients="fd")


# -- saving the emitted graph; external gradient models ---------------------------------------------------------
def _mlp():
    r = np.random.default_rng(7)
    return onnx_model(
        [
            helper.make_node("Gemm", ["x", "W1", "b1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("Gemm", ["r", "W2"], ["y"]),
        ],
        [("x", ["N", 6])],
        ["y"],
        {"W1": r.standard_normal((6, 8)), "b1": r.standard_normal(8) * 0.1, "W2": r.standard_normal((8, 3))},
    )


def test_saved_gradient_graph_runs_in_onnxruntime_and_as_external_provider(tmp_path):
    net = load_model(_mlp())
    x = np.random.default_rng(2).uniform(-1, 1, (5, 6))
    path = OnnxProvider(net).save(tmp_path / "grad.onnx", probability=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    assert names == ["x", "cotangent"]
    cot = np.zeros((5, 1, 3), np.float32)
    cot[:, 0, 2] = 1
    probs, grad = sess.run(["target", "grad"], {"x": x[:, None].astype(np.float32), "cotangent": cot})
    ref = gradient(net, x, target=2, kind="probability")
    assert close(grad[:, 0], ref, F32_RTOL)
    assert np.allclose(probs.sum(axis=-1), 1, atol=1e-6)
    logit_graph = OnnxProvider(net).save(tmp_path / "grad_logits.onnx")  # its cotangent is on the logits
    ext = get_provider(
        "external", net, model=logit_graph, gradient_output="grad", cotangent_input="cotangent"
    )
    for kind in ("logit", "probability"):
        assert close(
            gradient(net, x, target=1, kind=kind, gradients=ext),
            gradient(net, x, target=1, kind=kind),
            F32_RTOL,
        )


def test_external_fixed_target_model():
    r = np.random.default_rng(4)
    w = r.standard_normal((4, 3)).astype(np.float32)
    net = load_model(
        onnx_model([helper.make_node("MatMul", ["x", "W"], ["y"])], [("x", [1, 4])], ["y"], {"W": w})
    )
    # d y[0, 2] / dx = W[:, 2] for every x: a hand-written gradient model (x * 0 + W[:, 2])
    grad_model = onnx_model(
        [helper.make_node("Mul", ["x", "zero"], ["z"]), helper.make_node("Add", ["z", "g"], ["dx"])],
        [("x", [1, 4])],
        ["dx"],
        {"zero": np.float32(0), "g": w[:, 2][None]},
    )
    ext = get_provider("external", net, model=grad_model, gradient_output="dx", target=2)
    x = r.uniform(size=(3, 4))
    assert np.allclose(gradient(net, x, target=2, gradients=ext), np.broadcast_to(w[:, 2], (3, 4)))
    with pytest.raises(GradientError, match="differentiates the logit of unit"):
        gradient(net, x, target=1, gradients=ext)
    with pytest.raises(GradientError, match="no output 'nope'"):
        get_provider("external", net, model=grad_model, gradient_output="nope", target=2)
    with pytest.raises(GradientError, match="cotangent input"):
        get_provider("external", net, model=grad_model, gradient_output="dx")


# -- torch.autograd on the PyTorch originals ----------------------------------------------------------------------
@pytest.mark.parametrize("factory,dynamo", [("torch_mlp", False), ("torch_cnn", False), ("torch_cnn", True)])
def test_providers_match_torch_autograd(tmp_path, factory, dynamo):
    torch = pytest.importorskip("torch", reason="torch is not installed: no autograd reference")
    if dynamo:
        pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    from tests import model_factories

    path, module = getattr(model_factories, factory)(tmp_path, dynamo)
    net = load_model(path)
    x = np.random.default_rng(0).uniform(0, 1, (3,) + net.input.shape[1:]).astype(np.float32)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    logits = module.double()(xt)
    for kind in ("logit", "probability"):
        f = logits if kind == "logit" else torch.softmax(logits, dim=-1)
        (ref,) = torch.autograd.grad(f[:, 1].sum(), xt, retain_graph=True)
        ref = ref.numpy()
        assert close(gradient(net, x, target=1, kind=kind, gradients="ir"), ref, 1e-6)
        assert close(gradient(net, x, target=1, kind=kind, gradients="onnx"), ref, F32_RTOL)
        g_fd = gradient(net, x, target=1, kind=kind, gradients="fd")
        assert np.quantile(np.abs(g_fd - ref), 0.98) <= FD_RTOL * np.abs(ref).max()


def test_gradient_wrt_embedding_output_of_a_text_model(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed: the text model is a torch export")
    from tests import model_factories

    path, _ = model_factories.torch_embedding_text(tmp_path, False)
    net = load_model(path)
    emb = next(n.output for n in net.nodes if n.op_type == "Embedding")
    ids = np.array([[1, 5, 7, 0, 3, 2]])
    g_ir = gradient(net, ids, target=1, tensor=emb)
    assert g_ir.shape == net.tensor(emb).shape
    assert close(gradient(net, ids, target=1, tensor=emb, gradients="onnx"), g_ir, F32_RTOL)
    assert close(gradient(net, ids, target=1, tensor=emb, gradients="fd"), g_ir, FD_RTOL)
    with pytest.raises(GradientError, match="integer ids"):
        gradient(net, ids, target=1)


# -- bad input ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlp_net():
    return load_model(_mlp())


def test_target_out_of_range(mlp_net):
    x = np.zeros((1, 6))
    with pytest.raises(InputError, match=r"target class 3 out of range: the output has 3 classes \(0..2\)"):
        gradient(mlp_net, x, target=3)
    with pytest.raises(InputError, match="out of range"):
        gradient(mlp_net, x, target=(1, 0))
    with pytest.raises(InputError, match="target must be"):
        gradient(mlp_net, x, target="two")


def test_unknown_tensor_lists_the_valid_ones(mlp_net):
    with pytest.raises(InputError, match=r"no tensor named 'nope'; valid tensors: \[.*'x'"):
        gradient(mlp_net, np.zeros((1, 6)), target=0, tensor="nope")


def test_bad_points_and_options(mlp_net):
    with pytest.raises(InputError, match=r"expected shape \[1, 6\]"):
        gradient(mlp_net, np.zeros((1, 5)), target=0)
    with pytest.raises(InputError, match="NaN or Inf"):
        gradient(mlp_net, np.full((1, 6), np.nan), target=0)
    with pytest.raises(InputError, match="unknown gradient provider 'magic'"):
        gradient(mlp_net, np.zeros((1, 6)), target=0, gradients="magic")
    with pytest.raises(InputError, match="kind must be one of"):
        gradient(mlp_net, np.zeros((1, 6)), target=0, kind="odds")
    with pytest.raises(InputError, match="batch_size"):
        gradient(mlp_net, np.zeros((1, 6)), target=0, batch_size=0)
    assert set(PROVIDERS) == {"ir", "onnx", "fd", "external", "auto"}


def test_batches_and_predicted_targets(mlp_net):
    x = np.random.default_rng(3).uniform(-1, 1, (7, 6))
    whole = gradient(mlp_net, x)
    assert close(gradient(mlp_net, x, batch_size=2), whole, 1e-12)
    pred = mlp_net.run(x)[mlp_net.output.name].argmax(axis=-1)
    for i in range(7):
        assert close(whole[i], gradient(mlp_net, x[i : i + 1], target=int(pred[i]))[0], 1e-12)
