"""Emit an ONNX graph that computes a network's forward pass and its vector-Jacobian product (float32).

The graph is built from the IR, op by op: transposed MatMuls for dense layers, ConvTranspose for
convolutions (groups, dilations, pads and strides included), ``Where``/``Greater`` masks for ReLU-like ops,
MaxPool indices with ``ScatterElements`` for max-pool routing, and ``Gather``/``ScatterElements`` for index
maps. onnxruntime runs it batched: every tensor carries a leading symbolic stack axis ``S`` in front of the
model's own shape, as inside the IR. Values and gradients are float32 (onnxruntime's usual precision), so
they agree with the float64 IR to float32 rounding. The graph can be saved and run anywhere onnxruntime runs.

Graph interface: inputs are the fed tensors (their IR names, shape ``[S, *model_shape]``) and ``cotangent``
(shape ``[S, *output_shape]``); outputs are ``target`` (the output tensor, or its softmax over the class
axis when asked) and one gradient per requested tensor (``grad`` or ``grad:<name>``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from smugkit.errors import GradientError, InputError
from smugkit.ir import Network, Op

OPSET = 18
F32 = np.float32
I64 = np.int64


class _Builder:
    """Accumulates nodes and initializers under fresh, collision-free names."""

    def __init__(self, taken: set[str]) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._taken = set(taken)
        self._k = 0
        self.stack_ref = ""  # a graph input whose first axis is the stack axis

    def fresh(self, hint: str) -> str:
        while True:
            self._k += 1
            name = f"_{hint}_{self._k}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def const(self, value, dtype=F32, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(values, dtype=I64).reshape(-1), I64, "i")

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs):
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0], **attrs))
        return outs[0] if n_out == 1 else outs

    def reshape(self, x: str, tail) -> str:
        """Reshape to ``(S, *tail)``."""
        if 0 in tuple(tail):  # an empty tensor: -1 cannot be inferred, so spell S out (and keep the zeros)
            shape = self.op("Concat", [self.op("Shape", [x], start=0, end=1), self.ints(tail)], axis=0)
            return self.op("Reshape", [x, shape], allowzero=1)
        return self.op("Reshape", [x, self.ints([-1, *tail])])

    def zeros_like_stack(self, x: str, tail) -> str:
        """Zeros of shape ``(S, *tail)`` where S is the first axis of ``x``."""
        s = self.op("Shape", [x], start=0, end=1)
        shape = self.op("Concat", [s, self.ints(tail)], axis=0) if len(tail) else s
        return self.op("ConstantOfShape", [shape], value=numpy_helper.from_array(np.zeros(1, F32)))


@dataclass
class _Node:
    """One IR op being emitted: its ONNX input/output names, model shapes, and forward extras for the VJP."""

    op: Op
    xs: list[str]
    xshapes: list[tuple[int, ...]]
    yshape: tuple[int, ...]
    y: str = ""
    extra: dict = field(default_factory=dict)


Forward = Callable[[_Builder, _Node], str]
Backward = Callable[[_Builder, _Node, str], list]
EMITTERS: dict[str, tuple[Forward, Backward]] = {}


def emitter(*op_types: str):
    """Register forward and VJP emitters (a class with static ``fwd`` and ``bwd``) for IR op types."""

    def deco(cls):
        for t in op_types:
            EMITTERS[t] = (cls.fwd, cls.bwd)
        return cls

    return deco


def _unbroadcast(b: _Builder, g: str, gshape: tuple[int, ...], xshape: tuple[int, ...]) -> str:
    """Sum a stacked cotangent of model shape ``gshape`` down to ``xshape`` (numpy broadcasting, reversed)."""
    target = (1,) * (len(gshape) - len(xshape)) + tuple(xshape)
    axes = [i + 1 for i, (t, d) in enumerate(zip(target, gshape)) if t == 1 and d != 1]
    if axes:
        g = b.op("ReduceSum", [g, b.ints(axes)], keepdims=1)
    if tuple(gshape) != tuple(xshape):
        g = b.reshape(g, xshape)
    return g


# -- linear layers ------------------------------------------------------------------------------------------
@emitter("Dense")
class _Dense:
    @staticmethod
    def fwd(b, n):
        y = b.op("MatMul", [n.xs[0], b.const(n.op.params["W"])])
        if n.op.params.get("b") is not None:
            y = b.op("Add", [y, b.const(n.op.params["b"])])
        return y

    @staticmethod
    def bwd(b, n, gy):
        w = n.op.params["W"]
        if w.ndim == 1:
            g = b.op("Mul", [b.op("Unsqueeze", [gy, b.ints([-1])]), b.const(w)])
            gshape = np.broadcast_shapes(n.yshape + (1,), w.shape)
        else:
            wt = np.swapaxes(w, -1, -2)
            g = b.op("MatMul", [gy, b.const(wt)])
            gshape = np.matmul(np.zeros((1,) + n.yshape, F32), np.zeros(wt.shape, F32)).shape[1:]
        return [_unbroadcast(b, g, tuple(gshape), n.xshapes[0])]


@emitter("MatMulLeft")
class _MatMulLeft:
    @staticmethod
    def fwd(b, n):
        a = n.op.params["A"]
        if len(n.xshapes[0]) == 1:
            return b.op("MatMul", [n.xs[0], b.const(a.T)])
        return b.op("MatMul", [b.const(a), n.xs[0]])

    @staticmethod
    def bwd(b, n, gy):
        a = n.op.params["A"]
        if len(n.xshapes[0]) == 1:
            return [b.op("MatMul", [gy, b.const(a)])]
        at = np.swapaxes(a, -1, -2)
        g = b.op("MatMul", [b.const(at), gy])
        gshape = np.matmul(np.zeros(at.shape, F32), np.zeros((1,) + n.yshape, F32)).shape[1:]
        return [_unbroadcast(b, g, tuple(gshape), n.xshapes[0])]


def _four(shape: tuple[int, ...], one_d: bool) -> tuple[int, ...]:
    """The per-sample 4-D layout ``(C, H, W)`` (``(C, 1, L)`` for 1-D) used by the ONNX 2-D kernels."""
    return (shape[1], 1, shape[2]) if one_d else tuple(shape[1:])


def _conv_attrs(a: dict, weight_shape) -> dict:
    t, l, bt, r = a["pads4"]
    return {
        "kernel_shape": list(weight_shape[2:]),
        "strides": list(a["strides"]),
        "dilations": list(a["dilations"]),
        "pads": [t, l, bt, r],
    }


def _transposed(b: _Builder, g4: str, w4: str, a: dict, wshape, in4, out4, group: int) -> str:
    """ConvTranspose that is the exact adjoint of the padded, strided, dilated convolution."""
    t, l, bt, r = a["pads4"]
    (sh, sw), (dh, dw) = a["strides"], a["dilations"]
    kh, kw = wshape[2:]
    hp, wp = in4[1] + t + bt, in4[2] + l + r
    oph = hp - (sh * (out4[1] - 1) + (kh - 1) * dh + 1)
    opw = wp - (sw * (out4[2] - 1) + (kw - 1) * dw + 1)
    return b.op("ConvTranspose", [g4, w4], group=group, output_padding=[oph, opw], **_conv_attrs(a, wshape))


@emitter("Conv")
class _Conv:
    @staticmethod
    def _w4(n):
        w = n.op.params["W"]
        return w[:, :, None, :] if n.op.attrs["one_d"] else w

    @staticmethod
    def fwd(b, n):
        a, w4 = n.op.attrs, _Conv._w4(n)
        x4 = b.reshape(n.xs[0], _four(n.xshapes[0], a["one_d"]))
        ins = [x4, b.const(w4)]
        if n.op.params.get("b") is not None:
            ins.append(b.const(n.op.params["b"]))
        y4 = b.op("Conv", ins, group=a["group"], **_conv_attrs(a, w4.shape))
        return b.reshape(y4, n.yshape)

    @staticmethod
    def bwd(b, n, gy):
        a, w4 = n.op.attrs, _Conv._w4(n)
        in4, out4 = _four(n.xshapes[0], a["one_d"]), _four(n.yshape, a["one_d"])
        g4 = _transposed(b, b.reshape(gy, out4), b.const(w4), a, w4.shape, in4, out4, a["group"])
        return [b.reshape(g4, n.xshapes[0])]


# -- element-wise -------------------------------------------------------------------------------------------
def _binary_operands(b: _Builder, n: _Node) -> tuple[list[str], list[tuple[int, ...]]]:
    """Both operands aligned to rank ``attrs['rank'] + 1`` (stack axis first), with their aligned shapes."""
    rank, slots = n.op.attrs["rank"], n.op.attrs["slots"]
    it = iter(zip(n.xs, n.xshapes))
    names, shapes = [], []
    for i in range(2):
        if i in slots:
            x, shape = next(it)
            aligned = (1,) * (rank - len(shape)) + tuple(shape)
            names.append(b.reshape(x, aligned) if aligned != tuple(shape) else x)
        else:
            c = n.op.params[f"c{i}"]
            aligned = (1,) * (rank - c.ndim) + c.shape
            names.append(b.const(c.reshape((1,) + aligned)))
        shapes.append(aligned)
    return names, shapes


@emitter("Add", "Sub", "Mul", "Div")
class _Binary:
    @staticmethod
    def fwd(b, n):
        (a, c), _ = _binary_operands(b, n)
        return b.op(n.op.op_type, [a, c])

    @staticmethod
    def bwd(b, n, gy):
        (a, c), _ = _binary_operands(b, n)
        kind = n.op.op_type
        if kind == "Add":
            parts = (gy, gy)
        elif kind == "Sub":
            parts = (gy, b.op("Neg", [gy]))
        elif kind == "Mul":
            parts = (b.op("Mul", [gy, c]), b.op("Mul", [gy, a]))
        else:
            ga = b.op("Div", [gy, c])
            parts = (ga, b.op("Neg", [b.op("Div", [b.op("Mul", [ga, a]), c])]))
        return [
            _unbroadcast(b, parts[s], tuple(n.yshape), xshape)
            for s, xshape in zip(n.op.attrs["slots"], n.xshapes)
        ]


@emitter("Affine")
class _Affine:
    @staticmethod
    def fwd(b, n):
        y = b.op("Mul", [n.xs[0], b.const(n.op.params["scale"])])
        return b.op("Add", [y, b.const(n.op.params["shift"])])

    @staticmethod
    def bwd(b, n, gy):
        g = b.op("Mul", [gy, b.const(n.op.params["scale"])])
        gshape = np.broadcast_shapes(n.yshape, np.shape(n.op.params["scale"]))
        return [_unbroadcast(b, g, tuple(gshape), n.xshapes[0])]


@emitter("Relu")
class _Relu:
    @staticmethod
    def fwd(b, n):
        return b.op("Relu", [n.xs[0]])

    @staticmethod
    def bwd(b, n, gy):
        return [b.op("Where", [b.op("Greater", [n.xs[0], b.const(0.0)]), gy, b.const(0.0)])]


@emitter("LeakyRelu")
class _LeakyRelu:
    @staticmethod
    def fwd(b, n):
        return b.op("LeakyRelu", [n.xs[0]], alpha=float(n.op.attrs["alpha"]))

    @staticmethod
    def bwd(b, n, gy):
        slope = b.op("Mul", [gy, b.const(n.op.attrs["alpha"])])
        return [b.op("Where", [b.op("Greater", [n.xs[0], b.const(0.0)]), gy, slope])]


@emitter("Clip")
class _Clip:
    @staticmethod
    def fwd(b, n):
        y, lo, hi = n.xs[0], n.op.attrs["min"], n.op.attrs["max"]
        if np.isfinite(lo):
            y = b.op("Max", [y, b.const(lo)])
        if np.isfinite(hi):
            y = b.op("Min", [y, b.const(hi)])
        return y if y != n.xs[0] else b.op("Identity", [y])

    @staticmethod
    def bwd(b, n, gy):
        x, lo, hi = n.xs[0], n.op.attrs["min"], n.op.attrs["max"]
        masks = []
        if np.isfinite(lo):
            masks.append(b.op("GreaterOrEqual", [x, b.const(lo)]))
        if np.isfinite(hi):
            masks.append(b.op("LessOrEqual", [x, b.const(hi)]))
        if not masks:
            return [gy]
        mask = masks[0] if len(masks) == 1 else b.op("And", masks)
        return [b.op("Where", [mask, gy, b.const(0.0)])]


def _exp_neg_abs(b: _Builder, x: str) -> str:
    """``exp(-|x|)``: in (0, 1], the accurate building block of saturating derivatives."""
    return b.op("Exp", [b.op("Neg", [b.op("Abs", [x])])])


@emitter("Sigmoid")
class _Sigmoid:
    @staticmethod
    def fwd(b, n):
        return b.op("Sigmoid", [n.xs[0]])

    @staticmethod
    def bwd(b, n, gy):
        # s'(x) = e / (1 + e)^2 with e = exp(-|x|): accurate in float32 where the sigmoid saturates
        e = _exp_neg_abs(b, n.xs[0])
        one_e = b.op("Add", [e, b.const(1.0)])
        return [b.op("Mul", [gy, b.op("Div", [e, b.op("Mul", [one_e, one_e])])])]


@emitter("Tanh")
class _Tanh:
    @staticmethod
    def fwd(b, n):
        return b.op("Tanh", [n.xs[0]])

    @staticmethod
    def bwd(b, n, gy):
        # 1 - tanh(x)^2 = 4 e / (1 + e)^2 with e = exp(-2|x|): no cancellation where tanh saturates
        e = _exp_neg_abs(b, b.op("Mul", [n.xs[0], b.const(2.0)]))
        one_e = b.op("Add", [e, b.const(1.0)])
        return [b.op("Mul", [gy, b.op("Div", [b.op("Mul", [e, b.const(4.0)]), b.op("Mul", [one_e, one_e])])])]


def _softmax_vjp(b: _Builder, y: str, gy: str, axis: int) -> str:
    """``y * (gy - sum(gy * y))`` over the stacked axis ``axis``."""
    dot = b.op("ReduceSum", [b.op("Mul", [gy, y]), b.ints([axis])], keepdims=1)
    return b.op("Mul", [y, b.op("Sub", [gy, dot])])


@emitter("Softmax")
class _Softmax:
    @staticmethod
    def fwd(b, n):
        return b.op("Softmax", [n.xs[0]], axis=n.op.attrs["axis"] + 1)

    @staticmethod
    def bwd(b, n, gy):
        return [_softmax_vjp(b, n.y, gy, n.op.attrs["axis"] + 1)]


# -- pooling ------------------------------------------------------------------------------------------------
@emitter("MaxPool")
class _MaxPool:
    @staticmethod
    def fwd(b, n):
        a = n.op.attrs
        in4 = _four(n.xshapes[0], a["one_d"])
        x4 = b.reshape(n.xs[0], in4)
        t, l, bt, r = a["pads4"]
        if t or l or bt or r:  # explicit -inf padding: padding never wins a max, as in the IR
            x4 = b.op("Pad", [x4, b.ints([0, 0, t, l, 0, 0, bt, r]), b.const(-np.inf)], mode="constant")
        y4, idx = b.op(
            "MaxPool",
            [x4],
            n_out=2,
            kernel_shape=list(a["kernel"]),
            strides=list(a["strides"]),
            dilations=list(a["dilations"]),
        )
        n.extra.update(padded=x4, idx=idx, padded_shape=(in4[0], in4[1] + t + bt, in4[2] + l + r))
        return b.reshape(y4, n.yshape)

    @staticmethod
    def bwd(b, n, gy):
        a, e = n.op.attrs, n.extra
        flat = b.reshape(e["padded"], ())  # (S * N * C * Hp * Wp,) via Reshape [-1]
        zeros = b.op(
            "ConstantOfShape", [b.op("Shape", [flat])], value=numpy_helper.from_array(np.zeros(1, F32))
        )
        g = b.op(
            "ScatterElements", [zeros, b.reshape(e["idx"], ()), b.reshape(gy, ())], axis=0, reduction="add"
        )
        g4 = b.reshape(g, e["padded_shape"])
        t, l, bt, r = a["pads4"]
        if t or l or bt or r:
            _, hp, wp = e["padded_shape"]
            g4 = b.op("Slice", [g4, b.ints([t, l]), b.ints([hp - bt, wp - r]), b.ints([2, 3])])
        return [b.reshape(g4, n.xshapes[0])]


@emitter("AveragePool")
class _AveragePool:
    """Average pooling as a single-channel convolution with a ones kernel, scaled by the per-window divisor."""

    @staticmethod
    def _parts(n):
        a = n.op.attrs
        in4 = _four(n.xshapes[0], a["one_d"])
        out4 = _four(n.yshape, a["one_d"])
        ones = np.ones((1, 1) + tuple(a["kernel"]), F32)
        inv = 1.0 / n.op.divisor(np.zeros((1,) + in4))  # (1, 1, OH, OW): counts as the IR defines them
        return a, (1,) + in4[1:], (1,) + out4[1:], ones, inv

    @staticmethod
    def fwd(b, n):
        a, in1, _, ones, inv = _AveragePool._parts(n)
        x1 = b.reshape(n.xs[0], in1)
        s = b.op("Conv", [x1, b.const(ones)], **_conv_attrs(a, ones.shape))
        return b.reshape(b.op("Mul", [s, b.const(inv)]), n.yshape)

    @staticmethod
    def bwd(b, n, gy):
        a, in1, out1, ones, inv = _AveragePool._parts(n)
        g1 = b.op("Mul", [b.reshape(gy, out1), b.const(inv)])
        return [b.reshape(_transposed(b, g1, b.const(ones), a, ones.shape, in1, out1, 1), n.xshapes[0])]


@emitter("GlobalAveragePool")
class _GlobalAveragePool:
    @staticmethod
    def fwd(b, n):
        axes = list(range(3, len(n.xshapes[0]) + 1))
        return b.op("ReduceMean", [n.xs[0], b.ints(axes)], keepdims=1)

    @staticmethod
    def bwd(b, n, gy):
        count = int(np.prod(n.xshapes[0][2:]))
        return [b.op("Expand", [b.op("Mul", [gy, b.const(1.0 / count)]), b.op("Shape", [n.xs[0]])])]


# -- shape-only ops -----------------------------------------------------------------------------------------
@emitter("Reshape")
class _Reshape:
    @staticmethod
    def fwd(b, n):
        return b.reshape(n.xs[0], n.yshape)

    @staticmethod
    def bwd(b, n, gy):
        return [b.reshape(gy, n.xshapes[0])]


@emitter("Transpose")
class _Transpose:
    @staticmethod
    def fwd(b, n):
        return b.op("Transpose", [n.xs[0]], perm=[0] + [p + 1 for p in n.op.attrs["perm"]])

    @staticmethod
    def bwd(b, n, gy):
        perm = [0] + [p + 1 for p in n.op.attrs["perm"]]
        return [b.op("Transpose", [gy], perm=[int(i) for i in np.argsort(perm)])]


@emitter("IndexMap")
class _IndexMap:
    """``y.flat[i] = source[index[i]]``: a Gather from the concatenated inputs, constants filled by Where."""

    @staticmethod
    def fwd(b, n):
        idx = n.op.params["index"]
        sizes = list(n.op.attrs["sizes"])
        total = sum(sizes)
        var = idx < total
        fill = n.op.params.get("fill")
        fill_row = np.zeros(idx.size, F32)
        if not var.all():
            fill_row[~var] = np.asarray(fill).reshape(-1)[idx[~var] - total]
        if not n.xs:  # a constant tensor: broadcast it over the stack
            shape = b.op("Concat", [b.op("Shape", [b.stack_ref], start=0, end=1), b.ints([idx.size])], axis=0)
            y = b.op("Expand", [b.const(fill_row[None]), shape])
            return b.reshape(y, n.yshape)
        parts = [b.reshape(x, (size,)) for x, size in zip(n.xs, sizes)]
        src = parts[0] if len(parts) == 1 else b.op("Concat", parts, axis=1)
        y = b.op("Gather", [src, b.const(np.where(var, idx, 0), I64)], axis=1)
        if not var.all():
            y = b.op("Where", [b.const(~var[None], np.bool_), b.const(fill_row[None]), y])
        return b.reshape(y, n.yshape)

    @staticmethod
    def bwd(b, n, gy):
        idx = n.op.params["index"]
        sizes = list(n.op.attrs["sizes"])
        total = sum(sizes)
        pos = np.flatnonzero(idx < total)
        g = b.reshape(gy, (idx.size,))
        src = b.zeros_like_stack(g, (total,))
        if pos.size:
            gsel = g if pos.size == idx.size else b.op("Gather", [g, b.const(pos, I64)], axis=1)
            where = b.op("Expand", [b.const(idx[pos][None], I64), b.op("Shape", [gsel])])
            src = b.op("ScatterElements", [src, where, gsel], axis=1, reduction="add")
        out, start = [], 0
        for size, shape in zip(sizes, n.xshapes):
            part = (
                src
                if len(sizes) == 1
                else b.op("Slice", [src, b.ints([start]), b.ints([start + size]), b.ints([1])])
            )
            out.append(b.reshape(part, shape))
            start += size
        return out


@emitter("Embedding")
class _Embedding:
    @staticmethod
    def fwd(b, n):
        return b.op("Gather", [b.const(n.op.params["table"]), n.xs[0]], axis=0)

    @staticmethod
    def bwd(b, n, gy):
        return [None]  # token ids are not differentiable


# -- graph assembly -----------------------------------------------------------------------------------------
def needed_nodes(net: Network, wanted: list[str], fed: set[str]) -> list[Op]:
    """The IR nodes that compute ``wanted`` from the fed tensors, in topological order."""
    need: set[str] = set()
    stack = [w for w in wanted if w not in fed]
    while stack:
        t = stack.pop()
        p = net.producer(t)
        if p is None:
            raise InputError(
                f"tensor {t!r} is needed but neither fed nor computable from the fed tensors {sorted(fed)}"
            )
        if p.name in need:
            continue
        need.add(p.name)
        stack.extend(i for i in p.inputs if i not in fed)
    return [n for n in net.nodes if n.name in need]


def _onnx_type(dtype: str) -> int:
    return TensorProto.INT64 if dtype.startswith(("int", "uint")) else TensorProto.FLOAT


@dataclass
class GradientGraph:
    """An ONNX model computing ``target`` and VJPs w.r.t. ``wrt`` from ``feeds`` and a ``cotangent`` (float32)."""

    model: onnx.ModelProto
    feeds: tuple[str, ...]
    output: str
    wrt: tuple[str, ...]
    softmax_axis: int | None
    cotangent_name: str
    target_name: str
    grad_names: dict[str, str]
    _session: object = field(default=None, repr=False)

    def save(self, path: str | Path) -> Path:
        """Write the gradient graph as an ONNX file (for use outside smugkit)."""
        path = Path(path)
        onnx.save(self.model, str(path))
        return path

    def session(self):
        """The cached onnxruntime session running this graph on the CPU."""
        if self._session is None:
            from smugkit.runtime.session import make_session

            self._session = make_session(self.model, "the gradient graph")
        return self._session

    def run(
        self, feeds: dict[str, np.ndarray], cotangent: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Stacked target values and gradients (float32) for stacked feeds and a stacked cotangent."""
        inputs = {}
        for name in self.feeds:
            inputs[name] = np.asarray(feeds[name], dtype=I64 if self._is_int(name) else F32)
        inputs[self.cotangent_name] = np.asarray(cotangent, F32)
        names = [self.target_name] + [self.grad_names[w] for w in self.wrt]
        values = self.session().run(names, inputs)
        return values[0], dict(zip(self.wrt, values[1:]))

    def _is_int(self, name: str) -> bool:
        vi = next(i for i in self.model.graph.input if i.name == name)
        return vi.type.tensor_type.elem_type == TensorProto.INT64


def build_gradient_graph(
    net: Network, feeds: list[str], output: str, wrt: list[str], softmax_axis: int | None = None
) -> GradientGraph:
    """Emit the forward pass from ``feeds`` to ``output`` and the VJP of ``<cotangent, target>`` w.r.t. ``wrt``.

    ``softmax_axis`` (a model axis of ``output``) makes the target the softmax of ``output`` over that axis.
    """
    for t in [*feeds, output, *wrt]:
        net.tensor(t)
    for w in wrt:
        if net.tensors[w].dtype.startswith(("int", "uint")):
            raise GradientError(
                f"tensor {w!r} holds integer ids ({net.tensors[w].dtype}); it has no gradient"
            )
    nodes = needed_nodes(net, [output, *wrt], set(feeds))
    missing = sorted({n.op_type for n in nodes} - set(EMITTERS))
    if missing:
        bad = [f"{n.op_type} {n.name!r}" for n in nodes if n.op_type in missing]
        raise GradientError(
            f"cannot emit an ONNX gradient graph for node(s) {', '.join(bad)}: no emitter for "
            f"op type(s) {missing}; supported: {sorted(EMITTERS)}"
        )
    b = _Builder(set(net.tensors) | {"cotangent", "target", "grad"})
    b.stack_ref = feeds[0]
    values = {f: f for f in feeds}
    emitted: dict[str, _Node] = {}
    for op in nodes:
        n = _Node(
            op,
            [values[t] for t in op.inputs],
            [net.tensors[t].shape for t in op.inputs],
            net.tensors[op.output].shape,
        )
        n.y = EMITTERS[op.op_type][0](b, n)
        values[op.output] = n.y
        emitted[op.name] = n
    target = values[output]
    out_shape = net.tensors[output].shape
    if softmax_axis is not None:
        target = b.op("Softmax", [target], axis=softmax_axis + 1)
    target = b.op("Identity", [target])
    cot = "cotangent" if "cotangent" not in net.tensors else b.fresh("cotangent")
    grads: dict[str, str] = {
        output: _softmax_vjp(b, target, cot, softmax_axis + 1) if softmax_axis is not None else cot
    }
    active = _depends_on(net, nodes, set(wrt))
    for op in reversed(nodes):
        gy = grads.get(op.output)
        if gy is None or not any(t in active for t in op.inputs):
            continue
        for t, g in zip(op.inputs, EMITTERS[op.op_type][1](b, emitted[op.name], gy)):
            if g is not None and t in active:
                grads[t] = b.op("Add", [grads[t], g]) if t in grads else g
    grad_names = {w: "grad" if len(wrt) == 1 else f"grad:{w}" for w in wrt}
    outs = []
    for w in wrt:
        g = grads.get(w) or b.op("Mul", [values[w], b.const(0.0)])
        b.nodes.append(helper.make_node("Identity", [g], [grad_names[w]], name=grad_names[w]))
        outs.append(
            helper.make_tensor_value_info(grad_names[w], TensorProto.FLOAT, ["S", *net.tensors[w].shape])
        )
    b.nodes.append(helper.make_node("Identity", [target], ["target"], name="target"))
    inputs = [
        helper.make_tensor_value_info(f, _onnx_type(net.tensors[f].dtype), ["S", *net.tensors[f].shape])
        for f in feeds
    ]
    inputs.append(helper.make_tensor_value_info(cot, TensorProto.FLOAT, ["S", *out_shape]))
    outs.insert(0, helper.make_tensor_value_info("target", TensorProto.FLOAT, ["S", *out_shape]))
    graph = helper.make_graph(b.nodes, "smugkit_gradient", inputs, outs, initializer=b.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=9,
        producer_name="smugkit.runtime.vjp_graph",
    )
    sm = "" if softmax_axis is None else f" (softmax over axis {softmax_axis})"
    model.doc_string = (
        f"forward and vector-Jacobian product of {output!r}{sm} w.r.t. {list(wrt)}; float32; "
        f"leading axis S stacks points"
    )
    onnx.checker.check_model(model)
    return GradientGraph(model, tuple(feeds), output, tuple(wrt), softmax_axis, cot, "target", grad_names)


def _depends_on(net: Network, nodes: list[Op], sources: set[str]) -> set[str]:
    """Tensors among ``sources`` and the outputs of ``nodes`` that are computed from some source."""
    active = set(sources)
    for n in nodes:
        if any(t in active for t in n.inputs):
            active.add(n.output)
    return active
