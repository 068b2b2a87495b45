"""`load_model`: ONNX → `Network`, driving the reader, the post-processing cut, folding and the converters.

All unsupported ops of a model are collected and reported together in one `UnsupportedOpError`.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from smugkit.errors import ModelError, UnsupportedOpError
from smugkit.frontends.onnx.context import Context, attrs
from smugkit.frontends.onnx.converters import CONVERTERS
from smugkit.frontends.onnx.folding import FOLDABLE_ONLY, fold_constant, shape_of
from smugkit.frontends.onnx.postprocess import cut_post_processing
from smugkit.frontends.onnx.reader import (
    ModelSource,
    concrete_input_shapes,
    dtype_name,
    inferred_shapes,
    read_model,
)
from smugkit.guard import check_shape
from smugkit.ir import Network, TensorInfo
from smugkit.ir import shape_ops as so
from smugkit.ir.network import ModelOrigin

#: exceptions a converter may raise on attribute or input values outside the spec; they become a ModelError
#: naming the node and op (converters check what they read by raising ValueError with a plain message)
INVALID = (ValueError, IndexError, KeyError, TypeError, ArithmeticError, UnicodeDecodeError)


def load_model(
    source: ModelSource,
    *,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    batch_size: int = 1,
    allow_nonfinite: bool = False,
) -> Network:
    """Read an ONNX model into a `Network` with static shapes (symbolic batch axes become ``batch_size``).

    Weights holding NaN or Inf are a `ModelError` (explanations of such a model mean nothing) unless
    ``allow_nonfinite`` is set; tensors larger than the memory limit are a `ResourceError` (`smugkit.guard`).
    """
    model, label, _ = read_model(source)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    init_names = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    shapes = concrete_input_shapes(inputs, input_shapes or {}, batch_size, label)
    outputs, cut_notes, post = cut_post_processing(graph)
    nodes = _needed_nodes(graph, outputs)

    ctx = Context(label=label, opset=opset)
    ctx.notes.extend(cut_notes)
    for t in graph.initializer:
        ctx.consts[t.name] = _initializer(t, label, allow_nonfinite)
    for i in inputs:
        check_shape(shapes[i.name], f"{label}: input {i.name!r}")
        ctx.shapes[i.name] = shapes[i.name]
        ctx.dtypes[i.name] = dtype_name(i.type.tensor_type.elem_type)
    for n in nodes:
        for t in n.input:
            ctx.onnx_consumers[t] = ctx.onnx_consumers.get(t, 0) + 1
    for o in outputs:
        ctx.onnx_consumers[o] = ctx.onnx_consumers.get(o, 0) + 1
    inferred = inferred_shapes(model, shapes)

    for idx, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{idx}"
        ins = list(node.input)
        if any(ctx.resolve(i) in ctx.unknown for i in ins if i):
            ctx.unknown.update(node.output)
            if node.op_type not in CONVERTERS and node.op_type not in FOLDABLE_ONLY:
                ctx.unsupported.setdefault(node.op_type, []).append(name)
            continue
        if node.domain not in ("", "ai.onnx"):
            ctx.reject(node, name, f"{node.domain}.{node.op_type}")
            continue
        for o in node.output:
            if o in inferred:
                check_shape(inferred[o], f"{label}: output {o!r} of node {name!r} ({node.op_type})")
        const = all(ctx.is_const(i) for i in ins) and node.op_type not in ("Dropout",)
        fn = CONVERTERS.get(node.op_type)
        if fn is None and not const and node.op_type != "Shape":
            ctx.reject(node, name, node.op_type)
            continue
        try:
            if const:
                fold_constant(ctx, node, name)
                continue
            if node.op_type == "Shape":
                shape_of(ctx, node)
                continue
            fn(ctx, node, name, attrs(node))
        except INVALID as e:
            raise ModelError(
                f"{label}: node {name!r} ({node.op_type}) has attributes or inputs outside what the op "
                f"allows: {type(e).__name__}: {e}"
            ) from e
        for o in node.output:
            r = ctx.resolve(o)
            if o and r in ctx.shapes and o in inferred and inferred[o] != ctx.shapes[r]:
                raise ModelError(
                    f"{label}: node {name!r} ({node.op_type}) gives shape {list(ctx.shapes[r])} where "
                    f"ONNX shape inference says {list(inferred[o])}"
                )
    if ctx.unsupported:
        raise UnsupportedOpError(ctx.unsupported, label)
    return _assemble(ctx, inputs, outputs, post, model)


def _initializer(t: onnx.TensorProto, label: str, allow_nonfinite: bool) -> np.ndarray:
    """An initializer's value, checked: its size against its dims, the memory limit, finiteness."""
    check_shape(t.dims, f"{label}: initializer {t.name!r}")
    try:
        value = numpy_helper.to_array(t)
    except INVALID as e:
        raise ModelError(
            f"{label}: initializer {t.name!r} (dims {list(t.dims)}) cannot be read: {type(e).__name__}: {e}"
        ) from e
    if value.dtype.kind == "f" and not allow_nonfinite and not np.all(np.isfinite(value)):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise ModelError(
            f"{label}: initializer {t.name!r} holds {bad} NaN/Inf value(s); explanations of such a model are "
            f"meaningless (load_model(..., allow_nonfinite=True) accepts it anyway)"
        )
    return value


def _needed_nodes(graph: onnx.GraphProto, outputs: list[str]) -> list[onnx.NodeProto]:
    """The nodes that the outputs depend on, in graph order (`read_model` has put the graph in order)."""
    producer = {o: n for n in graph.node for o in n.output if o}
    needed: set[int] = set()
    stack = list(outputs)
    while stack:
        n = producer.get(stack.pop())
        if n is None or id(n) in needed:
            continue
        needed.add(id(n))
        stack.extend(i for i in n.input if i)
    return [n for n in graph.node if id(n) in needed]


def _restore_output_names(ctx: Context, outputs: list[str], input_names: set[str]) -> None:
    """Give output tensors their ONNX names back where folding aliased them to an internal tensor."""
    renamed: dict[str, str] = {}
    for o in outputs:
        r = ctx.resolve(o)
        if (
            r == o
            or r in input_names
            or r in renamed
            or r in outputs
            or not any(n.output == r for n in ctx.nodes)
        ):
            continue
        renamed[r] = o
    if not renamed:
        return
    for n in ctx.nodes:
        n.output = renamed.get(n.output, n.output)
        n.inputs = [renamed.get(t, t) for t in n.inputs]
    for r, o in renamed.items():
        ctx.shapes[o] = ctx.shapes[r]
        ctx.dtypes[o] = ctx.dtypes.get(r, "float32")
        del ctx.alias[o]
        for k, v in list(ctx.alias.items()):
            if v == r:
                ctx.alias[k] = o


def _assemble(
    ctx: Context,
    inputs: list[onnx.ValueInfoProto],
    outputs: list[str],
    post: str | None,
    model: onnx.ModelProto,
) -> Network:
    """Build the `Network`: dead-node elimination, output tensors, its `ModelOrigin`."""
    _restore_output_names(ctx, outputs, {i.name for i in inputs})
    outs = []
    for o in outputs:
        r = ctx.resolve(o)
        if r in ctx.consts and r not in ctx.shapes:
            op = so.IndexMap(
                name=f"const_{o}",
                inputs=[],
                output=r,
                params={
                    "index": np.arange(ctx.consts[r].size),
                    "fill": ctx.consts[r].astype(np.float64).reshape(-1),
                },
                attrs={"shape": tuple(ctx.consts[r].shape), "sizes": [], "kind": "Constant"},
            )
            ctx.add(op)
        outs.append(r)
    needed, stack = set(), list(outs)
    prod = {n.output: n for n in ctx.nodes}
    while stack:
        t = stack.pop()
        n = prod.get(t)
        if n is not None and n.name not in needed:
            needed.add(n.name)
            stack.extend(n.inputs)
    nodes = [n for n in ctx.nodes if n.name in needed]
    tensors = {i.name: TensorInfo(i.name, ctx.shapes[i.name], ctx.dtypes[i.name]) for i in inputs}
    for n in nodes:
        tensors[n.output] = TensorInfo(n.output, ctx.shapes[n.output], "float32")
    origin = ModelOrigin(
        source=ctx.label,
        producer=f"{model.producer_name} {model.producer_version}".strip(),
        opset=ctx.opset,
        notes=tuple(ctx.notes),
        post_processing=post,
        output_names={ctx.resolve(o): o for o in outputs},
        model=model,  # the validated original, for certification with onnxruntime
    )
    return Network(
        inputs=[tensors[i.name] for i in inputs],
        outputs=[tensors[o] for o in outs],
        nodes=nodes,
        tensors=tensors,
        origin=origin,
    )
