"""The network IR: a DAG of ops over named tensors with static shapes, evaluated exactly in float64 numpy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smugkit.errors import InputError, ModelError
from smugkit.guard import check_shape
from smugkit.ir.base import Array, Op

ACTIVATIONS = ("Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh")
WEIGHTED = ("Dense", "MatMulLeft", "Conv")


@dataclass(frozen=True)
class TensorInfo:
    """A named tensor with a static model shape (batch axis included) and a numpy dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class FirstLayer:
    """The first layer for SMUG: an affine map from the input to ``pre``, then an element-wise activation."""

    layer: str  # node name of the last Dense / Conv / MatMulLeft before the activation
    kind: str  # its op type
    pre: str  # pre-activation tensor: an affine function of the model input
    activation: str  # activation node name
    activation_type: str
    post: str  # post-activation tensor
    affine_part: tuple[str, ...]  # the affine nodes that compute ``pre`` from the input


@dataclass(frozen=True)
class ModelOrigin:
    """Where a `Network` came from, as its frontend recorded it; the defaults describe a network built in code."""

    source: str | None = None  # label for messages: the file path, or "<bytes>" / "<ModelProto>"
    producer: str = ""  # the exporter's name and version, as written in the file
    opset: int | None = None  # the default-domain opset the model was converted under
    notes: tuple[str, ...] = ()  # what the frontend changed: folds, kept ops, cut post-processing
    post_processing: str | None = None  # "softmax" / "log_softmax" when one was cut off the outputs
    output_names: Mapping[str, str] = field(default_factory=dict)  # IR output tensor -> original output name
    model: Any = (
        None  # the validated original model (an onnx.ModelProto), kept ONNX-free here; for onnxruntime
    )


@dataclass
class Network:
    """A DAG of IR ops in topological order. Values carry a leading stack axis internally (see `ir.base`)."""

    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    nodes: list[Op]
    tensors: dict[str, TensorInfo]
    origin: ModelOrigin = field(default_factory=ModelOrigin)

    def __post_init__(self) -> None:
        self._producer = {n.output: n for n in self.nodes}
        self._consumers: dict[str, list[Op]] = {}
        for n in self.nodes:
            for t in n.inputs:
                self._consumers.setdefault(t, []).append(n)

    # -- structure -------------------------------------------------------------------------------------
    @property
    def input(self) -> TensorInfo:
        """The single model input (error if the model has several)."""
        if len(self.inputs) != 1:
            raise ModelError(
                f"model has {len(self.inputs)} inputs ({[t.name for t in self.inputs]}); name one"
            )
        return self.inputs[0]

    @property
    def output(self) -> TensorInfo:
        """The single network output (error if there are several)."""
        if len(self.outputs) != 1:
            raise ModelError(
                f"model has {len(self.outputs)} outputs ({[t.name for t in self.outputs]}); name one"
            )
        return self.outputs[0]

    def producer(self, tensor: str) -> Op | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: str) -> list[Op]:
        return list(self._consumers.get(tensor, []))

    def node(self, name: str) -> Op:
        for n in self.nodes:
            if n.name == name:
                return n
        raise InputError(f"no node named {name!r}; nodes: {[n.name for n in self.nodes]}")

    def tensor(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise InputError(f"no tensor named {name!r}; valid tensors: {sorted(self.tensors)}") from None

    def num_params(self) -> int:
        return sum(n.num_params() for n in self.nodes)

    def first_layer(self) -> FirstLayer:
        """Name the first layer for SMUG: the affine part of the network up to its first activation.

        Everything from the input to the first non-affine op must be affine (normalisation, layout
        transposes, bias adds, even stacked linear layers) and contain a weighted op; that op must be an
        element-wise activation. Its input is the pre-activation, an affine function of the model input.
        """
        affine: list[Op] = []
        for n in self.nodes:
            if n.affine:
                affine.append(n)
                continue
            weighted = [m for m in affine if m.op_type in WEIGHTED and self._feeds(m.output, n.inputs[0])]
            if n.op_type in ACTIVATIONS and weighted:
                layer = weighted[-1]
                part = tuple(m.name for m in affine if self._feeds(m.output, n.inputs[0]))
                return FirstLayer(layer.name, layer.op_type, n.inputs[0], n.name, n.op_type, n.output, part)
            if weighted:
                raise ModelError(
                    f"first weighted layer {weighted[-1].op_type} {weighted[-1].name!r} is followed by "
                    f"{n.op_type} {n.name!r}; SMUG needs an activation ({', '.join(ACTIVATIONS)}) "
                    f"after the first layer"
                )
            if n.op_type == "Embedding":
                raise ModelError(
                    f"node {n.name!r} is an embedding look-up of token ids; explain text models on their "
                    f"embeddings: smugkit explain MODEL --text TEXT --vocab VOCAB (smugkit.text)"
                )
            raise ModelError(
                f"node {n.name!r} ({n.op_type}) comes before any weighted layer and is not affine"
            )
        raise ModelError(
            "the model has no activation after a Dense/Gemm/MatMul/Conv layer with constant weights"
        )

    def _feeds(self, tensor: str, target: str) -> bool:
        """True when ``target`` is ``tensor`` or is computed from it."""
        if tensor == target:
            return True
        p = self.producer(target)
        return p is not None and any(self._feeds(tensor, t) for t in p.inputs)

    # -- evaluation ------------------------------------------------------------------------------------
    def _prepare(self, feeds) -> tuple[dict[str, Array], str, int]:
        """Check feeds and return them stacked, the calling convention and the stack size."""
        if not isinstance(feeds, dict):
            if len(self.inputs) != 1:
                raise InputError(f"model has inputs {[t.name for t in self.inputs]}: pass a dict of arrays")
            feeds = {self.inputs[0].name: feeds}
        out: dict[str, Array] = {}
        modes, sizes = set(), set()
        for name, value in feeds.items():
            info = self.tensor(name)
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise InputError(f"input {name!r}: expected a numeric array, got dtype {arr.dtype}")
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise InputError(f"input {name!r} contains NaN or Inf values")
            shape = info.shape
            if arr.shape == shape:
                mode, arr = "single", arr[None]
            elif arr.shape[1:] == shape:
                mode = "stacked"
            elif shape and shape[0] == 1 and arr.ndim == len(shape) and arr.shape[1:] == shape[1:]:
                mode, arr = "batch", arr[:, None]
            else:
                raise InputError(
                    f"input {name!r}: expected shape {list(shape)} (or a stack of them), "
                    f"got {list(arr.shape)}"
                )
            if info.dtype.startswith("int"):
                arr = self._ids(name, arr)
            else:
                arr = arr.astype(np.float64, copy=False)  # the ops never write into their inputs
            out[name] = arr
            modes.add(mode)
            sizes.add(arr.shape[0])
        if len(sizes) > 1 or len(modes) > 1:
            raise InputError(
                f"inputs disagree on stacking: sizes {sorted(sizes)}, conventions {sorted(modes)}"
            )
        return out, modes.pop(), sizes.pop()

    def _ids(self, name: str, arr: Array) -> Array:
        """Integer inputs as int64: whole numbers, within the tables of the Embedding ops that read them."""
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            raise InputError(f"input {name!r} takes integer ids; got non-integer values")
        arr = arr.astype(np.int64)
        for c in self.consumers(name):
            n = c.params["table"].shape[0] if c.op_type == "Embedding" else None
            if n is not None and arr.size and (arr.min() < -n or arr.max() >= n):
                raise InputError(
                    f"input {name!r}: ids must lie in [0, {n}) for {c.op_type} {c.name!r}; "
                    f"got values from {arr.min()} to {arr.max()}"
                )
        return arr

    @staticmethod
    def _unstack(value: Array, mode: str) -> Array:
        if mode == "single":
            return value[0]
        if mode == "batch" and value.ndim >= 2 and value.shape[1] == 1:
            return value[:, 0]
        return value

    def _schedule(self, wanted: list[str], fed: set[str]) -> list[Op]:
        """The nodes needed to compute ``wanted`` from the fed tensors, in topological order."""
        need: set[str] = set()
        stack = [w for w in wanted if w not in fed]
        while stack:
            t = stack.pop()
            p = self.producer(t)
            if p is None:
                raise InputError(f"tensor {t!r} is a model input that was not given")
            if p.name in need:
                continue
            need.add(p.name)
            stack.extend(i for i in p.inputs if i not in fed)
        return [n for n in self.nodes if n.name in need]

    def point_bytes(self) -> int:
        """Bytes the memory guard counts per stacked point in a forward pass: the largest tensor with its
        input (float64), or an op's largest temporary (a Conv's im2col windows) if bigger."""
        big = max((t.size for t in self.tensors.values()), default=0)
        scratch = max(
            (
                n.scratch_size([self.tensors[t].shape for t in n.inputs], self.tensors[n.output].shape)
                for n in self.nodes
            ),
            default=0,
        )
        return 8 * max(2 * big, scratch)

    def _evaluate(self, values: dict[str, Array], wanted: list[str], keep_all: bool) -> dict[str, Array]:
        order = self._schedule(wanted, set(values))
        last_use: dict[str, int] = {}
        for i, n in enumerate(order):
            for t in n.inputs:
                last_use[t] = i
        keep = set(wanted) | set(values)
        stack = next(iter(values.values())).shape[0] if values else 1
        if order:  # the largest tensor, held with its input at once, for every point of the stack
            big = max(order, key=lambda n: self.tensors[n.output].size)
            check_shape(
                (stack, *self.tensors[big.output].shape),
                f"a forward pass over {stack} point(s): tensor {big.output!r} ({big.op_type} {big.name!r})",
                count=2,
            )
        for i, n in enumerate(order):
            try:
                y = n.forward(*(values[t] for t in n.inputs))
                if not n.inputs:  # a constant: give it the stack axis of the other values
                    y = np.broadcast_to(y, (stack,) + y.shape[1:])
                values[n.output] = y
            except (ValueError, IndexError, FloatingPointError) as e:
                shapes = [list(values[t].shape[1:]) for t in n.inputs]
                raise ModelError(
                    f"node {n.name!r} ({n.op_type}) failed on inputs of shapes {shapes}: {e}"
                ) from e
            if not keep_all:
                for t in n.inputs:
                    if last_use.get(t) == i and t not in keep:
                        values.pop(t, None)
        return values

    def run(self, feeds, outputs: list[str] | None = None) -> dict[str, Array]:
        """Evaluate the network on ``feeds`` (an array or ``{name: array}``; internal tensors may be fed too).

        An array of the input's model shape gives model-shaped results; a stack ``(S, *shape)`` gives stacked
        results; for a model with batch size 1, a batch ``(N, *shape[1:])`` gives ``(N, ...)`` results.
        """
        values, mode, _ = self._prepare(feeds)
        wanted = list(outputs) if outputs is not None else [o.name for o in self.outputs]
        for w in wanted:
            self.tensor(w)
        values = self._evaluate(values, wanted, keep_all=False)
        return {w: self._unstack(values[w], mode) for w in wanted}

    def __call__(self, x) -> Array:
        """Evaluate the single output on ``x``."""
        return self.run(x)[self.output.name]

    def vjp(self, feeds, output: str, cotangent, wrt: list[str]) -> dict[str, Array]:
        """Reverse-mode vector-Jacobian product: d<cotangent, output>/d(tensor) for each tensor in ``wrt``."""
        values, mode, _ = self._prepare(feeds)
        fed = set(values)
        self.tensor(output)
        for w in wrt:
            self.tensor(w)
        values = self._evaluate(values, [output] + list(wrt), keep_all=True)
        gy = np.asarray(cotangent, dtype=np.float64)
        want = values[output].shape
        if mode == "single":
            gy = gy[None]
        elif mode == "batch":
            gy = gy.reshape((gy.shape[0], 1) + gy.shape[1:]) if gy.ndim == len(want) - 1 else gy
        if gy.shape != want:
            raise InputError(
                f"cotangent for {output!r}: expected shape {list(self._unstack(values[output], mode).shape)}, "
                f"got {list(np.shape(cotangent))}"
            )
        grads: dict[str, Array] = {output: gy}
        for n in reversed(self._schedule([output], fed)):
            g = grads.get(n.output)
            if g is None:
                continue
            for t, gt in zip(n.inputs, n.vjp([values[t] for t in n.inputs], values[n.output], g)):
                if gt is not None:
                    grads[t] = grads[t] + gt if t in grads else gt
        result = {}
        for w in wrt:
            g = grads.get(w)
            result[w] = self._unstack(
                g if g is not None else np.zeros_like(values[w], dtype=np.float64), mode
            )
        return result

    def bounds(self, lower, upper) -> dict[str, tuple[Array, Array]]:
        """Interval bounds of every tensor for inputs in the box ``[lower, upper]`` (arrays or dicts)."""
        lo, mode_lo, _ = self._prepare(lower)
        hi, mode_hi, _ = self._prepare(upper)
        if mode_lo != "single" or mode_hi != "single":
            raise InputError(f"bounds take one box of the input's model shape {list(self.input.shape)}")
        for k in lo:
            if np.any(lo[k] > hi[k]):
                raise InputError(f"box for {k!r}: lower bound exceeds upper bound somewhere")
        box = {k: (lo[k], hi[k]) for k in lo}
        for n in self.nodes:
            if any(t not in box for t in n.inputs):
                continue
            l, h = n.bounds([box[t][0] for t in n.inputs], [box[t][1] for t in n.inputs])
            box[n.output] = (l, h)
        return {k: (v[0][0], v[1][0]) for k, v in box.items()}
