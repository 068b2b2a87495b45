"""Sparse affine rows agree with the IR forward on the first layers of real models."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from smugkit.errors import ModelError
from smugkit.frontends import load_model
from smugkit.ir.linearize import affine_rows

FIRST_LAYER_MODELS = [
    "conv_mp1.onnx",
    "mnist2x10.onnx",
    "traffic-classifier64.onnx",
    "KJ_TinyTaxiNet.onnx",
    "cifar10/cifar_base_kw.onnx",
    "fc_2-2sigmoids-3.onnx",
    "fc_matMul.onnx",
    "acasxu/ACASXU_experimental_v2a_1_1.onnx",
]


@pytest.mark.parametrize("name", FIRST_LAYER_MODELS)
def test_rows_match_forward_on_shared_models(shared_models, name):
    net = load_model(shared_models / "marabou" / name)
    fl = net.first_layer()
    rng = np.random.default_rng(0)
    n = net.tensors[fl.pre].size
    rows = rng.choice(n, min(n, 64), replace=False)
    C, off = affine_rows(net, fl.pre, rows)
    for _ in range(3):
        x = rng.standard_normal(net.input.shape)
        ref = net.run(x, [fl.pre])[fl.pre].reshape(-1)[rows]
        np.testing.assert_allclose(C @ x.reshape(-1) + off, ref, rtol=1e-10, atol=1e-10)


def _model(nodes, inits, in_shape, out_name="y"):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(
    "group,dil,stride,pads", [(1, 1, 1, [1, 1, 1, 1]), (2, 2, 2, [0, 1, 2, 0]), (4, 1, 3, [2, 2, 2, 2])]
)
def test_conv_rows_with_groups_dilations_and_normalisation(group, dil, stride, pads):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 4 // group, 3, 3))
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["s"]),
        helper.make_node("Div", ["s", "std"], ["n"]),
        helper.make_node("Pad", ["n", "pads"], ["p"], mode="reflect"),
        helper.make_node(
            "Conv", ["p", "W"], ["c"], group=group, dilations=[dil, dil], strides=[stride, stride], pads=pads
        ),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    inits = {"mean": rng.random((1, 4, 1, 1)), "std": rng.random((1, 4, 1, 1)) + 0.5, "W": w}
    model = _model(nodes, inits, [1, 4, 9, 11])
    model.graph.initializer.append(
        numpy_helper.from_array(np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64), "pads")
    )
    net = load_model(model)
    fl = net.first_layer()
    rows = np.arange(net.tensors[fl.pre].size)
    C, off = affine_rows(net, fl.pre, rows)
    x = rng.standard_normal(net.input.shape)
    np.testing.assert_allclose(C @ x.reshape(-1) + off, net.run(x, [fl.pre])[fl.pre].reshape(-1), atol=1e-10)


def test_non_affine_path_is_named():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("MatMul", ["r", "W"], ["y"])]
    net = load_model(_model(nodes, {"W": np.ones((3, 2))}, [1, 3]))
    with pytest.raises(ModelError, match="Relu"):
        affine_rows(net, "y", [0, 1])


def test_rows_out_of_range():
    net = load_model(_model([helper.make_node("MatMul", ["x", "W"], ["y"])], {"W": np.ones((3, 2))}, [1, 3]))
    with pytest.raises(ModelError, match="out of range"):
        affine_rows(net, "y", [5])


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_conv_then_average_pool_is_a_first_layer(count_include_pad):
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node(
            "AveragePool",
            ["c"],
            ["a"],
            kernel_shape=[3, 2],
            strides=[2, 2],
            pads=[1, 0, 1, 1],
            count_include_pad=count_include_pad,
        ),
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    net = load_model(_model(nodes, {"W": rng.standard_normal((3, 2, 3, 3))}, [1, 2, 7, 8]))
    fl = net.first_layer()
    assert fl.activation_type == "Relu" and fl.pre == "a"
    C, off = affine_rows(net, fl.pre, np.arange(net.tensors[fl.pre].size))
    x = rng.standard_normal(net.input.shape)
    np.testing.assert_allclose(C @ x.reshape(-1) + off, net.run(x, [fl.pre])[fl.pre].reshape(-1), atol=1e-10)
