"""Reading an ONNX model: parse, load external data safely, put nodes in order, validate, fix input shapes."""

from __future__ import annotations

import heapq
import os
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import numpy as np
import onnx

from smugkit.errors import InputError, ModelError

ModelSource = str | os.PathLike | bytes | onnx.ModelProto


def read_model(source: ModelSource) -> tuple[onnx.ModelProto, str, Path | None]:
    """Parse a model from a path, bytes or ModelProto; returns it with a label for messages and its folder."""
    if isinstance(source, onnx.ModelProto):
        model, label, base = source, "<ModelProto>", None
    elif isinstance(source, bytes | bytearray):
        model, label, base = _parse(bytes(source), "<bytes>"), "<bytes>", None
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        label = str(path)
        if not path.exists():
            raise InputError(f"model file not found: {path}")
        if not path.is_file():
            raise InputError(f"model path is not a file: {path}")
        model, base = _parse(path.read_bytes(), label), path.resolve().parent
    else:
        raise InputError(
            f"a model is an ONNX file path, its bytes, an onnx.ModelProto, a smugkit Network or Model, or a "
            f"torch.nn.Module with an example input; got {type(source).__name__}"
        )
    if not model.graph.node and not model.graph.output:
        raise ModelError(f"{label}: not an ONNX model (no graph, nodes or outputs found)")
    _load_external_data(model, label, base)
    sort_nodes(model.graph, label)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, UnicodeDecodeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{label}: invalid ONNX model: {first}") from e
    return model, label, base


def sort_nodes(graph: onnx.GraphProto, label: str) -> None:
    """Put the nodes in topological order in place (some exporters write them out of order).

    Of all topological orders this takes the one closest to the file's (always the earliest ready node), so a
    graph already in order is left as it is. A cycle is a `ModelError` naming the nodes on it.
    """
    producer = {o: k for k, n in enumerate(graph.node) for o in n.output if o}
    sorter: TopologicalSorter[int] = TopologicalSorter()
    for k, n in enumerate(graph.node):
        sorter.add(k, *{producer[i] for i in n.input if i in producer})
    try:
        sorter.prepare()
    except CycleError as e:
        cycle = " -> ".join(_node_label(graph.node[k], k) for k in e.args[1])
        raise ModelError(f"{label}: graph has a cycle: {cycle}") from None
    order: list[int] = []
    ready: list[int] = []
    while sorter.is_active():
        for k in sorter.get_ready():
            heapq.heappush(ready, k)
        k = heapq.heappop(ready)
        order.append(k)
        sorter.done(k)
    if order != list(range(len(graph.node))):
        copies = [onnx.NodeProto() for _ in order]
        for c, k in zip(copies, order):
            c.CopyFrom(graph.node[k])
        del graph.node[:]
        graph.node.extend(copies)


def _node_label(node: onnx.NodeProto, index: int) -> str:
    return f"{node.name!r} ({node.op_type})" if node.name else f"#{index} ({node.op_type})"


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


def dtype_name(elem_type: int) -> str:
    """The numpy dtype name of an ONNX element type (float32 for types numpy lacks)."""
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).name
    except (KeyError, ValueError, TypeError):
        return "float32"


def concrete_input_shapes(
    inputs: list[onnx.ValueInfoProto], given: dict[str, tuple[int, ...]], batch: int, label: str
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


def inferred_shapes(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
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
