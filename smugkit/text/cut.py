"""Cut a text model at its embedding look-up: the Gather's output becomes the input SMUG explains.

A text model reads integer token ids and looks their rows up in a constant table (ONNX ``Gather``). The ids
are not differentiable and cannot be masked by degrees, so the explained model starts at the look-up's output
(``(*token_shape, dim)`` floats): the rest of the graph, unchanged, is loaded as a `Network` whose origin is
the cut ONNX model (so onnxruntime certifies masks on it), and the table embeds ids in numpy, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from smugkit.errors import InputError, ModelError
from smugkit.ir import Network

INT_TYPES = {TensorProto.INT32, TensorProto.INT64, TensorProto.UINT8, TensorProto.INT16, TensorProto.INT8}


@dataclass
class TextModel:
    """A text model split at its embedding: ``network`` maps embeddings to scores, ``table`` maps ids to rows."""

    network: Network  # the cut model: input = embedding output
    table: np.ndarray  # (vocab, dim) float64
    ids_name: str  # the original model's id input
    token_shape: tuple[int, ...]  # shape of the id input, e.g. (1, L)
    source: str
    head: str = "scores"  # "scores", or how a single-score head was turned into two logits

    @property
    def length(self) -> int:
        return int(self.token_shape[-1])

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def embed(self, ids) -> np.ndarray:
        """The embedded input ``(*token_shape, dim)`` of one id row (checked against the table's size)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size != int(np.prod(self.token_shape)):
            raise InputError(f"{ids.size} token ids given; the model reads {list(self.token_shape)}")
        if ids.min() < 0 or ids.max() >= self.table.shape[0]:
            raise InputError(
                f"token ids must lie in [0, {self.table.shape[0]}) (the embedding table); "
                f"got {ids.min()}..{ids.max()}"
            )
        return self.table[ids.reshape(self.token_shape)]


def _constant(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    for t in graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    return None


def cut_at_embedding(model, length: int | None = None) -> TextModel:
    """Split ``model`` (path, bytes or ModelProto) at the Gather that embeds its integer id input.

    ``length`` fixes a symbolic sequence axis (e.g. from the vocabulary); a symbolic batch axis becomes 1.
    """
    from smugkit.frontends import load_model
    from smugkit.frontends.onnx import read_model

    proto, label, _ = read_model(model)
    g = proto.graph
    inits = {t.name for t in g.initializer}
    ids_inputs = [i for i in g.input if i.name not in inits and i.type.tensor_type.elem_type in INT_TYPES]
    if len(ids_inputs) != 1:
        raise ModelError(
            f"{label}: a text model has one integer token-id input; found "
            f"{[i.name for i in ids_inputs] or 'none'}"
        )
    ids = ids_inputs[0]
    users = [n for n in g.node if ids.name in n.input]
    gathers = [n for n in users if n.op_type == "Gather" and n.input[1] == ids.name]
    if len(users) != 1 or len(gathers) != 1:
        raise ModelError(
            f"{label}: token ids {ids.name!r} must feed exactly one Gather (the embedding look-up); "
            f"they feed {[n.op_type for n in users]}"
        )
    gather = gathers[0]
    table = _constant(g, gather.input[0])
    axis = next((a.i for a in gather.attribute if a.name == "axis"), 0)
    if table is None or table.ndim != 2 or axis != 0:
        raise ModelError(f"{label}: Gather {gather.name!r} is not a look-up in a constant 2-D table")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in ids.type.tensor_type.shape.dim]
    if not dims:
        raise ModelError(f"{label}: token-id input {ids.name!r} has no shape")
    if dims[-1] is None:
        if length is None:
            raise InputError(f"{label}: the sequence length of {ids.name!r} is symbolic; give length=")
        dims[-1] = int(length)
    elif length is not None and int(length) != dims[-1]:
        raise InputError(f"vocabulary length {length} differs from the model's sequence length {dims[-1]}")
    token_shape = tuple(1 if d is None else int(d) for d in dims)

    cut = onnx.ModelProto()
    cut.CopyFrom(proto)
    cg = cut.graph
    keep = [n for n in cg.node if n.name != gather.name or list(n.output) != list(gather.output)]
    del cg.node[:]
    cg.node.extend(keep)
    still_used = {t for n in cg.node for t in n.input}
    if gather.input[0] not in still_used:
        kept_inits = [t for t in cg.initializer if t.name != gather.input[0]]
        del cg.initializer[:]
        cg.initializer.extend(kept_inits)
    new_inputs = [i for i in cg.input if i.name != ids.name]
    emb = helper.make_tensor_value_info(
        gather.output[0], TensorProto.FLOAT, [*token_shape, int(table.shape[1])]
    )
    del cg.input[:]
    cg.input.extend([emb, *new_inputs])
    vi = [v for v in cg.value_info if v.name != gather.output[0]]
    del cg.value_info[:]
    cg.value_info.extend(vi)
    head = _two_logit_head(cut)
    net = load_model(cut)
    net.origin = replace(net.origin, source=label)
    return TextModel(net, np.asarray(table, np.float64), ids.name, token_shape, label, head)


def _two_logit_head(model: onnx.ModelProto) -> str:
    """Turn a single-score head into two logits ``[0, z]`` in place: softmax([0, z])[1] equals sigmoid(z).

    A trailing Sigmoid is dropped (its input ``z`` is the logit); the new output is ``z @ [[0, 1]]``, an
    affine layer, so every encoding and the certificate see an ordinary two-class model. Returns what was done.
    """
    g = model.graph
    if len(g.output) != 1:
        return "scores"
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
        for v in [*inferred.graph.value_info, *inferred.graph.output]
    }
    out = g.output[0].name
    shape = shapes.get(out)
    if not shape or shape[-1] != 1:
        return "scores"
    producer = {o: n for n in g.node for o in n.output}
    z = out
    head = "single logit -> [0, z]"
    p = producer.get(out)
    if p is not None and p.op_type == "Sigmoid":
        z = p.input[0]
        g.node.remove(p)
        head = "sigmoid(z) -> logits [0, z]"
    w = f"{z}__two_logits_w"
    g.initializer.append(numpy_helper.from_array(np.array([[0.0, 1.0]], np.float32), w))
    new = f"{z}__two_logits"
    g.node.append(helper.make_node("MatMul", [z, w], [new], name="two_logits"))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(new, TensorProto.FLOAT, [*shape[:-1], 2]))
    return head
