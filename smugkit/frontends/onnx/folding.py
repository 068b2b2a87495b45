"""Folding: constant subgraphs evaluated at load time, and bias / BatchNorm steps merged into the layer before.

Folding keeps the IR small (shape arithmetic never reaches it) and keeps the first layer a single affine op,
which SMUG needs. Every fold of a bias or BatchNorm is recorded in the conversion notes.
"""

from __future__ import annotations

import numpy as np
import onnx

from smugkit.errors import ModelError
from smugkit.frontends.onnx.context import Context, attrs

#: Ops the frontend supports only on constant inputs (folded away); on variable inputs they are unsupported.
FOLDABLE_ONLY = {
    "Shape",
    "ConstantOfShape",
    "Range",
    "Size",
    "Equal",
    "Where",
    "NonZero",
    "Expand",
    "Floor",
    "Ceil",
    "Sqrt",
    "Pow",
    "Neg",
    "Exp",
    "Log",
    "ReduceProd",
    "ReduceSum",
    "Min",
    "Max",
}


# -- constants --------------------------------------------------------------------------------------------
def fold_constant(ctx: Context, node: onnx.NodeProto, name: str) -> None:
    """Evaluate a node whose inputs are all constants with onnx's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    feeds = {i: ctx.const(i) for i in node.input if i}
    try:
        results = ReferenceEvaluator(node, opsets={"": ctx.opset}).run(None, feeds)
    except Exception:  # noqa: BLE001  (an op or opset the reference evaluator lacks: try onnxruntime)
        try:
            results = _run_single_node(node, feeds, ctx.opset)
        except Exception as e:
            raise ModelError(f"{ctx.label}: cannot fold constant node {name!r} ({node.op_type}): {e}") from e
    for o, v in zip(node.output, results):
        if o:
            ctx.consts[o] = np.asarray(v)


def _run_single_node(node: onnx.NodeProto, feeds: dict[str, np.ndarray], opset: int) -> list[np.ndarray]:
    """Evaluate one node with onnxruntime (for ops or opsets onnx's reference evaluator lacks)."""
    from smugkit.runtime import make_session

    h = onnx.helper
    ins = [
        h.make_tensor_value_info(k, h.np_dtype_to_tensor_dtype(v.dtype), v.shape) for k, v in feeds.items()
    ]
    outs = [h.make_empty_tensor_value_info(o) for o in node.output if o]
    graph = h.make_graph([node], "fold", ins, outs)
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], ir_version=min(onnx.IR_VERSION, 8))
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(m).graph.value_info}
    for o in m.graph.output:
        if o.name in inferred:
            o.CopyFrom(inferred[o.name])
    return make_session(m, label=f"constant node {node.name!r} ({node.op_type})").run(None, feeds)


def shape_of(ctx: Context, node: onnx.NodeProto) -> None:
    """Fold ``Shape`` of a variable tensor: its model shape is static, so the result is a constant."""
    a = attrs(node)
    shape = np.array(ctx.shapes[ctx.resolve(node.input[0])], dtype=np.int64)
    ctx.consts[node.output[0]] = shape[a.get("start", 0) : a.get("end", None)]


# -- into the layer before --------------------------------------------------------------------------------
def fold_bias(ctx: Context, node: onnx.NodeProto, name: str, params: dict, inputs: list[str]) -> bool:
    """Fold ``Add``/``Sub`` of a constant into the bias of the Dense/Conv that alone feeds it."""
    if node.op_type not in ("Add", "Sub") or len(inputs) != 1 or "c1" not in params and node.op_type == "Sub":
        return False
    x = inputs[0]
    prod = ctx.producer_op(x)
    if prod is None or prod.op_type not in ("Dense", "Conv") or ctx.onnx_consumers.get(x, 0) != 1:
        return False
    c = params.get("c1", params.get("c0"))
    shape = ctx.shapes[x]
    if prod.op_type == "Dense":
        m = shape[-1] if shape else 1
        ok = c.size == m and (c.ndim <= 1 or c.shape[-1] == m) and c.ndim <= len(shape)
        vec = c.reshape(-1) if ok else None
    else:
        m = shape[1]
        ok = (
            c.ndim <= len(shape)
            and c.size == m
            and (c.ndim == 0 or c.shape[-(len(shape) - 1)] == m if c.ndim >= len(shape) - 1 else False)
        )
        vec = c.reshape(-1) if ok else None
    if vec is None:
        return False
    sign = -1.0 if node.op_type == "Sub" else 1.0
    prod.params["b"] = prod.params.get("b", np.zeros(m)) + sign * np.broadcast_to(vec, (m,))
    ctx.take_over(prod, node.output[0])
    ctx.notes.append(f"folded {node.op_type} {name!r} into the bias of {prod.op_type} {prod.name!r}")
    return True


def fold_batchnorm(
    ctx: Context, node: onnx.NodeProto, name: str, scale: np.ndarray, shift: np.ndarray
) -> bool:
    """Fold a BatchNorm's per-channel ``scale * x + shift`` into the Conv/Dense that alone feeds it."""
    x = ctx.arg(node, 0)
    prod = ctx.producer_op(x)
    if (
        prod is None
        or prod.op_type not in ("Conv", "Dense")
        or ctx.onnx_consumers.get(x, 0) != 1
        or (prod.op_type == "Dense" and len(ctx.shapes[x]) != 2)
    ):
        return False
    w = prod.params["W"]
    prod.params["W"] = w * scale.reshape((-1,) + (1,) * (w.ndim - 1)) if prod.op_type == "Conv" else w * scale
    prod.params["b"] = prod.params.get("b", np.zeros(scale.size)) * scale + shift
    ctx.take_over(prod, node.output[0])
    ctx.notes.append(f"folded BatchNormalization {name!r} into {prod.op_type} {prod.name!r}")
    return True
