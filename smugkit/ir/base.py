"""The op contract of the IR: numeric forward, vector-Jacobian product and interval bounds on stacked arrays.

Every tensor value inside the IR carries one extra leading *stack* axis (``S``) in front of the model's own
shape, so a batch of points (IG steps, finite differences, bound boxes) runs through a model whose batch
dimension is fixed. Constants (weights) never carry the stack axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

Array = np.ndarray
OPS: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Add an op class to the registry under its ``op_type``."""
    OPS[cls.op_type] = cls
    return cls


@dataclass
class Op:
    """One node of the network: ``output = f(*inputs)`` with weights held in ``params``."""

    op_type: ClassVar[str] = "Op"
    #: True when the op is affine in its variable inputs (shape ops included).
    affine: ClassVar[bool] = False
    #: True when the op only moves or copies entries (no arithmetic).
    shape_only: ClassVar[bool] = False

    name: str
    inputs: list[str]
    output: str
    params: dict[str, Array] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)

    def forward(self, *xs: Array) -> Array:
        raise NotImplementedError

    def vjp(self, xs: list[Array], y: Array, gy: Array) -> list[Array | None]:
        """Cotangent of each input given the cotangent ``gy`` of the output (None: not differentiable)."""
        raise NotImplementedError

    def bounds(self, los: list[Array], his: list[Array]) -> tuple[Array, Array]:
        """Sound interval bounds of the output for inputs in the boxes ``[los[i], his[i]]``."""
        raise NotImplementedError

    def num_params(self) -> int:
        return int(sum(np.size(p) for p in self.params.values()))

    def scratch_size(self, in_shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        """Entries of the largest temporary the forward pass makes per point beyond its output (0: none);
        the memory guard and batch sizing count it."""
        return 0

    def describe(self) -> str:
        """A short human summary of the attributes, for `smugkit inspect`."""
        return ", ".join(f"{k}={v}" for k, v in self.attrs.items() if v is not None)


def affine_bounds(f, flin, lo: Array, hi: Array) -> tuple[Array, Array]:
    """Interval bounds of an affine map via centre and radius: ``f(c) ± |L|(r)`` where ``flin=|L|``."""
    c = (lo + hi) / 2.0
    r = (hi - lo) / 2.0
    yc = f(c)
    yr = flin(r)
    return yc - yr, yc + yr


def monotone_bounds(op: Op, los: list[Array], his: list[Array]) -> tuple[Array, Array]:
    """Bounds of an element-wise non-decreasing op: the images of the box corners."""
    return op.forward(los[0]), op.forward(his[0])


def align(x: Array, rank: int, stacked: bool) -> Array:
    """Reshape a value so it broadcasts against a stacked array of model rank ``rank``."""
    if stacked:
        return x.reshape((x.shape[0],) + (1,) * (rank - (x.ndim - 1)) + x.shape[1:])
    return x.reshape((1,) * (rank + 1 - x.ndim) + x.shape)


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum a stacked cotangent down to the stacked shape ``(S, *shape)`` it was broadcast from."""
    target = (g.shape[0],) + (1,) * (g.ndim - 1 - len(shape)) + tuple(shape)
    axes = tuple(i for i in range(1, g.ndim) if target[i] == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape((g.shape[0],) + tuple(shape))
