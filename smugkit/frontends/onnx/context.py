"""The state of one ONNX → IR conversion, and the small API converters use to read inputs and add ops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx

from smugkit.errors import ModelError
from smugkit.guard import check_shape
from smugkit.ir import Op


@dataclass
class Context:
    """Constants, aliases, shapes and IR ops so far, plus the notes and the unsupported nodes to report."""

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
        """The tensor an ONNX name stands for after aliasing (Identity, Dropout, folds)."""
        while name in self.alias:
            name = self.alias[name]
        return name

    def is_const(self, name: str) -> bool:
        """True for a constant tensor (or an omitted optional input)."""
        return name == "" or self.resolve(name) in self.consts

    def const(self, name: str) -> np.ndarray:
        """The value of a constant tensor."""
        return self.consts[self.resolve(name)]

    def arg(self, node: onnx.NodeProto, k: int) -> str:
        """The resolved name of the node's ``k``-th input ("" when it is omitted)."""
        return self.resolve(node.input[k]) if k < len(node.input) and node.input[k] else ""

    def arg_shape(self, node: onnx.NodeProto, k: int = 0) -> tuple[int, ...]:
        """The model shape of the node's ``k``-th input."""
        return self.shapes[self.arg(node, k)]

    def fresh(self, base: str) -> str:
        """A tensor name starting with ``base`` that is not taken yet (for intermediate IR tensors)."""
        k, name = 0, base
        taken = set(self.shapes) | set(self.consts)
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        return name

    def producer_op(self, tensor: str) -> Op | None:
        """The IR op that last wrote ``tensor``, if any."""
        for n in reversed(self.nodes):
            if n.output == tensor:
                return n
        return None

    def add(self, op: Op) -> None:
        """Append an op and record its output shape by evaluating it on zeros."""
        ins = []
        for t in op.inputs:
            check_shape(self.shapes[t], f"{self.label}: input {t!r} of node {op.name!r} ({op.op_type})")
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

    def make_alias(self, output: str, x: str) -> None:
        """Make ``output`` another name of ``x``; its ONNX consumers become consumers of ``x`` (for folding)."""
        self.alias[output] = x
        self.onnx_consumers[x] = self.onnx_consumers.get(x, 0) - 1 + self.onnx_consumers.get(output, 0)

    def take_over(self, prod: Op, output: str) -> None:
        """Let ``prod`` produce a folded node's output directly, so IR and ONNX tensor names keep their values."""
        old = prod.output
        prod.output = output
        self.shapes[output] = self.shapes[old]
        self.dtypes[output] = self.dtypes.get(old, "float32")
        self.alias[old] = output

    def reject(self, node: onnx.NodeProto, name: str, why: str) -> None:
        """Record a node the IR cannot express (reported with all others at the end); its outputs are unknown."""
        self.unsupported.setdefault(why, []).append(name)
        self.unknown.update(node.output)


#: A converter turns one ONNX node into IR ops: ``fn(ctx, node, name, attrs)`` calls ``ctx.add`` or ``ctx.reject``.
Converter = Callable[[Context, onnx.NodeProto, str, dict], None]


def attrs(node: onnx.NodeProto) -> dict:
    """The node's attributes as Python values."""
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
