"""Each op: forward against onnxruntime on random inputs, VJP against finite differences, sound interval bounds."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from opcheck import I64, bounds_check, check_all, check_forward, fd_check, load_model, model, ort_run

from smugkit.errors import InputError, ModelError, UnsupportedOpError

node = helper.make_node


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def w(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# -- Gemm ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("c_shape", [None, (4,), (1, 4), (3, 4), ()])
def test_gemm_constant_b(rng, trans_a, trans_b, c_shape):
    a_shape = (5, 3) if trans_a else (3, 5)
    inits = {"B": w(rng, 4, 5) if trans_b else w(rng, 5, 4)}
    ins = ["A", "B"]
    if c_shape is not None:
        inits["C"] = w(rng, *c_shape)
        ins.append("C")
    n = node("Gemm", ins, ["Y"], alpha=0.7, beta=1.3, transA=trans_a, transB=trans_b)
    check_all(model([n], [("A", a_shape)], ["Y"], inits), rng)


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("with_c", [False, True])
def test_gemm_constant_a(rng, trans_a, trans_b, with_c):
    inits = {"A": w(rng, 5, 3) if trans_a else w(rng, 3, 5)}
    ins = ["A", "B"]
    if with_c:
        inits["C"] = w(rng, 3, 2)
        ins.append("C")
    n = node("Gemm", ins, ["Y"], alpha=1.5, beta=0.5, transA=trans_a, transB=trans_b)
    check_all(model([n], [("B", (2, 5) if trans_b else (5, 2))], ["Y"], inits), rng)


@pytest.mark.parametrize("c_shape", [(4, 1), (1, 1), (1,)])
def test_gemm_column_bias(rng, c_shape):
    n = node("Gemm", ["A", "B", "C"], ["Y"])
    check_all(model([n], [("A", (4, 5))], ["Y"], {"B": w(rng, 5, 4), "C": w(rng, *c_shape)}), rng)


def test_gemm_defaults(rng):
    n = node("Gemm", ["A", "B", "C"], ["Y"])
    check_all(model([n], [("A", (2, 6))], ["Y"], {"B": w(rng, 6, 3), "C": w(rng, 3)}), rng)


# -- MatMul -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x_shape,w_shape",
    [
        ((2, 5), (5, 3)),
        ((1, 5), (5,)),
        ((5,), (5, 3)),
        ((5,), (5,)),
        ((2, 3, 5), (5, 4)),
        ((2, 3, 5), (2, 5, 4)),
        ((3, 5), (2, 5, 4)),
        ((1, 3, 5), (2, 5, 4)),
        ((5,), (2, 5, 4)),
        ((2, 1, 3, 5), (4, 5, 2)),
    ],
)
def test_matmul_constant_right(rng, x_shape, w_shape):
    n = node("MatMul", ["X", "W"], ["Y"])
    check_all(model([n], [("X", x_shape)], ["Y"], {"W": w(rng, *w_shape)}), rng)


@pytest.mark.parametrize("x_shape", [(3, 2), (3,), (2, 3, 4)])
def test_matmul_constant_left(rng, x_shape):
    n = node("MatMul", ["A", "X"], ["Y"])
    check_all(model([n], [("X", x_shape)], ["Y"], {"A": w(rng, 4, 3)}), rng)


# -- element-wise arithmetic -------------------------------------------------------------------------------
BIN = ["Add", "Sub", "Mul", "Div"]


@pytest.mark.parametrize("op", BIN)
@pytest.mark.parametrize("c_shape", [(), (4,), (3, 1), (1, 3, 4), (2, 1, 3, 4), (2, 3, 4)])
@pytest.mark.parametrize("const_left", [False, True])
def test_binary_with_constant(rng, op, c_shape, const_left):
    c = w(rng, *c_shape)
    if op == "Div":
        c = np.where(np.abs(c) < 0.5, 0.5 + np.abs(c), c).astype(np.float32)
    ins = ["C", "X"] if const_left else ["X", "C"]
    low = 0.5 if op == "Div" and const_left else None
    check_all(model([node(op, ins, ["Y"])], [("X", (2, 3, 4))], ["Y"], {"C": c}), rng, low=low, atol=1e-4)


@pytest.mark.parametrize("op", BIN)
@pytest.mark.parametrize(
    "x_shape,y_shape", [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (3, 1)), ((4,), (2, 3, 4)), ((2, 1, 4), (3, 1))]
)
def test_binary_two_variables(rng, op, x_shape, y_shape):
    m = model([node(op, ["X", "Y"], ["Z"])], [("X", x_shape), ("Y", y_shape)], ["Z"])
    check_all(m, rng, low=0.5 if op == "Div" else None, atol=1e-4)


@pytest.mark.parametrize("op", BIN)
def test_binary_same_tensor_twice(rng, op):
    check_all(model([node(op, ["X", "X"], ["Z"])], [("X", (2, 3))], ["Z"]), rng, low=0.5)


def test_bias_add_after_gemm_and_conv_is_folded(rng):
    nodes = [
        node("Conv", ["X", "W"], ["c"]),
        node("Add", ["c", "b"], ["d"]),
        node("Flatten", ["d"], ["f"]),
        node("MatMul", ["f", "M"], ["m"]),
        node("Add", ["bm", "m"], ["Y"]),
    ]
    inits = {"W": w(rng, 2, 1, 3, 3), "b": w(rng, 1, 2, 1, 1), "M": w(rng, 18, 4), "bm": w(rng, 4)}
    net = check_all(model(nodes, [("X", (1, 1, 5, 5))], ["Y"], inits), rng)
    assert [n.op_type for n in net.nodes] == ["Conv", "Reshape", "Dense"]
    assert sum("folded Add" in s for s in net.origin.notes) == 2


def test_bias_add_not_folded_when_the_layer_output_is_reused(rng):
    nodes = [
        node("MatMul", ["X", "M"], ["m"]),
        node("Add", ["m", "b"], ["a"]),
        node("Mul", ["m", "a"], ["Y"]),
    ]
    check_all(model(nodes, [("X", (2, 3))], ["Y"], {"M": w(rng, 3, 4), "b": w(rng, 4)}), rng)


def test_bias_add_not_folded_when_the_layer_output_is_reused_through_identity(rng):
    nodes = [
        node("MatMul", ["X", "M"], ["m"]),
        node("Identity", ["m"], ["i"]),
        node("Add", ["i", "b"], ["a"]),
        node("Sub", ["i", "a"], ["Y"]),
    ]
    check_all(model(nodes, [("X", (2, 3))], ["Y"], {"M": w(rng, 3, 4), "b": w(rng, 4)}), rng)


def test_sub_constant_minus_layer_is_not_a_bias(rng):
    nodes = [node("MatMul", ["X", "M"], ["m"]), node("Sub", ["b", "m"], ["Y"])]
    check_all(model(nodes, [("X", (2, 3))], ["Y"], {"M": w(rng, 3, 4), "b": w(rng, 4)}), rng)


def test_bias_that_broadcasts_is_not_folded(rng):
    nodes = [node("MatMul", ["X", "M"], ["m"]), node("Add", ["m", "b"], ["Y"])]
    check_all(model(nodes, [("X", (1, 3))], ["Y"], {"M": w(rng, 3, 4), "b": w(rng, 2, 4)}), rng)


# -- Conv ---------------------------------------------------------------------------------------------------
CONV_CASES = {
    "pads": ((1, 2, 6, 6), (3, 2, 3, 3), {"pads": [1, 1, 1, 1]}),
    "asymmetric_pads": ((1, 2, 6, 5), (3, 2, 3, 3), {"pads": [1, 0, 2, 1]}),
    "strides": ((2, 2, 7, 6), (3, 2, 3, 2), {"strides": [2, 3]}),
    "dilations": ((1, 2, 9, 8), (2, 2, 3, 3), {"dilations": [2, 3], "pads": [1, 2, 0, 1]}),
    "same_upper": ((1, 2, 7, 6), (2, 2, 4, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    "same_lower": ((1, 2, 7, 6), (2, 2, 4, 3), {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    "same_upper_even_kernel": ((1, 1, 8, 8), (2, 1, 2, 4), {"auto_pad": "SAME_UPPER"}),
    "same_lower_even_kernel": ((1, 1, 8, 8), (2, 1, 2, 4), {"auto_pad": "SAME_LOWER"}),
    "valid": ((1, 2, 7, 6), (2, 2, 3, 3), {"auto_pad": "VALID", "strides": [2, 2]}),
    "group": ((1, 4, 5, 5), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    "depthwise": ((1, 3, 5, 5), (3, 1, 3, 3), {"group": 3}),
    "depthwise_multiplier": ((1, 3, 6, 5), (6, 1, 2, 2), {"group": 3, "strides": [2, 1]}),
    "kernel_shape": ((1, 1, 5, 5), (2, 1, 3, 3), {"kernel_shape": [3, 3]}),
    "one_d": ((2, 2, 9), (3, 2, 3), {"pads": [2, 1], "strides": [2]}),
    "one_d_dilated_group": ((1, 4, 10), (4, 2, 3), {"dilations": [2], "group": 2, "pads": [1, 2]}),
    "one_d_same_lower": ((1, 2, 10), (4, 2, 4), {"strides": [3], "auto_pad": "SAME_LOWER"}),
    "non_square": ((1, 1, 4, 9), (2, 1, 1, 4), {"pads": [0, 1, 0, 2], "strides": [1, 2]}),
}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv(rng, case, bias):
    x_shape, w_shape, attrs = CONV_CASES[case]
    inits = {"W": w(rng, *w_shape)}
    if bias:
        inits["B"] = w(rng, w_shape[0])
    n = node("Conv", ["X", "W", "B"] if bias else ["X", "W"], ["Y"], **attrs)
    check_all(model([n], [("X", x_shape)], ["Y"], inits), rng, atol=1e-4)


# -- activations --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op,attrs",
    [
        ("Relu", {}),
        ("LeakyRelu", {}),
        ("LeakyRelu", {"alpha": 0.3}),
        ("LeakyRelu", {"alpha": -0.5}),
        ("LeakyRelu", {"alpha": 1.5}),
        ("Sigmoid", {}),
        ("Tanh", {}),
    ],
)
def test_activation(rng, op, attrs):
    n = node(op, ["X"], ["Y"], **attrs)
    x = (3 * rng.standard_normal((2, 3, 4))).astype(np.float32)
    check_all(model([n], [("X", (2, 3, 4))], ["Y"]), rng, feeds={"X": x})


@pytest.mark.parametrize("lo,hi", [(-0.5, 0.7), (-0.5, None), (None, 0.2), (None, None)])
def test_clip_inputs(rng, lo, hi):
    inits, ins = {}, ["X", "", ""]
    if lo is not None:
        inits["lo"], ins[1] = np.float32(lo), "lo"
    if hi is not None:
        inits["hi"], ins[2] = np.float32(hi), "hi"
    while ins[-1] == "":
        ins.pop()
    check_all(model([node("Clip", ins, ["Y"])], [("X", (3, 5))], ["Y"], inits, opset=13), rng)


@pytest.mark.parametrize("attrs", [{"min": -0.4, "max": 0.6}, {"min": 0.1}, {"max": -0.1}, {}])
def test_clip_attributes(rng, attrs):
    check_all(model([node("Clip", ["X"], ["Y"], **attrs)], [("X", (3, 5))], ["Y"], opset=10), rng)


@pytest.mark.parametrize(
    "opset,attrs",
    [
        (17, {}),
        (17, {"axis": 1}),
        (17, {"axis": 0}),
        (13, {"axis": -2}),
        (11, {}),
        (11, {"axis": 0}),
        (11, {"axis": 2}),
        (11, {"axis": -1}),
    ],
)
def test_softmax_mid_network(rng, opset, attrs):
    nodes = [node("Softmax", ["X"], ["s"], **attrs), node("Mul", ["s", "k"], ["Y"])]
    k = w(rng, 2, 3, 4)
    net = check_all(model(nodes, [("X", (2, 3, 4))], ["Y"], {"k": k}, opset=opset), rng)
    assert net.origin.post_processing is None


def test_softmax_bounds_of_very_wide_boxes(rng):
    net = load_model(
        model(
            [node("Softmax", ["X"], ["s"]), node("Mul", ["s", "k"], ["Y"])],
            [("X", (1, 2))],
            ["Y"],
            {"k": np.float32(2.0)},
        )
    )
    lo, hi = net.bounds(np.array([[-1000.0, 0.0]]), np.array([[-900.0, 1000.0]]))["s"]
    assert np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
    assert np.all(lo >= 0) and np.all(hi <= 1) and np.all(lo <= hi)
    y = net.run(np.array([[-950.0, 500.0]]), ["s"])["s"]
    assert np.all(lo <= y) and np.all(y <= hi)


# -- pooling ------------------------------------------------------------------------------------------------
POOL_CASES = {
    "k2s2": ((1, 2, 6, 6), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    "k3s1p1": ((1, 2, 5, 5), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    "asym_pads": ((1, 1, 5, 6), {"kernel_shape": [3, 2], "pads": [0, 1, 2, 1], "strides": [2, 1]}),
    "ceil": ((1, 2, 7, 7), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
    "ceil_pads": (
        (1, 1, 6, 7),
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1},
    ),
    "same_upper": ((1, 2, 7, 6), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    "same_lower": ((1, 2, 7, 6), {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    "valid": ((1, 2, 7, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "VALID"}),
    "one_d": ((2, 3, 9), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
}
MAXPOOL_ONLY = {
    "dilations": ((1, 2, 8, 8), {"kernel_shape": [2, 2], "dilations": [2, 2], "strides": [1, 2]}),
    "dilations_ceil": (
        (1, 1, 9, 9),
        {"kernel_shape": [2, 2], "dilations": [2, 2], "strides": [3, 3], "ceil_mode": 1},
    ),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES | MAXPOOL_ONLY))
def test_maxpool(rng, case):
    x_shape, attrs = (POOL_CASES | MAXPOOL_ONLY)[case]
    check_all(model([node("MaxPool", ["X"], ["Y"], **attrs)], [("X", x_shape)], ["Y"]), rng)


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_average_pool(rng, case, count_include_pad):
    x_shape, attrs = POOL_CASES[case]
    n = node("AveragePool", ["X"], ["Y"], count_include_pad=count_include_pad, **attrs)
    check_all(model([n], [("X", x_shape)], ["Y"]), rng)


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_average_pool_dilations_opset19(rng, count_include_pad, ceil_mode):
    n = node(
        "AveragePool",
        ["X"],
        ["Y"],
        kernel_shape=[2, 3],
        dilations=[2, 1],
        strides=[2, 2],
        pads=[1, 0, 1, 1],
        count_include_pad=count_include_pad,
        ceil_mode=ceil_mode,
    )
    check_all(model([n], [("X", (1, 2, 8, 7))], ["Y"], opset=19), rng)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("x_shape", [(1, 3, 4, 5), (2, 2, 6)])
def test_global_pool(rng, op, x_shape):
    check_all(model([node(op, ["X"], ["Y"])], [("X", x_shape)], ["Y"]), rng)


@pytest.mark.parametrize(
    "opset,axes,keepdims,x_shape",
    [
        (17, [2, 3], 1, (1, 3, 4, 5)),
        (17, [3, 2], 0, (2, 3, 4, 5)),
        (18, [-1, -2], 1, (1, 3, 4, 5)),
        (18, [2], 0, (1, 2, 6)),
    ],
)
def test_reduce_mean_over_spatial_axes(rng, opset, axes, keepdims, x_shape):
    inits, ins, attrs = {}, ["X"], {"keepdims": keepdims}
    if opset >= 18:
        inits["a"], ins = np.array(axes, np.int64), ["X", "a"]
    else:
        attrs["axes"] = axes
    net = check_all(
        model([node("ReduceMean", ins, ["Y"], **attrs)], [("X", x_shape)], ["Y"], inits, opset), rng
    )
    assert net.nodes[0].op_type == "GlobalAveragePool"


@pytest.mark.parametrize("axes", [[1], [0, 2, 3], None])
def test_reduce_mean_over_other_axes_is_unsupported(axes):
    attrs = {} if axes is None else {"axes": axes}
    m = model([node("ReduceMean", ["X"], ["Y"], **attrs)], [("X", (1, 3, 4, 5))], ["Y"])
    with pytest.raises(UnsupportedOpError, match="ReduceMean"):
        load_model(m)


@pytest.mark.parametrize(
    "opset,axes,keepdims,x_shape",
    [
        (17, [2], 0, (1, 4, 7)),
        (18, [-1], 1, (2, 3, 5)),
        (18, [2, 3], 0, (1, 2, 4, 5)),
        (17, [3, 2], 1, (1, 2, 3, 4)),
    ],
)
def test_reduce_max_over_spatial_axes(rng, opset, axes, keepdims, x_shape):
    inits, ins, attrs = {}, ["X"], {"keepdims": keepdims}
    if opset >= 18:
        inits["a"], ins = np.array(axes, np.int64), ["X", "a"]
    else:
        attrs["axes"] = axes
    net = check_all(
        model([node("ReduceMax", ins, ["Y"], **attrs)], [("X", x_shape)], ["Y"], inits, opset), rng
    )
    assert net.nodes[0].op_type == "MaxPool"


@pytest.mark.parametrize("axes", [[1], [0, 2], None])
def test_reduce_max_over_other_axes_is_unsupported(axes):
    attrs = {} if axes is None else {"axes": axes}
    m = model([node("ReduceMax", ["X"], ["Y"], **attrs)], [("X", (1, 3, 4))], ["Y"])
    with pytest.raises(UnsupportedOpError, match="ReduceMax"):
        load_model(m)


def test_maxpool_with_indices_output_is_unsupported(rng):
    n = node("MaxPool", ["X"], ["Y", "I"], kernel_shape=[2, 2])
    with pytest.raises(UnsupportedOpError, match="MaxPool"):
        load_model(model([n], [("X", (1, 1, 4, 4))], ["Y", ("I", I64)]))


# -- BatchNormalization -------------------------------------------------------------------------------------
def _bn_inits(rng, c, prefix="bn"):
    return {
        f"{prefix}_s": w(rng, c),
        f"{prefix}_b": w(rng, c),
        f"{prefix}_m": w(rng, c),
        f"{prefix}_v": (0.5 + rng.random(c)).astype(np.float32),
    }


def _bn(x, y, prefix="bn", **attrs):
    return node("BatchNormalization", [x] + [f"{prefix}_{k}" for k in "sbmv"], [y], **attrs)


def test_batchnorm_folded_into_conv(rng):
    inits = {"W": w(rng, 3, 2, 3, 3), "B": w(rng, 3)} | _bn_inits(rng, 3)
    nodes = [node("Conv", ["X", "W", "B"], ["c"], pads=[1, 1, 1, 1]), _bn("c", "Y", epsilon=1e-3)]
    net = check_all(model(nodes, [("X", (1, 2, 5, 5))], ["Y"], inits), rng, atol=1e-4)
    assert [n.op_type for n in net.nodes] == ["Conv"]
    assert any("folded BatchNormalization" in s for s in net.origin.notes)


def test_batchnorm_folded_into_conv_without_bias(rng):
    inits = {"W": w(rng, 4, 1, 3, 3)} | _bn_inits(rng, 4)
    nodes = [node("Conv", ["X", "W"], ["c"], group=2), _bn("c", "Y")]
    net = check_all(model(nodes, [("X", (1, 2, 5, 5))], ["Y"], inits), rng, atol=1e-4)
    assert [n.op_type for n in net.nodes] == ["Conv"]


def test_batchnorm_folded_into_gemm(rng):
    inits = {"B": w(rng, 5, 4), "C": w(rng, 4)} | _bn_inits(rng, 4)
    nodes = [node("Gemm", ["X", "B", "C"], ["g"]), _bn("g", "Y")]
    net = check_all(model(nodes, [("X", (2, 5))], ["Y"], inits), rng, atol=1e-4)
    assert [n.op_type for n in net.nodes] == ["Dense"]
    assert any("folded BatchNormalization" in s for s in net.origin.notes)


@pytest.mark.parametrize("x_shape", [(1, 3, 4, 4), (2, 3), (1, 3, 5)])
def test_batchnorm_kept_as_affine_after_relu(rng, x_shape):
    nodes = [node("Relu", ["X"], ["r"]), _bn("r", "Y")]
    net = check_all(model(nodes, [("X", x_shape)], ["Y"], _bn_inits(rng, 3)), rng)
    assert [n.op_type for n in net.nodes] == ["Relu", "Affine"]
    assert any("kept BatchNormalization" in s for s in net.origin.notes)


def test_batchnorm_training_mode_is_rejected(rng):
    m = model([_bn("X", "Y", training_mode=1)], [("X", (2, 3, 2, 2))], ["Y"], _bn_inits(rng, 3), opset=15)
    with pytest.raises(ModelError, match="training_mode"):
        load_model(m)
    n = node("BatchNormalization", ["X", "bn_s", "bn_b", "bn_m", "bn_v"], ["Y", "rm", "rv"], training_mode=0)
    m = model([n], [("X", (2, 3, 2, 2))], ["Y", "rm", "rv"], _bn_inits(rng, 3), opset=15)
    with pytest.raises(UnsupportedOpError, match="training mode"):
        load_model(m)


def test_batchnorm_on_conv_output_used_twice_is_not_folded(rng):
    inits = {"W": w(rng, 3, 2, 3, 3)} | _bn_inits(rng, 3)
    nodes = [node("Conv", ["X", "W"], ["c"]), _bn("c", "b"), node("Add", ["b", "c"], ["Y"])]
    check_all(model(nodes, [("X", (1, 2, 5, 5))], ["Y"], inits), rng, atol=1e-4)


# -- shape ops ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, 3, 4, -1, -2, -4])
def test_flatten(rng, axis):
    check_all(model([node("Flatten", ["X"], ["Y"], axis=axis)], [("X", (2, 3, 4, 5))], ["Y"]), rng)


@pytest.mark.parametrize(
    "shape,allowzero,opset",
    [
        ([0, -1], 0, 13),
        ([-1], 0, 13),
        ([2, 0, 2, 3], 0, 13),
        ([6, -1, 2], 1, 14),
        ([3, 4, 2], 1, 14),
        ([0, 0, 6], 0, 5),
    ],
)
def test_reshape(rng, shape, allowzero, opset):
    attrs = {"allowzero": allowzero} if opset >= 14 else {}
    n = node("Reshape", ["X", "s"], ["Y"], **attrs)
    m = model([n], [("X", (2, 2, 6))], ["Y"], {"s": np.array(shape, np.int64)}, opset=opset)
    check_all(m, rng)


@pytest.mark.parametrize("perm", [None, [0, 2, 1, 3], [3, 1, 0, 2]])
def test_transpose(rng, perm):
    attrs = {} if perm is None else {"perm": perm}
    check_all(model([node("Transpose", ["X"], ["Y"], **attrs)], [("X", (2, 3, 4, 1))], ["Y"]), rng)


@pytest.mark.parametrize(
    "axes,opset", [(None, 11), ([1], 11), ([-1, 1], 11), (None, 13), ([3], 13), ([1, -1], 13)]
)
def test_squeeze(rng, axes, opset):
    inits, ins, attrs = {}, ["X"], {}
    if axes is not None and opset >= 13:
        inits["a"], ins = np.array(axes, np.int64), ["X", "a"]
    elif axes is not None:
        attrs["axes"] = axes
    check_all(model([node("Squeeze", ins, ["Y"], **attrs)], [("X", (2, 1, 3, 1))], ["Y"], inits, opset), rng)


@pytest.mark.parametrize(
    "axes,opset", [([0], 11), ([1, 3], 11), ([-1], 11), ([0], 13), ([4, 1], 13), ([-1, -3], 13)]
)
def test_unsqueeze(rng, axes, opset):
    inits, ins, attrs = {}, ["X"], {}
    if opset >= 13:
        inits["a"], ins = np.array(axes, np.int64), ["X", "a"]
    else:
        attrs["axes"] = axes
    check_all(model([node("Unsqueeze", ins, ["Y"], **attrs)], [("X", (2, 3, 4))], ["Y"], inits, opset), rng)


def test_identity_between_ops(rng):
    nodes = [node("Identity", ["X"], ["i"]), node("Relu", ["i"], ["r"]), node("Identity", ["r"], ["Y"])]
    net = check_all(model(nodes, [("X", (2, 3))], ["Y"]), rng)
    assert [n.op_type for n in net.nodes] == ["Relu"]


def test_identity_only(rng):
    check_all(model([node("Identity", ["X"], ["Y"])], [("X", (2, 3))], ["Y"]), rng)


@pytest.mark.parametrize(
    "opset,ins,attrs",
    [(10, ["X"], {"ratio": 0.3}), (13, ["X"], {}), (13, ["X", "r"], {}), (13, ["X", "r", "t0"], {})],
)
def test_dropout_inference(rng, opset, ins, attrs):
    inits = {"r": np.float32(0.4), "t0": np.array(False), "M": w(rng, 3, 3)}
    nodes = [node("Dropout", ins, ["d"], **attrs), node("MatMul", ["d", "M"], ["Y"])]
    net = check_all(model(nodes, [("X", (2, 3))], ["Y"], inits, opset), rng)
    assert [n.op_type for n in net.nodes] == ["Dense"]


def test_dropout_with_unused_mask_output(rng):
    nodes = [node("Dropout", ["X"], ["d", "mask"]), node("Relu", ["d"], ["Y"])]
    check_all(model(nodes, [("X", (2, 3))], ["Y"], opset=13), rng)


def test_dropout_training_mode_is_rejected(rng):
    nodes = [node("Dropout", ["X", "r", "t"], ["Y"])]
    m = model(nodes, [("X", (2, 3))], ["Y"], {"r": np.float32(0.5), "t": np.array(True)})
    with pytest.raises(ModelError, match="training_mode"):
        load_model(m)


def test_dropout_training_mode_from_an_input_is_rejected():
    m = model([node("Dropout", ["X", "", "t"], ["Y"])], [("X", (2, 3)), ("t", (), TensorProto.BOOL)], ["Y"])
    with pytest.raises(ModelError, match="training_mode"):
        load_model(m)


@pytest.mark.parametrize("to", [TensorProto.FLOAT, TensorProto.DOUBLE])
def test_cast_float(rng, to):
    nodes = [node("Cast", ["X"], ["c"], to=to), node("Relu", ["c"], ["Y"])]
    check_all(model(nodes, [("X", (2, 3))], [("Y", to)]), rng)


def test_cast_int_to_float(rng):
    nodes = [node("Cast", ["X"], ["c"], to=TensorProto.FLOAT), node("Mul", ["c", "k"], ["Y"])]
    m = model(nodes, [("X", (2, 3), I64)], ["Y"], {"k": w(rng, 3)})
    check_all(m, rng, vjp=False)


def test_cast_float_to_int_is_unsupported(rng):
    m = model([node("Cast", ["X"], ["Y"], to=TensorProto.INT64)], [("X", (2, 3))], [("Y", I64)])
    with pytest.raises(UnsupportedOpError, match="Cast"):
        load_model(m)


def test_constant_node(rng):
    k = helper.make_tensor("k", TensorProto.FLOAT, [3], w(rng, 3).tolist())
    nodes = [node("Constant", [], ["c"], value=k), node("Add", ["X", "c"], ["a"]), node("Relu", ["a"], ["Y"])]
    check_all(model(nodes, [("X", (2, 3))], ["Y"]), rng)


def test_constant_output(rng):
    k = helper.make_tensor("k", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    nodes = [node("Constant", [], ["Y"], value=k), node("Relu", ["X"], ["Z"])]
    net = check_all(model(nodes, [("X", (2, 3))], ["Y", "Z"]), rng)
    np.testing.assert_array_equal(net.run(np.zeros((2, 3), np.float32))["Y"], [[1, 2], [3, 4]])


# -- index maps ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ids_shape", [(1, 5), (2, 3), (4,)])
def test_gather_embedding(rng, ids_shape):
    table = w(rng, 6, 4)
    nodes = [node("Gather", ["T", "ids"], ["e"]), node("Relu", ["e"], ["Y"])]
    m = model(nodes, [("ids", ids_shape, I64)], ["Y"], {"T": table})
    net = check_all(m, rng, vjp=False)
    ids = np.resize(np.array([-1, 5, 0, -6], np.int64), ids_shape)  # negative ids count from the end
    check_forward(m, net, {"ids": ids})
    bounds_check(net, {"ids": ids}, rng)


def test_gather_embedding_rejects_bad_ids(rng):
    m = model([node("Gather", ["T", "ids"], ["Y"])], [("ids", (1, 3), I64)], ["Y"], {"T": w(rng, 5, 2)})
    net = load_model(m)
    np.testing.assert_array_equal(
        net.run(np.array([[1.0, 2.0, -5.0]]))["Y"], net.run(np.array([[1, 2, 0]]))["Y"]
    )
    for ids, msg in (
        (np.array([[0.5, 1, 2]]), "integer"),
        (np.array([[5, 1, 2]]), r"\[0, 5\)"),
        (np.array([[-6, 1, 2]]), r"\[0, 5\)"),
    ):
        with pytest.raises(InputError, match=msg):
            net.run(ids)


@pytest.mark.parametrize(
    "axis,indices", [(0, [1, 0, 1]), (1, [[2, 0], [-1, 1]]), (2, 3), (-1, [-4, 0]), (1, -2)]
)
def test_gather_constant_indices(rng, axis, indices):
    n = node("Gather", ["X", "i"], ["Y"], axis=axis)
    check_all(model([n], [("X", (2, 3, 4))], ["Y"], {"i": np.array(indices, np.int64)}), rng)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat_with_constants(rng, axis):
    shape_c = [2, 3, 4]
    shape_c[axis] = 2
    nodes = [node("Concat", ["c1", "X", "c2", "Z"], ["Y"], axis=axis)]
    inits = {"c1": w(rng, *shape_c), "c2": w(rng, *shape_c)}
    check_all(model(nodes, [("X", (2, 3, 4)), ("Z", (2, 3, 4))], ["Y"], inits), rng)


def test_concat_same_tensor_twice(rng):
    nodes = [node("Concat", ["X", "X"], ["Y"], axis=1)]
    check_all(model(nodes, [("X", (2, 3))], ["Y"]), rng)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("pads", [[0, 1, 2, 0, 2, 1], [1, 0, 0, 0, 0, 2]])
def test_pad_opset11(rng, mode, pads):
    inits = {"p": np.array(pads, np.int64), "v": np.float32(0.75)}
    ins = ["X", "p", "v"] if mode == "constant" else ["X", "p"]
    check_all(model([node("Pad", ins, ["Y"], mode=mode)], [("X", (2, 3, 4))], ["Y"], inits, opset=11), rng)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_opset2_attributes(rng, mode):
    attrs = {"mode": mode, "pads": [0, 2, 1, 0, 1, 2]}
    if mode == "constant":
        attrs["value"] = -1.5
    check_all(model([node("Pad", ["X"], ["Y"], **attrs)], [("X", (2, 3, 4))], ["Y"], opset=10), rng)


def test_pad_opset19_wrap(rng):
    n = node("Pad", ["X", "p"], ["Y"], mode="wrap")
    check_all(
        model([n], [("X", (2, 3, 4))], ["Y"], {"p": np.array([0, 1, 2, 0, 2, 1], np.int64)}, opset=19), rng
    )


def test_pad_opset18_axes(rng):
    inits = {"p": np.array([1, 2, 0, 1], np.int64), "v": np.float32(2.0), "a": np.array([-1, 1], np.int64)}
    n = node("Pad", ["X", "p", "v", "a"], ["Y"])
    check_all(model([n], [("X", (2, 3, 4))], ["Y"], inits, opset=18), rng)


@pytest.mark.parametrize(
    "starts,ends,axes,steps",
    [
        ([1], [3], None, None),
        ([0, 1], [2, -1], [0, 2], None),
        ([-1], [-(2**63) + 1], [1], [-1]),
        ([5, 0], [-6, 10], [2, 1], [-2, 2]),
        ([0], [2**63 - 1], [-1], [3]),
        ([-3, 1], [-1, 100], [-1, 0], [1, 1]),
        ([-9, 7], [-9, -9], [-1, 1], [-2, -1]),
        ([9, -9], [-1, 9], [2, 0], [-1, 1]),
    ],
)
def test_slice(rng, starts, ends, axes, steps):
    inits = {"s": np.array(starts, np.int64), "e": np.array(ends, np.int64)}
    ins = ["X", "s", "e"]
    if axes is not None:
        inits["a"] = np.array(axes, np.int64)
        ins.append("a")
    if steps is not None:
        inits["t"] = np.array(steps, np.int64)
        ins.append("t")
    check_all(model([node("Slice", ins, ["Y"])], [("X", (2, 3, 6))], ["Y"], inits), rng)


def test_slice_opset9_attributes(rng):
    n = node("Slice", ["X"], ["Y"], starts=[1, -4], ends=[3, 1000], axes=[0, 2])
    check_all(model([n], [("X", (3, 3, 6))], ["Y"], opset=9), rng)


@pytest.mark.parametrize(
    "opset,axis,split,outs",
    [
        (11, 1, [1, 2], 2),
        (11, -1, None, 3),
        (13, 2, [4, 2], 2),
        (13, 0, None, 2),
        (18, 2, None, 4),
        (18, 1, [2, 1], 2),
    ],
)
def test_split(rng, opset, axis, split, outs):
    names = [f"Y{k}" for k in range(outs)]
    inits, ins, attrs = {}, ["X"], {"axis": axis}
    if split is not None and opset >= 13:
        inits["s"], ins = np.array(split, np.int64), ["X", "s"]
    elif split is not None:
        attrs["split"] = split
    if opset >= 18 and split is None:
        attrs["num_outputs"] = outs
    check_all(model([node("Split", ins, names, **attrs)], [("X", (2, 3, 6))], names, inits, opset), rng)


# -- a few ops in a row -------------------------------------------------------------------------------------
def test_small_cnn(rng):
    nodes = [
        node("Conv", ["X", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        node("Relu", ["c1"], ["r1"]),
        node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[1, 1]),
        node("Conv", ["p1", "W2"], ["c2"], group=2),
        node("LeakyRelu", ["c2"], ["r2"], alpha=0.1),
        node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
        node("Flatten", ["p2"], ["f"]),
        node("Gemm", ["f", "W3", "B3"], ["g"], transB=1),
        node("Tanh", ["g"], ["Y"]),
    ]
    inits = {
        "W1": w(rng, 4, 3, 3, 3),
        "B1": w(rng, 4),
        "W2": w(rng, 4, 2, 2, 2),
        "W3": w(rng, 5, 4 * 2 * 2),
        "B3": w(rng, 5),
    }
    net = check_all(model(nodes, [("X", (1, 3, 8, 8))], ["Y"], inits), rng, atol=1e-4)
    fl = net.first_layer()
    assert (fl.kind, fl.activation_type) == ("Conv", "Relu")


def test_stacked_run_equals_single_runs(rng):
    nodes = [node("MatMul", ["X", "M"], ["m"]), node("Relu", ["m"], ["Y"])]
    net = load_model(model(nodes, [("X", (1, 3))], ["Y"], {"M": w(rng, 3, 4)}))
    xs = rng.standard_normal((5, 1, 3))
    stacked = net.run(xs)["Y"]
    assert stacked.shape == (5, 1, 4)
    for k in range(5):
        np.testing.assert_allclose(stacked[k], net.run(xs[k])["Y"])
    batch = net.run(xs[:, 0])["Y"]
    np.testing.assert_allclose(batch, stacked[:, 0])


def test_vjp_wrt_internal_tensor(rng):
    nodes = [node("MatMul", ["X", "M"], ["m"]), node("Relu", ["m"], ["r"]), node("MatMul", ["r", "N"], ["Y"])]
    m = model(nodes, [("X", (1, 3))], ["Y"], {"M": w(rng, 3, 4), "N": w(rng, 4, 2)})
    net = load_model(m)
    x = rng.standard_normal((1, 3))
    ct = rng.standard_normal((1, 2))
    g = net.vjp(x, "Y", ct, wrt=["r", "X"])
    r = net.run(x, ["r"])["r"]
    np.testing.assert_allclose(g["r"], ct @ net.nodes[-1].params["W"].T)
    assert g["X"].shape == (1, 3)
    assert r.shape == (1, 4)
    fd_check(net, {"X": x.astype(np.float32)}, rng)


def test_ort_helper_sanity():
    m = model([node("Relu", ["X"], ["Y"])], [("X", (2,))], ["Y"])
    np.testing.assert_array_equal(ort_run(m, {"X": np.array([-1.0, 2.0], np.float32)})[0], [0.0, 2.0])


@pytest.mark.parametrize(
    "nodes,expected",
    [
        (
            [
                node("Sub", ["X", "mu"], ["s"]),
                node("MatMul", ["s", "W"], ["m"]),
                node("Add", ["m", "b"], ["a"]),
                node("Relu", ["a"], ["Y"]),
            ],
            ("Dense", "Relu", ["Sub", "Dense"]),
        ),
        (
            [
                node("MatMul", ["X", "W"], ["m"]),
                node("MatMul", ["m", "W"], ["m2"]),
                node("Tanh", ["m2"], ["Y"]),
            ],
            ("Dense", "Tanh", ["Dense", "Dense"]),
        ),
        ([node("Relu", ["X"], ["r"]), node("MatMul", ["r", "W"], ["Y"])], "before any weighted layer"),
        (
            [
                node("MatMul", ["X", "W"], ["m"]),
                node("Softmax", ["m"], ["s"]),
                node("Add", ["s", "b"], ["Y"]),
            ],
            "followed by Softmax",
        ),
        ([node("MatMul", ["X", "W"], ["Y"])], "no activation"),
    ],
)
def test_first_layer(rng, nodes, expected):
    inits = {"W": w(rng, 3, 3), "b": w(rng, 3), "mu": w(rng, 3)}
    net = load_model(model(nodes, [("X", (1, 3))], ["Y"], inits))
    if isinstance(expected, str):
        with pytest.raises(ModelError, match=expected):
            net.first_layer()
        return
    fl = net.first_layer()
    assert (fl.kind, fl.activation_type) == expected[:2]
    assert [net.node(n).op_type for n in fl.affine_part] == expected[2]
    assert net.producer(fl.pre).name == fl.layer and net.producer(fl.post).name == fl.activation


# -- unsupported forms are reported, not mis-converted ------------------------------------------------------
@pytest.mark.parametrize(
    "nodes,inputs,why",
    [
        (
            [node("Gemm", ["X", "Z"], ["Y"])],
            [("X", (2, 3)), ("Z", (3, 2))],
            "Gemm of two non-constant tensors",
        ),
        ([node("Gemm", ["X", "W", "Z"], ["Y"])], [("X", (2, 3)), ("Z", (2,))], "Gemm with a non-constant C"),
        (
            [node("MatMul", ["X", "Z"], ["Y"])],
            [("X", (2, 3)), ("Z", (3, 2))],
            "MatMul of two non-constant tensors",
        ),
        ([node("MatMul", ["A3", "X"], ["Y"])], [("X", (3, 2))], "MatMul with a constant left operand"),
        (
            [node("Conv", ["X", "Z"], ["Y"])],
            [("X", (1, 1, 4, 4)), ("Z", (1, 1, 2, 2))],
            "Conv with non-constant weights",
        ),
        ([node("Conv", ["X", "K3"], ["Y"])], [("X", (1, 1, 3, 3, 3))], "Conv with 3 spatial axes"),
        ([node("Clip", ["X", "Z"], ["Y"])], [("X", (2, 3)), ("Z", ())], "Clip with non-constant bounds"),
        (
            [node("Reshape", ["X", "S"], ["Y"])],
            [("X", (2, 3)), ("S", (2,), I64)],
            "Reshape to a non-constant shape",
        ),
        ([node("Gather", ["W", "I"], ["Y"], axis=1)], [("I", (2,), I64)], "Gather on a constant table"),
        (
            [node("Gather", ["X", "I"], ["Y"])],
            [("X", (2, 3)), ("I", (2,), I64)],
            "Gather with non-constant data",
        ),
        (
            [node("Slice", ["X", "S", "E"], ["Y"])],
            [("X", (4,)), ("S", (1,), I64), ("E", (1,), I64)],
            "Slice with non-constant bounds",
        ),
        ([node("Pad", ["X", "P"], ["Y"])], [("X", (4,)), ("P", (2,), I64)], "Pad with non-constant pads"),
        ([node("Pad", ["X", "neg"], ["Y"])], [("X", (4,))], "Pad with negative pads"),
        (
            [node("BatchNormalization", ["X", "Z", "b", "b", "v"], ["Y"])],
            [("X", (1, 2, 3)), ("Z", (2,))],
            "BatchNormalization with non-constant statistics",
        ),
    ],
)
def test_unsupported_forms(rng, nodes, inputs, why):
    inits = {
        "W": w(rng, 3, 2),
        "A3": w(rng, 2, 4, 3),
        "K3": w(rng, 1, 1, 2, 2, 2),
        "b": w(rng, 2),
        "v": np.ones(2, np.float32),
        "neg": np.array([-1, 0], np.int64),
    }
    used = {i for n in nodes for i in n.input}
    m = model(nodes, inputs, ["Y"], {k: v for k, v in inits.items() if k in used})
    with pytest.raises(UnsupportedOpError, match=why) as e:
        load_model(m)
    assert [n.name or f"{n.op_type}_0" for n in nodes] == next(iter(e.value.ops.values()))
