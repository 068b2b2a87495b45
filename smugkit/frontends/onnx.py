"""ONNX → network IR: validation, static shapes, constant folding, BatchNorm/bias folding, post-processing cut.

All unsupported ops of a model are collected and reported together in one `UnsupportedOpError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from smugkit.errors import InputError, ModelError, UnsupportedOpError
from smugkit.ir import Network, Op, TensorInfo
from smugkit.ir import shape_ops as so

ModelSource = str | os.PathLike | bytes | onnx.ModelProto

#: Ops that turn scores into probabilities or decisions; they are cut off the end of a model.
POST_PROCESSING = {"Softmax", "LogSoftmax", "ArgMax", "ArgMin", "ZipMap", "ArrayFeatureExtractor", "TopK"}
#: Ops that may stand between the scores and a post-processing op without changing the scores.
PASS_THROUGH = {"Cast", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}


# -- reading and validating -----------------------------------------------------------------------------
def read_model(source: ModelSource) -> tuple[onnx.ModelProto, str, Path | None]:
    """Parse a model from a path, bytes or ModelProto; returns it with a label for messages and its folder."""
    if isinstance(source, onnx.ModelProto):
        model, label, base = source, "<ModelProto>", None
    elif isinstance(source, bytes | bytearray):
        model, label, base = _parse(bytes(source), "<bytes>"), "<bytes>", None
    else:
        path = Path(source)
        label = str(path)
        if not path.exists():
            raise InputError(f"model file not found: {path}")
        if not path.is_file():
            raise InputError(f"model path is not a file: {path}")
        model, base = _parse(path.read_bytes(), label), path.resolve().parent
    if not model.graph.node and not model.graph.output:
        raise ModelError(f"{label}: not an ONNX model (no graph, nodes or outputs found)")
    _load_external_data(model, label, base)
    _sort_nodes(model.graph, label)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{label}: invalid ONNX model: {first}") from e
    return model, label, base


def _sort_nodes(graph: onnx.GraphProto, label: str) -> None:
    """Put the nodes in topological order in place (some exporters write them out of order)."""
    producer = {o: k for k, n in enumerate(graph.node) for o in n.output if o}
    order: list[int] = []
    state: dict[int, int] = {}
    for root in range(len(graph.node)):
        stack = [(root, False)]
        while stack:
            k, expanded = stack.pop()
            if expanded:
                state[k] = 2
                order.append(k)
                continue
            if state.get(k) == 2:
                continue
            if state.get(k) == 1:
                n = graph.node[k]
                raise ModelError(f"{label}: graph has a cycle through node {n.name!r} ({n.op_type})")
            state[k] = 1
            stack.append((k, True))
            for i in graph.node[k].input:
                j = producer.get(i)
                if j is not None and state.get(j) != 2:
                    stack.append((j, False))
    if order != list(range(len(graph.node))):
        nodes = [graph.node[k] for k in order]
        copies = [onnx.NodeProto() for _ in nodes]
        for c, n in zip(copies, nodes):
            c.CopyFrom(n)
        del graph.node[:]
        graph.node.extend(copies)


def _parse(data: bytes, label: str) -> onnx.ModelProto:
    if not data:
        raise ModelError(f"{label}: empty file, not an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as e:  # protobuf raises DecodeError or RuntimeWarning-like errors
        raise ModelError(f"{label}: not a valid ONNX model (truncated or not a protobuf file): {e}") from e
    return model


def _load_external_data(model: onnx.ModelProto, label: str, base: Path | None) -> None:
    """Load external tensor data, refusing locations outside the model's folder (no path traversal)."""
    tensors = [
        t
        for t in onnx.external_data_helper._get_all_tensors(model)
        if t.data_location == onnx.TensorProto.EXTERNAL
    ]
    if not tensors:
        return
    if base is None:
        raise ModelError(f"{label}: model has external data; load it from its file path instead")
    for t in tensors:
        loc = {e.key: e.value for e in t.external_data}.get("location", "")
        target = (base / loc).resolve()
        if os.path.isabs(loc) or not target.is_relative_to(base):
            raise ModelError(
                f"{label}: tensor {t.name!r} points to external data {loc!r} outside the model's "
                f"folder {base}; refusing to read it"
            )
        if not target.is_file():
            raise ModelError(f"{label}: external data file {loc!r} for tensor {t.name!r} is missing")
    try:
        onnx.external_data_helper.load_external_data_for_model(model, str(base))
    except Exception as e:
        raise ModelError(f"{label}: cannot read external data: {e}") from e


def parse_shape(text: str) -> dict[str, tuple[int, ...]]:
    """Parse ``--input-shape`` text: ``NAME=1,3,32,32`` (several separated by ';') or just ``1,3,32,32``."""
    shapes: dict[str, tuple[int, ...]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, dims = part.rpartition("=")
        try:
            shapes[name] = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            raise InputError(f"bad input shape {part!r}: expected e.g. 'input=1,3,32,32'") from None
        if not shapes[name] or any(d < 1 for d in shapes[name]):
            raise InputError(f"bad input shape {part!r}: dimensions must be positive integers")
    return shapes


# -- conversion context -----------------------------------------------------------------------------------
@dataclass
class _Context:
    label: str
    opset: int
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    nodes: list[Op] = field(default_factory=list)
    onnx_consumers: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unsupported: dict[str, list[str]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def is_const(self, name: str) -> bool:
        return name == "" or self.resolve(name) in self.consts

    def const(self, name: str) -> np.ndarray:
        return self.consts[self.resolve(name)]

    def producer_op(self, tensor: str) -> Op | None:
        for n in reversed(self.nodes):
            if n.output == tensor:
                return n
        return None

    def add(self, op: Op) -> None:
        """Append an op and record its output shape by evaluating it on zeros."""
        ins = []
        for t in op.inputs:
            dt = np.int64 if self.dtypes.get(t, "float32").startswith("int") else np.float64
            ins.append(np.zeros((1,) + self.shapes[t], dtype=dt))
        try:
            with np.errstate(all="ignore"):  # zeros are only a shape probe (a Div by a tensor is fine)
                y = op.forward(*ins)
        except (ValueError, IndexError) as e:
            shapes = [list(self.shapes[t]) for t in op.inputs]
            raise ModelError(
                f"{self.label}: node {op.name!r} ({op.op_type}) cannot be applied to inputs of shapes "
                f"{shapes}: {e}"
            ) from e
        self.shapes[op.output] = tuple(y.shape[1:])
        self.dtypes[op.output] = "float32"
        self.nodes.append(op)


Converter = Callable[[_Context, onnx.NodeProto, str, dict], None]
CONVERTERS: dict[str, Converter] = {}


def converter(*op_types: str):
    """Register a function converting ONNX nodes of these op types to IR ops."""

    def deco(fn: Converter) -> Converter:
        for t in op_types:
            CONVERTERS[t] = fn
        return fn

    return deco


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _unsupported(ctx: _Context, node: onnx.NodeProto, name: str, why: str) -> None:
    ctx.unsupported.setdefault(why, []).append(name)
    ctx.unknown.update(node.output)


# -- the public entry point -------------------------------------------------------------------------------
def load_model(
    source: ModelSource, *, input_shapes: dict[str, tuple[int, ...]] | None = None, batch_size: int = 1
) -> Network:
    """Read an ONNX model into a `Network` with static shapes (symbolic batch axes become ``batch_size``)."""
    model, label, _ = read_model(source)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    init_names = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    shapes = _input_shapes(inputs, input_shapes or {}, batch_size, label)
    outputs, cut_notes, post = _cut_post_processing(graph)
    nodes = _needed_nodes(graph, outputs, label)

    ctx = _Context(label=label, opset=opset)
    ctx.notes.extend(cut_notes)
    for t in graph.initializer:
        ctx.consts[t.name] = numpy_helper.to_array(t)
    for i in inputs:
        ctx.shapes[i.name] = shapes[i.name]
        ctx.dtypes[i.name] = _dtype_name(i.type.tensor_type.elem_type)
    for n in nodes:
        for t in n.input:
            ctx.onnx_consumers[t] = ctx.onnx_consumers.get(t, 0) + 1
    for o in outputs:
        ctx.onnx_consumers[o] = ctx.onnx_consumers.get(o, 0) + 1
    inferred = _inferred_shapes(model, shapes)

    for idx, node in enumerate(nodes):
        name = node.name or f"{node.op_type}_{idx}"
        ins = [i for i in node.input]
        if any(ctx.resolve(i) in ctx.unknown for i in ins if i):
            ctx.unknown.update(node.output)
            if node.op_type not in CONVERTERS and node.op_type not in _FOLDABLE_ONLY:
                ctx.unsupported.setdefault(node.op_type, []).append(name)
            continue
        if node.domain not in ("", "ai.onnx"):
            _unsupported(ctx, node, name, f"{node.domain}.{node.op_type}")
            continue
        if all(ctx.is_const(i) for i in ins) and node.op_type not in ("Dropout",):
            _fold(ctx, node, name, opset)
            continue
        if node.op_type == "Shape":
            _shape_of(ctx, node)
            continue
        fn = CONVERTERS.get(node.op_type)
        if fn is None:
            _unsupported(ctx, node, name, node.op_type)
            continue
        fn(ctx, node, name, _attrs(node))
        for o in node.output:
            r = ctx.resolve(o)
            if o and r in ctx.shapes and o in inferred and inferred[o] != ctx.shapes[r]:
                raise ModelError(
                    f"{label}: node {name!r} ({node.op_type}) gives shape {list(ctx.shapes[r])} where "
                    f"ONNX shape inference says {list(inferred[o])}"
                )
    if ctx.unsupported:
        raise UnsupportedOpError(ctx.unsupported, label)
    return _assemble(ctx, inputs, outputs, label, post, model)


_FOLDABLE_ONLY = {
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


def _dtype_name(elem_type: int) -> str:
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).name
    except (KeyError, ValueError, TypeError):
        return "float32"


def _input_shapes(
    inputs, given: dict[str, tuple[int, ...]], batch: int, label: str
) -> dict[str, tuple[int, ...]]:
    """Concrete shapes for the graph inputs: symbolic batch axes become ``batch``; others must be given."""
    if "" in given and len(inputs) == 1:
        given = {inputs[0].name: given[""]}
    unknown = set(given) - {i.name for i in inputs}
    if unknown:
        raise InputError(
            f"{label}: --input-shape names {sorted(unknown)}, but the inputs are {[i.name for i in inputs]}"
        )
    out = {}
    for i in inputs:
        dims = i.type.tensor_type.shape.dim
        declared = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
        if i.name in given:
            shape = tuple(given[i.name])
            if len(shape) != len(declared) or any(d is not None and d != s for d, s in zip(declared, shape)):
                raise InputError(
                    f"{label}: --input-shape {list(shape)} for {i.name!r} does not fit its declared "
                    f"shape {[d if d is not None else '?' for d in declared]}"
                )
        else:
            shape = tuple(batch if (d is None and k == 0) else d for k, d in enumerate(declared))
            if any(d is None for d in shape):
                raise InputError(
                    f"{label}: input {i.name!r} has symbolic shape "
                    f"{[d if d is not None else dims[k].dim_param or '?' for k, d in enumerate(declared)]}; "
                    f"give a concrete one with --input-shape {i.name}=d1,d2,..."
                )
        out[i.name] = shape
    return out


def _inferred_shapes(
    model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]
) -> dict[str, tuple[int, ...]]:
    """Static shapes from onnx shape inference with the concrete input shapes (empty if inference fails)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i in m.graph.input:
        if i.name in shapes:
            dims = i.type.tensor_type.shape.dim
            for d, v in zip(dims, shapes[i.name]):
                d.Clear()
                d.dim_value = v
    try:
        m = onnx.shape_inference.infer_shapes(m, data_prop=True)
    except Exception:  # noqa: BLE001  (any failure only turns the shape cross-check off)
        return {}
    out = {}
    for vi in m.graph.value_info:  # declared output shapes can be wrong in files; onnxruntime ignores them
        t = vi.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            out[vi.name] = tuple(d.dim_value for d in t.shape.dim)
    return out


def _cut_post_processing(graph: onnx.GraphProto) -> tuple[list[str], list[str], str | None]:
    """Walk back from each output through post-processing ops; return the score tensors and what was cut."""
    producer = {o: n for n in graph.node for o in n.output}
    init = {t.name for t in graph.initializer}
    outputs: list[str] = []
    notes: list[str] = []
    post: str | None = None
    for out in graph.output:
        t, chain = out.name, []
        while t in producer and producer[t].op_type in POST_PROCESSING | PASS_THROUGH:
            n = producer[t]
            chain.append(n)
            data = [
                i
                for i in n.input
                if i and i not in init and i in producer or i in {x.name for x in graph.input}
            ]
            if not data:
                break
            t = data[-1] if n.op_type == "ArrayFeatureExtractor" else data[0]
        deepest = max((k for k, n in enumerate(chain) if n.op_type in POST_PROCESSING), default=None)
        if deepest is None:
            keep = out.name
        else:
            cut = chain[: deepest + 1]
            keep = next(i for i in cut[-1].input if i and i not in init)
            if cut[-1].op_type == "ArrayFeatureExtractor":
                keep = [i for i in cut[-1].input if i and i not in init][-1]
            ops = " -> ".join(n.op_type for n in reversed(cut))
            notes.append(f"output {out.name!r}: cut post-processing {ops} after tensor {keep!r}")
            kinds = {n.op_type for n in cut}
            if "Softmax" in kinds:
                post = "softmax"
            elif "LogSoftmax" in kinds:
                post = post or "log_softmax"
        if deepest is not None:
            # an ArgMax/ZipMap chain may pass through Softmax: keep walking to the raw scores
            while keep in producer and producer[keep].op_type in POST_PROCESSING | {"Cast", "Identity"}:
                n = producer[keep]
                if n.op_type == "Softmax":
                    post = "softmax"
                notes.append(f"output {out.name!r}: also cut {n.op_type} {n.name!r}")
                keep = n.input[0]
        if keep not in outputs:
            outputs.append(keep)
    return outputs, notes, post


def _needed_nodes(graph: onnx.GraphProto, outputs: list[str], label: str) -> list[onnx.NodeProto]:
    """The nodes that the outputs depend on, in a topological order."""
    producer = {o: n for n in graph.node for o in n.output if o}
    needed: dict[int, onnx.NodeProto] = {}
    stack = list(outputs)
    while stack:
        t = stack.pop()
        n = producer.get(t)
        if n is None or id(n) in needed:
            continue
        needed[id(n)] = n
        stack.extend(i for i in n.input if i)
    order, done, visiting = [], set(), set()

    def visit(n):
        if id(n) in done:
            return
        if id(n) in visiting:
            raise ModelError(f"{label}: graph has a cycle through node {n.name!r} ({n.op_type})")
        visiting.add(id(n))
        for i in n.input:
            if i in producer and id(producer[i]) in needed:
                visit(producer[i])
        visiting.discard(id(n))
        done.add(id(n))
        order.append(n)

    for n in graph.node:
        if id(n) in needed:
            visit(n)
    return order


def _fold(ctx: _Context, node: onnx.NodeProto, name: str, opset: int) -> None:
    """Evaluate a node whose inputs are all constants with onnx's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    feeds = {i: ctx.const(i) for i in node.input if i}
    try:
        results = ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds)
    except Exception:  # noqa: BLE001  (an op or opset the reference evaluator lacks: try onnxruntime)
        try:
            results = _run_single_node(node, feeds, opset)
        except Exception as e:
            raise ModelError(f"{ctx.label}: cannot fold constant node {name!r} ({node.op_type}): {e}") from e
    for o, v in zip(node.output, results):
        if o:
            ctx.consts[o] = np.asarray(v)


def _run_single_node(node: onnx.NodeProto, feeds: dict[str, np.ndarray], opset: int) -> list[np.ndarray]:
    """Evaluate one node with onnxruntime (for ops or opsets onnx's reference evaluator lacks)."""
    import onnxruntime as ort

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
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _shape_of(ctx: _Context, node: onnx.NodeProto) -> None:
    a = _attrs(node)
    shape = np.array(ctx.shapes[ctx.resolve(node.input[0])], dtype=np.int64)
    ctx.consts[node.output[0]] = shape[a.get("start", 0) : a.get("end", None)]


def _restore_output_names(ctx: _Context, outputs: list[str], input_names: set[str]) -> None:
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
    ctx: _Context, inputs, outputs: list[str], label: str, post: str | None, model: onnx.ModelProto
) -> Network:
    """Build the `Network`: dead-node elimination, output tensors, provenance notes."""
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
    meta = {
        "source": label,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opset": ctx.opset,
        "notes": ctx.notes,
        "post_processing": post,
        "output_names": {ctx.resolve(o): o for o in outputs},
        "onnx_model": model,  # the validated original, for certification with onnxruntime
    }
    return Network(
        inputs=[tensors[i.name] for i in inputs],
        outputs=[tensors[o] for o in outs],
        nodes=nodes,
        tensors=tensors,
        meta=meta,
    )


from smugkit.frontends import onnx_ops as _onnx_ops  # noqa: F401  (registers the converters)
