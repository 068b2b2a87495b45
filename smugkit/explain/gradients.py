"""Gradient providers behind one interface: d(target)/d(tensor) for a batch of points, target a scalar output.

The target is one unit of an output tensor: a logit (raw output) or a softmax probability over the output's
class (last) axis. The tensor is any tensor of the network: the input or an internal activation such as
the first layer's post-ReLU output. Providers, in the registry `PROVIDERS`:

- ``ir``: exact reverse mode over the IR in float64 numpy (`Network.vjp`).
- ``onnx``: an ONNX forward + VJP graph emitted from the IR (`onnx_grad`), run batched by onnxruntime in
  float32; exact up to float32 rounding, and savable.
- ``fd``: central finite differences through onnxruntime on the original ONNX file (any op onnxruntime runs);
  step ``h_i = eps32**(1/3) * max(1, |x_i|)`` (about 4.9e-3 for inputs in [-1, 1]). Error: O(h^2) for
  smooth networks plus float32 rounding of the outputs, a few ``eps32 * |f| / h`` (~1e-4 |f|); in all ~1e-2
  of the gradient's scale unless the gradient is tiny next to the output. A ReLU/MaxPool kink within h
  of the point gives the average slope of its two sides instead of the one-sided gradient.
- ``external``: a user's ONNX model that already outputs the gradient.

Points follow the IR's conventions: an array of the tensor's model shape is one point, ``(S, *shape)`` is a
stack, and for a model whose batch axis is 1 a batch ``(N, *shape[1:])`` is N points.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import onnx

from smugkit.errors import GradientError, InputError
from smugkit.explain.onnx_grad import GradientGraph, build_gradient_graph, needed_nodes
from smugkit.ir import Network

Array = np.ndarray
PROVIDERS: dict[str, type[GradientProvider]] = {}
KINDS = ("logit", "probability")
EPS32 = float(np.finfo(np.float32).eps)


def register_provider(cls: type[GradientProvider]) -> type[GradientProvider]:
    """Add a provider class to the registry under its ``name``."""
    PROVIDERS[cls.name] = cls
    return cls


def get_provider(provider: str | GradientProvider, net: Network, **options) -> GradientProvider:
    """A provider instance: ``provider`` itself, or a new one of the registered name built on ``net``."""
    if isinstance(provider, GradientProvider):
        if options:
            raise InputError(
                f"provider options {sorted(options)} given with a provider instance; set them when "
                f"constructing it"
            )
        return provider
    cls = PROVIDERS.get(provider)
    if cls is None:
        raise InputError(f"unknown gradient provider {provider!r}; known providers: {sorted(PROVIDERS)}")
    return cls(net, **options)


# -- points, targets and cotangents ------------------------------------------------------------------------
def stack_points(net: Network, name: str, value) -> tuple[Array, str]:
    """Points for tensor ``name`` as a stack ``(S, *shape)`` with the convention used ("single", "stacked", "batch")."""
    shape = net.tensor(name).shape
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"tensor {name!r}: expected a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InputError(f"tensor {name!r}: the values contain NaN or Inf")
    if arr.shape == shape:
        return arr[None], "single"
    if arr.shape[1:] == shape:
        return arr, "stacked"
    if shape and shape[0] == 1 and arr.ndim == len(shape) and arr.shape[1:] == shape[1:]:
        return arr[:, None], "batch"
    raise InputError(
        f"tensor {name!r}: expected shape {list(shape)} (or a stack of them), got {list(arr.shape)}"
    )


def unstack(value: Array, mode: str) -> Array:
    """Undo `stack_points` on a result: model shape for one point, ``(N, *shape[1:])`` for a batch."""
    if mode == "single":
        return value[0]
    if mode == "batch" and value.ndim >= 2 and value.shape[1] == 1:
        return value[:, 0]
    return value


def stack_feeds(net: Network, x) -> tuple[dict[str, Array], str]:
    """Stacked feeds from an array (single-input model) or a dict of arrays; all must agree on S and convention."""
    if not isinstance(x, dict):
        if len(net.inputs) != 1:
            raise InputError(f"model has inputs {[t.name for t in net.inputs]}: pass a dict of arrays")
        x = {net.inputs[0].name: x}
    feeds, modes, sizes = {}, set(), set()
    for name, value in x.items():
        feeds[name], mode = stack_points(net, name, value)
        modes.add(mode)
        sizes.add(feeds[name].shape[0])
    if not feeds:
        raise InputError("no input values given")
    if len(modes) > 1 or len(sizes) > 1:
        raise InputError(f"inputs disagree on stacking: sizes {sorted(sizes)}, conventions {sorted(modes)}")
    return feeds, modes.pop()


def resolve_output(net: Network, name: str | None) -> str:
    """The output tensor to explain: ``name`` or the single output."""
    if name is None:
        if len(net.outputs) != 1:
            raise InputError(f"model has outputs {[o.name for o in net.outputs]}: name one with output_name=")
        return net.outputs[0].name
    if name not in {o.name for o in net.outputs} and name not in net.tensors:
        raise InputError(f"no output named {name!r}; outputs: {[o.name for o in net.outputs]}")
    return name


def target_kind(net: Network, kind: str | None) -> str:
    """``"logit"`` or ``"probability"``; None means probability when a Softmax was cut off the model's end."""
    if kind is None:
        return "probability" if net.origin.post_processing == "softmax" else "logit"
    if kind not in KINDS:
        raise InputError(f"output must be one of {KINDS} (or None), got {kind!r}")
    return kind


def target_index(shape: tuple[int, ...], target, values: Array | None = None) -> tuple[int, ...]:
    """Validate a target against an output model shape; None is the predicted unit (argmax of ``values``)."""
    if target is None:
        if values is None:
            raise InputError("target=None needs the output values to pick the predicted class")
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(values)), shape))
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not shape:
            raise InputError("the output is a scalar: use target=() or None")
        if any(d != 1 for d in shape[:-1]):
            raise InputError(
                f"output shape {list(shape)} has several non-class axes: give target as an index "
                f"tuple of length {len(shape)}"
            )
        if not 0 <= int(target) < shape[-1]:
            raise InputError(
                f"target class {int(target)} out of range: the output has {shape[-1]} classes "
                f"(0..{shape[-1] - 1})"
            )
        return (0,) * (len(shape) - 1) + (int(target),)
    try:
        idx = tuple(int(i) for i in target)
    except (TypeError, ValueError):
        raise InputError(f"target must be None, a class index or an index tuple, got {target!r}") from None
    if len(idx) != len(shape) or any(not 0 <= i < d for i, d in zip(idx, shape)):
        raise InputError(f"target index {idx} out of range for output shape {list(shape)}")
    return idx


def one_hot(shape: tuple[int, ...], indices: list[tuple[int, ...]]) -> Array:
    """Stacked cotangent ``(S, *shape)`` with a 1 at each point's target index."""
    cot = np.zeros((len(indices),) + tuple(shape))
    for s, idx in enumerate(indices):
        cot[(s,) + idx] = 1.0
    return cot


def softmax(z: Array, axis: int) -> Array:
    """Numerically stable softmax of a stacked array over stacked axis ``axis``."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_cotangent(logits: Array, cotangent: Array, axis: int) -> tuple[Array, Array]:
    """Probabilities and the cotangent on the logits for a cotangent on the probabilities (stacked axis)."""
    p = softmax(logits, axis)
    return p, p * (cotangent - (cotangent * p).sum(axis=axis, keepdims=True))


def _reduce(values: Array) -> Array:
    return values.reshape(values.shape[0], -1).sum(axis=1)


# -- the provider interface ---------------------------------------------------------------------------------
class GradientProvider:
    """Computes stacked outputs and stacked VJPs ``d<cotangent, target>/d(wrt)`` from stacked feeds."""

    name: ClassVar[str] = ""
    precision: ClassVar[str] = "float64"
    exact: ClassVar[bool] = True

    def __init__(self, net: Network) -> None:
        self.net = net

    def outputs(self, feeds: dict[str, Array], output: str) -> Array:
        """The output tensor, stacked, at the fed points."""
        raise NotImplementedError

    def vjp(
        self,
        feeds: dict[str, Array],
        output: str,
        cotangent: Array,
        wrt: str,
        softmax_axis: int | None = None,
    ) -> Array:
        """Gradient of ``<cotangent, target>`` w.r.t. tensor ``wrt``, stacked ``(S, *shape)``, in float64.

        The target is the output tensor, or its softmax over model axis ``softmax_axis``.
        """
        raise NotImplementedError

    def target_values(
        self, feeds: dict[str, Array], output: str, cotangent: Array, softmax_axis: int | None = None
    ) -> Array:
        """``<cotangent, target>`` per point, shape ``(S,)``."""
        out = np.asarray(self.outputs(feeds, output), dtype=np.float64)
        if softmax_axis is not None:
            out = softmax(out, softmax_axis + 1)
        return _reduce(out * cotangent)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, precision={self.precision})"


@register_provider
class IRProvider(GradientProvider):
    """Exact reverse mode over the IR in float64 (exact for piecewise-linear networks away from kinks)."""

    name = "ir"

    def outputs(self, feeds, output):
        return self.net.run(feeds, [output])[output]

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        cot = cotangent
        if softmax_axis is not None:
            _, cot = softmax_cotangent(self.outputs(feeds, output), cotangent, softmax_axis + 1)
        return np.asarray(self.net.vjp(feeds, output, cot, [wrt])[wrt], dtype=np.float64)


@register_provider
class OnnxProvider(GradientProvider):
    """An ONNX forward + VJP graph emitted from the IR, run batched by onnxruntime in float32."""

    name = "onnx"
    precision = "float32"

    def __init__(self, net: Network, batch_size: int | None = None) -> None:
        super().__init__(net)
        self.batch_size = batch_size
        self._graphs: dict[tuple, GradientGraph] = {}

    def graph(
        self, feeds: list[str], output: str, wrt: list[str], softmax_axis: int | None = None
    ) -> GradientGraph:
        """The (cached) gradient graph for these fed tensors, output, gradient tensors and target kind."""
        key = (tuple(sorted(feeds)), output, tuple(wrt), softmax_axis)
        if key not in self._graphs:
            self._graphs[key] = build_gradient_graph(self.net, sorted(feeds), output, list(wrt), softmax_axis)
        return self._graphs[key]

    def save(
        self,
        path: str | os.PathLike,
        *,
        tensor: str | None = None,
        output: str | None = None,
        probability: bool = False,
    ) -> Path:
        """Save the graph computing the gradient w.r.t. ``tensor`` (default: the input) from the model inputs."""
        out = resolve_output(self.net, output)
        feeds = [i.name for i in self.net.inputs]
        wrt = tensor or self.net.input.name
        axis = len(self.net.tensor(out).shape) - 1 if probability else None
        return self.graph(feeds, out, [wrt], axis).save(path)

    def _run(self, feeds, output, cotangent, wrt, softmax_axis):
        g = self.graph(list(feeds), output, [wrt], softmax_axis)
        s = next(iter(feeds.values())).shape[0]
        step = self.batch_size or s
        targets, grads = [], []
        for i in range(0, s, step):
            t, gr = g.run({k: v[i : i + step] for k, v in feeds.items()}, cotangent[i : i + step])
            targets.append(t)
            grads.append(gr[wrt])
        return np.concatenate(targets), np.concatenate(grads)

    def outputs(self, feeds, output):
        s = next(iter(feeds.values())).shape[0]
        zero = np.zeros((s,) + self.net.tensor(output).shape)
        return self._run(feeds, output, zero, output, None)[0].astype(np.float64)  # wrt itself: no VJP nodes

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        return self._run(feeds, output, cotangent, wrt, softmax_axis)[1].astype(np.float64)


# -- onnxruntime on original or external ONNX models -------------------------------------------------------
def _session(model: onnx.ModelProto):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element types of the model's tensors from onnx shape inference (best effort)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001  (inference is only a hint; some valid models defeat it)
        inferred = model
    g = inferred.graph
    types = {vi.name: vi.type.tensor_type.elem_type for vi in [*g.value_info, *g.input, *g.output]}
    types.update({t.name: t.data_type for t in g.initializer})
    return types


def _node_inputs(node: onnx.NodeProto) -> list[str]:
    """A node's inputs, plus every name its subgraphs read (they may refer to outer-scope tensors)."""
    names = list(node.input)
    for a in node.attribute:
        for g in [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs):
            for n in g.node:
                names.extend(_node_inputs(n))
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
            stack.extend(_node_inputs(producer[t]))
    if missing:
        raise GradientError(
            f"{label}: computing {outputs} needs model input(s) {sorted(missing)}, which were not given"
        )
    types = _elem_types(model)
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
                self.session = _session(self._declare(model, symbolic=True))
                self.batched = self._check(np.random.default_rng(seed))
            except Exception:  # noqa: BLE001  (onnxruntime errors derive from Exception only; then run per point)
                self.session, self.batched = None, False
        if self.session is None:
            self.session = _session(self._declare(model, symbolic=False))

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


def _load(model, label: str) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, bytes | bytearray):
        return onnx.load_from_string(bytes(model))
    path = Path(model)
    if not path.is_file():
        raise GradientError(f"{label}: ONNX model file not found: {path}")
    return onnx.load(str(path))


@register_provider
class FDProvider(GradientProvider):
    """Central finite differences through onnxruntime on the original ONNX model, batched.

    Step per coordinate ``h_i = step`` or ``eps32**(1/3) * max(1, |x_i|)``; the difference is divided by the
    float32 distance actually taken. Error: O(h²) plus a few ``eps32 * |f| / h`` from float32 outputs (see
    the module docstring); near a ReLU or MaxPool kink within h of the point, the average of the two sides.
    A gradient w.r.t. an internal tensor uses the model cut at that tensor (it becomes an input).
    """

    name = "fd"
    precision = "float32"
    exact = False

    def __init__(
        self,
        net: Network,
        model=None,
        step: float | None = None,
        batch_size: int | None = None,
        input_scale: float | None = None,
        warn_ratio: float = 0.05,
    ) -> None:
        super().__init__(net)
        source = model if model is not None else net.origin.source
        if source is None or isinstance(source, str) and source.startswith("<"):
            raise GradientError(
                "the fd provider runs the original ONNX model: pass model=<path, bytes or "
                "ModelProto> (the network was not loaded from a file)"
            )
        self.label = source if isinstance(source, str | os.PathLike) else "<model>"
        self.model = _load(source, str(self.label))
        if step is not None and not (np.isfinite(step) and step > 0):
            raise InputError(f"fd step must be a positive finite number, got {step!r}")
        self.step, self.batch_size, self.input_scale, self.warn_ratio = (
            step,
            batch_size,
            input_scale,
            warn_ratio,
        )
        self._sessions: dict[tuple, BatchedSession] = {}

    def _onnx_name(self, tensor: str) -> str:
        return self.net.origin.output_names.get(tensor, tensor)

    def session(self, fed: list[str], output: str) -> tuple[BatchedSession, list[str]]:
        """The (cached) batched session computing ``output`` from the fed tensors, and the tensors it reads."""
        key = (tuple(sorted(fed)), output)
        if key not in self._sessions:
            onnx_out = self._onnx_name(output)
            cut, reached = cut_model(self.model, sorted(fed), [onnx_out], str(self.label))
            size = max(int(np.prod(self.net.tensor(t).shape)) for t in reached) if reached else 1
            rows = self.batch_size or int(np.clip(2**22 // max(size, 1), 1, 2048))
            sess = BatchedSession(
                cut,
                {t: self.net.tensor(t).shape for t in reached},
                [onnx_out],
                {onnx_out: self.net.tensor(output).shape},
                rows=rows,
            )
            self._sessions[key] = sess
        sess = self._sessions[key]
        return sess, list(sess.shapes)

    def outputs(self, feeds, output):
        sess, reached = self.session(list(feeds), output)
        s = next(iter(feeds.values())).shape[0]
        return sess.run({t: feeds[t] for t in reached}, s)[self._onnx_name(output)]

    def steps(self, x: Array) -> Array:
        """Step per coordinate for points ``x``: the fixed step, or ``eps32**(1/3) * max(1, |x|)``."""
        if self.step is not None:
            return np.full(x.shape, float(self.step))
        return EPS32 ** (1.0 / 3.0) * np.maximum(1.0, np.abs(x))

    def _check_step(self, x: Array, h: Array) -> None:
        scale = self.input_scale if self.input_scale is not None else float(np.abs(x).max())
        if h.max() > self.warn_ratio * scale:
            warnings.warn(
                f"fd step {h.max():.2g} is large relative to the input scale {scale:.2g} (max |x|); "
                f"finite differences may be inaccurate: pass step= or rescale the input",
                stacklevel=3,
            )

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        self.net.tensor(wrt)
        if wrt not in feeds:  # an internal tensor: evaluate it, then differentiate the model cut there
            feeds = {**feeds, wrt: self.outputs(feeds, wrt)}
        _, reached = self.session(list(feeds), output)
        if wrt not in reached:
            return np.zeros_like(feeds[wrt], dtype=np.float64)
        x = np.asarray(feeds[wrt], dtype=np.float64)
        h = self.steps(x)
        self._check_step(x, h)
        return np.stack(
            [
                self.partial(
                    {k: feeds[k][s] for k in reached}, output, cotangent[s], wrt, softmax_axis, h=h[s]
                ).reshape(x.shape[1:])
                for s in range(x.shape[0])
            ]
        )

    def partial(
        self,
        point: dict[str, Array],
        output: str,
        cotangent: Array,
        wrt: str,
        softmax_axis: int | None = None,
        coordinates: Array | None = None,
        h: Array | None = None,
    ) -> Array:
        """Central differences at one point for the flat ``coordinates`` of ``wrt`` (all by default)."""
        sess, reached = self.session(list(point), output)
        x = np.asarray(point[wrt], dtype=np.float64).reshape(-1)
        coords = np.arange(x.size) if coordinates is None else np.asarray(coordinates, dtype=np.int64)
        steps = (self.steps(x) if h is None else np.asarray(h).reshape(-1))[coords]
        xf = x.astype(np.float32)
        plus = (x[coords] + steps).astype(np.float32)
        minus = (x[coords] - steps).astype(np.float32)
        denom = plus.astype(np.float64) - minus.astype(np.float64)
        grad = np.zeros(coords.size)
        onnx_out = self._onnx_name(output)
        chunk = max(1, sess.rows // 2)
        for i in range(0, coords.size, chunk):
            c = coords[i : i + chunk]
            k = c.size
            rows = np.repeat(xf[None], 2 * k, axis=0)
            rows[np.arange(k), c] = plus[i : i + k]
            rows[k + np.arange(k), c] = minus[i : i + k]
            fed = {t: np.repeat(np.asarray(point[t])[None], 2 * k, axis=0) for t in reached if t != wrt}
            fed[wrt] = rows.reshape((2 * k,) + self.net.tensor(wrt).shape)
            out = sess.run(fed)[onnx_out]
            if softmax_axis is not None:
                out = softmax(out, softmax_axis + 1)
            f = _reduce(out * cotangent[None])
            grad[i : i + k] = (f[:k] - f[k:]) / denom[i : i + k]
        if coordinates is not None:
            return grad
        return grad.reshape(np.shape(point[wrt]))


@register_provider
class ExternalProvider(GradientProvider):
    """A user-supplied ONNX model that outputs the gradient, run batched through onnxruntime.

    ``gradient_output`` names the gradient output. The model takes points in the network's layout (batched
    along a leading 1 axis when possible) or stacks ``(S, *shape)``. With ``cotangent_input`` the model takes a cotangent on
    the network output (any target works; probability targets get the softmax chain rule applied with the
    IR's logits). Without it the model differentiates one fixed unit: give it as ``target`` (an index tuple
    into the output) and ``kind``; other targets are refused. Outputs (for completeness checks) come from
    the IR.
    """

    name = "external"
    precision = "float32"

    def __init__(
        self,
        net: Network,
        model=None,
        gradient_output: str | None = None,
        input_name: str | None = None,
        cotangent_input: str | None = None,
        target=None,
        kind: str = "logit",
        tensor: str | None = None,
        output: str | None = None,
    ) -> None:
        super().__init__(net)
        if model is None or not gradient_output:
            raise GradientError(
                "the external provider needs model=<ONNX gradient model> and gradient_output=<name>"
            )
        self.model = _load(model, "external gradient model")
        self.tensor = tensor or net.input.name
        self.output = resolve_output(net, output)
        g = self.model.graph
        inits = {t.name for t in g.initializer}
        ins = [i.name for i in g.input if i.name not in inits]
        if gradient_output not in {o.name for o in g.output}:
            raise GradientError(
                f"external gradient model has no output {gradient_output!r}; outputs: "
                f"{[o.name for o in g.output]}"
            )
        if cotangent_input is not None and cotangent_input not in ins:
            raise GradientError(f"external gradient model has no input {cotangent_input!r}; inputs: {ins}")
        rest = [i for i in ins if i != cotangent_input]
        self.input_name = input_name or (
            self.tensor if self.tensor in rest else (rest[0] if len(rest) == 1 else None)
        )
        if self.input_name not in rest:
            raise GradientError(
                f"external gradient model: name the input that takes tensor {self.tensor!r} with "
                f"input_name=; inputs: {rest}"
            )
        self.gradient_output, self.cotangent_input = gradient_output, cotangent_input
        out_shape = net.tensor(self.output).shape
        self.fixed = None if target is None else target_index(out_shape, target)
        if cotangent_input is None and self.fixed is None:
            raise GradientError(
                "external gradient model without a cotangent input: give the unit it "
                "differentiates as target="
            )
        self.kind = target_kind(net, kind)
        shapes = {self.input_name: net.tensor(self.tensor).shape}
        if cotangent_input:
            shapes[cotangent_input] = out_shape
        declared = next(i for i in g.input if i.name == self.input_name).type.tensor_type.shape.dim
        # a model taking stacks (S, *shape), like the graphs `OnnxProvider.save` writes, is run as is
        self.stacked = len(declared) == len(shapes[self.input_name]) + 1
        self.session = (
            _session(self.model)
            if self.stacked
            else BatchedSession(
                self.model, shapes, [gradient_output], {gradient_output: net.tensor(self.tensor).shape}
            )
        )

    def outputs(self, feeds, output):
        return self.net.run(feeds, [output])[output]

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        if wrt != self.tensor or set(feeds) != {wrt} or output != self.output:
            raise GradientError(
                f"the external gradient model gives d({self.output})/d({self.tensor}) from "
                f"{self.tensor!r} alone; asked for d({output})/d({wrt}) from {sorted(feeds)}"
            )
        run = {self.input_name: feeds[wrt]}
        if self.cotangent_input is None:
            want = one_hot(cotangent.shape[1:], [self.fixed] * cotangent.shape[0])
            kind = "logit" if softmax_axis is None else "probability"
            if kind != self.kind or not np.array_equal(cotangent, want):
                raise GradientError(
                    f"the external gradient model differentiates the {self.kind} of unit "
                    f"{self.fixed}; asked for another target ({kind})"
                )
        else:
            cot = cotangent
            if softmax_axis is not None:
                _, cot = softmax_cotangent(self.outputs(feeds, output), cotangent, softmax_axis + 1)
            run[self.cotangent_input] = cot
        if self.stacked:
            types = {i.name: i.type for i in self.session.get_inputs()}
            run = {k: np.asarray(v, np.int64 if "int64" in types[k] else np.float32) for k, v in run.items()}
            return np.asarray(self.session.run([self.gradient_output], run)[0], dtype=np.float64)
        return self.session.run(run)[self.gradient_output]


# -- the public entry point ---------------------------------------------------------------------------------
def gradient(
    net: Network,
    x,
    *,
    target=None,
    tensor: str | None = None,
    output: str | None = None,
    output_name: str | None = None,
    provider: str | GradientProvider = "ir",
    batch_size: int | None = None,
    **provider_options,
) -> Array:
    """Gradient of one output unit (logit or softmax probability) w.r.t. ``tensor`` at the points ``x``.

    ``x`` holds model inputs (array or dict, the IR's point conventions); ``tensor`` defaults to the single
    input; ``target`` is a class index, an index tuple into the output, or None for each point's predicted
    unit; ``output`` is "logit" or "probability", None meaning what the ONNX model outputs (probability when a
    Softmax was cut off its end). The result has ``tensor``'s shape in the same convention as ``x``.
    """
    feeds, mode = stack_feeds(net, x)
    out = resolve_output(net, output_name)
    kind = target_kind(net, output)
    wrt = tensor if tensor is not None else (net.input.name if len(net.inputs) == 1 else None)
    if wrt is None:
        raise InputError(f"model has inputs {[t.name for t in net.inputs]}: name the tensor with tensor=")
    if net.tensor(wrt).dtype.startswith(("int", "uint")):
        raise GradientError(f"tensor {wrt!r} holds integer ids ({net.tensor(wrt).dtype}); it has no gradient")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    prov = get_provider(provider, net, **provider_options)
    shape = net.tensor(out).shape
    axis = len(shape) - 1 if kind == "probability" else None
    s = next(iter(feeds.values())).shape[0]
    values = prov.outputs(feeds, out) if target is None else None
    idx = [target_index(shape, target, None if values is None else values[i]) for i in range(s)]
    cot = one_hot(shape, idx)
    step = batch_size or s
    parts = [
        prov.vjp({k: v[i : i + step] for k, v in feeds.items()}, out, cot[i : i + step], wrt, axis)
        for i in range(0, s, step)
    ]
    return unstack(np.concatenate(parts), mode if _tensor_follows(net, wrt, mode) else "stacked")


def _tensor_follows(net: Network, tensor: str, mode: str) -> bool:
    """True when results for ``tensor`` can use the input's convention (a batch needs a leading 1 axis)."""
    shape = net.tensor(tensor).shape
    return mode != "batch" or bool(shape) and shape[0] == 1


def required_inputs(net: Network, output: str, fed: set[str]) -> list[str]:
    """Model inputs the output still needs when the tensors in ``fed`` are given (e.g. skip connections)."""
    inputs = {i.name for i in net.inputs}
    need = set()
    for n in needed_nodes(net, [output], fed | inputs):
        need.update(t for t in n.inputs if t in inputs and t not in fed)
    if output in inputs and output not in fed:
        need.add(output)
    return sorted(need)
