"""Every onnxruntime use in one place: the session factory, batched runs on stacked points, model cutting.

Sessions run on the CPU with onnxruntime's warnings silenced; a model onnxruntime refuses is a typed
`ModelError` naming it. `BatchedSession` runs stacked points through a model whose batch axis is fixed by
declaring a symbolic batch axis when that is exact; `cut_model` keeps the part of a model between chosen
tensors (an internal tensor becomes an input); `OutputRunner` exposes internal tensors of the original model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx

from smugkit.errors import GradientError, ModelError

Array = np.ndarray


def make_session(model: onnx.ModelProto | bytes | str | os.PathLike, label: str | None = None):
    """The one onnxruntime session factory: CPU, warnings silenced, a typed error naming the model on failure.

    Under a thread setting (`smugkit.threads`, e.g. in a pool worker) the session keeps to that many threads.
    Idle intra-op threads sleep rather than spin: spinning cost a third of the wall time of an explanation on
    the bundled digits CNN whenever the cores were shared (4.9 s -> 3.4 s for 10 digits under load).
    """
    import onnxruntime as ort

    from smugkit.threads import threads

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    n = threads()
    if n is not None:
        opts.intra_op_num_threads = n
        opts.inter_op_num_threads = 1
    if isinstance(model, onnx.ModelProto):
        model = model.SerializeToString()
    elif not isinstance(model, bytes | bytearray):
        model = str(model)
    try:
        return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ModelError(f"onnxruntime cannot run {label or 'the model'}: {e}") from e


def elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element types of the model's tensors from onnx shape inference (best effort)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001  (inference is only a hint; some valid models defeat it)
        inferred = model
    g = inferred.graph
    types = {vi.name: vi.type.tensor_type.elem_type for vi in [*g.value_info, *g.input, *g.output]}
    types.update({t.name: t.data_type for t in g.initializer})
    return types


def node_inputs(node: onnx.NodeProto) -> list[str]:
    """A node's inputs, plus every name its subgraphs read (they may refer to outer-scope tensors)."""
    names = list(node.input)
    for a in node.attribute:
        for g in [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs):
            for n in g.node:
                names.extend(node_inputs(n))
    return names


def cut_model(
    model: onnx.ModelProto, fed: list[str], outputs: list[str], label: str = "model"
) -> tuple[onnx.ModelProto, list[str]]:
    """The part of ``model`` computing ``outputs`` from the ``fed`` tensors (internal tensors become inputs).

    Returns the model (without shapes on its inputs; see `BatchedSession`) and the fed tensors it reads.
    """
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output if o}
    graph_inputs = {i.name for i in g.input if i.name not in inits}
    known = set(producer) | graph_inputs | set(inits)
    for t in [*fed, *outputs]:
        if t not in known:
            raise GradientError(
                f"tensor {t!r} does not exist in the ONNX model {label} (IR-only tensors such as "
                f"folded or renamed ones cannot be reached there)"
            )
    need, used_inits, reached, missing, seen = set(), set(), [], set(), set()
    stack = list(outputs)
    while stack:
        t = stack.pop()
        if not t or t in seen:
            continue
        seen.add(t)
        if t in fed:
            reached.append(t)
        elif t in inits:
            used_inits.add(t)
        elif t in graph_inputs:
            missing.add(t)
        elif t in producer:
            need.add(id(producer[t]))
            stack.extend(node_inputs(producer[t]))
    if missing:
        raise GradientError(
            f"{label}: computing {outputs} needs model input(s) {sorted(missing)}, which were not given"
        )
    types = elem_types(model)
    reached = [t for t in fed if t in reached]
    ins = [onnx.helper.make_tensor_value_info(t, types.get(t, onnx.TensorProto.FLOAT), None) for t in reached]
    outs = [
        onnx.helper.make_tensor_value_info(t, types.get(t, onnx.TensorProto.FLOAT), None) for t in outputs
    ]
    nodes = [n for n in g.node if id(n) in need]
    graph = onnx.helper.make_graph(
        nodes, g.name or "cut", ins, outs, initializer=[t for t in g.initializer if t.name in used_inits]
    )
    cut = onnx.ModelProto()
    cut.CopyFrom(model)
    cut.graph.CopyFrom(graph)
    return cut, reached


class BatchedSession:
    """Runs an ONNX model on stacked points, batched along a symbolic first axis when that is exact.

    Inputs whose model shape starts with 1 are declared with a symbolic batch axis; the result is checked
    against point-by-point runs once. Models that cannot batch (fixed reshapes, no batch axis) run one point
    per ``session.run``.
    """

    def __init__(
        self,
        model: onnx.ModelProto,
        shapes: dict[str, tuple[int, ...]],
        outputs: list[str],
        out_shapes: dict[str, tuple[int, ...]],
        rows: int = 1024,
        seed: int = 0,
    ) -> None:
        self.shapes, self.outputs, self.out_shapes, self.rows = dict(shapes), list(outputs), out_shapes, rows
        types = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
        self._int = {k: types.get(k) in (onnx.TensorProto.INT64, onnx.TensorProto.INT32) for k in shapes}
        self._dtype = {
            k: {
                onnx.TensorProto.INT64: np.int64,
                onnx.TensorProto.INT32: np.int32,
                onnx.TensorProto.DOUBLE: np.float64,
            }.get(types.get(k), np.float32)
            for k in shapes
        }
        self.batched = all(s and s[0] == 1 for s in shapes.values()) and all(
            s and s[0] == 1 for s in out_shapes.values()
        )
        self.session = None
        if self.batched:
            try:
                self.session = make_session(self._declare(model, symbolic=True))
                self.batched = self._check(np.random.default_rng(seed))
            except Exception:  # noqa: BLE001  (onnxruntime errors derive from Exception only; then run per point)
                self.session, self.batched = None, False
        if self.session is None:
            self.session = make_session(self._declare(model, symbolic=False))

    def _declare(self, model: onnx.ModelProto, symbolic: bool) -> onnx.ModelProto:
        m = onnx.ModelProto()
        m.CopyFrom(model)
        del m.graph.value_info[:]
        for vi in m.graph.input:
            if vi.name in self.shapes:
                dims = list(self.shapes[vi.name])
                if symbolic:
                    dims[0] = "N"
                t = onnx.helper.make_tensor_type_proto(vi.type.tensor_type.elem_type, dims)
                vi.type.CopyFrom(t)
        for vi in m.graph.output:
            vi.type.tensor_type.ClearField("shape")
        return m

    def _raw(self, feeds: dict[str, Array]) -> list[Array]:
        import onnxruntime as ort

        quiet = ort.RunOptions()
        quiet.log_severity_level = 4  # the batching probe may fail by design; keep stderr clean
        return self.session.run(
            self.outputs, {k: np.asarray(v, self._dtype[k]) for k, v in feeds.items()}, quiet
        )

    def _check(self, rng: np.random.Generator) -> bool:
        pts = {
            k: (np.zeros((2,) + s[1:]) if self._int[k] else rng.uniform(-1, 1, (2,) + s[1:]))
            for k, s in self.shapes.items()
        }
        both = self._raw(pts)
        for i in range(2):
            one = self._raw({k: v[i : i + 1] for k, v in pts.items()})
            for a, b in zip(both, one):
                if (
                    a.shape[0] != 2
                    or a.shape[1:] != b.shape[1:]
                    or not np.allclose(a[i : i + 1], b, rtol=1e-4, atol=1e-5 * (1 + np.abs(b).max()))
                ):
                    return False
        return True

    def run(self, feeds: dict[str, Array], stack: int | None = None) -> dict[str, Array]:
        """Stacked outputs ``(S, *model_shape)`` (float64) for stacked feeds ``(S, *model_shape)``.

        ``stack`` gives S when nothing is fed (an output that is a constant of the model).
        """
        if not feeds:
            return {
                o: np.broadcast_to(r.reshape(self.out_shapes[o]), (stack or 1,) + self.out_shapes[o]).astype(
                    np.float64
                )
                for o, r in zip(self.outputs, self._raw({}))
            }
        s = next(iter(feeds.values())).shape[0]
        parts: list[list[Array]] = [[] for _ in self.outputs]
        if self.batched:
            for i in range(0, s, self.rows):
                res = self._raw(
                    {k: v[i : i + self.rows].reshape((-1,) + self.shapes[k][1:]) for k, v in feeds.items()}
                )
                for p, r in zip(parts, res):
                    p.append(r)
        else:
            for i in range(s):
                for p, r in zip(
                    parts, self._raw({k: v[i].reshape(self.shapes[k]) for k, v in feeds.items()})
                ):
                    p.append(r[None])
        return {
            o: np.concatenate(p).reshape((s,) + self.out_shapes[o]).astype(np.float64)
            for o, p in zip(self.outputs, parts)
        }


def load_onnx(model, label: str) -> onnx.ModelProto:
    """An ONNX ModelProto from a ModelProto, serialised bytes or a file path (typed error when missing)."""
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes | bytearray):
        return onnx.load_from_string(bytes(model))
    path = Path(model)
    if not path.is_file():
        raise GradientError(f"{label}: ONNX model file not found: {path}")
    return onnx.load(str(path))


class OutputRunner:
    """The original ONNX model run by onnxruntime on one input, also returning chosen internal tensors."""

    def __init__(
        self,
        model: onnx.ModelProto,
        input_name: str,
        input_shape: tuple[int, ...],
        tensors: list[str],
        label: str | None = None,
    ) -> None:
        m = onnx.ModelProto()
        m.CopyFrom(model)
        present = {o.name for o in m.graph.output}
        for t in tensors:
            if t not in present:
                m.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
        self.session = make_session(m, label)
        self.input_name, self.input_shape = input_name, tuple(input_shape)
        self.names = [o.name for o in self.session.get_outputs()]

    def run(self, x: Array) -> dict[str, Array]:
        """Run one model-shaped input; returns every output by name."""
        feed = {self.input_name: np.asarray(x, dtype=np.float32).reshape(self.input_shape)}
        return dict(zip(self.names, self.session.run(None, feed)))
