"""Element-wise arithmetic with numpy broadcasting: Add, Sub, Mul, Div (constants or tensors) and affine scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.ir.base import Array, Op, align, register, unbroadcast


@dataclass
class Binary(Op):
    """``y = a (op) b`` where either operand may be a constant, held in ``params['c0']`` / ``params['c1']``.

    ``inputs`` lists the variable operands in order; ``attrs['slots']`` says which operand positions
    (0, 1) they fill; ``attrs['rank']`` is the output rank used for broadcasting.
    """

    def _operands(self, xs) -> list[Array]:
        rank = self.attrs["rank"]
        it = iter(xs)
        return [
            align(next(it), rank, True)
            if i in self.attrs["slots"]
            else align(self.params[f"c{i}"], rank, False)
            for i in range(2)
        ]

    def forward(self, *xs: Array) -> Array:
        a, b = self._operands(xs)
        return self.combine(a, b)

    def combine(self, a: Array, b: Array) -> Array:
        raise NotImplementedError

    def partials(self, a: Array, b: Array, gy: Array) -> tuple[Array, Array]:
        raise NotImplementedError

    def vjp(self, xs, y, gy):
        a, b = self._operands(xs)
        ga, gb = self.partials(a, b, gy)
        grads = {0: ga, 1: gb}
        return [
            unbroadcast(np.broadcast_to(grads[s], gy.shape), x.shape[1:])
            for s, x in zip(self.attrs["slots"], xs)
        ]

    def bounds(self, los, his):
        (alo, blo), (ahi, bhi) = self._operands(los), self._operands(his)
        return self.interval(alo, ahi, blo, bhi)

    def describe(self) -> str:
        consts = [f"const{list(self.params[f'c{i}'].shape)}" for i in range(2) if f"c{i}" in self.params]
        return " ".join(consts)


@register
@dataclass
class Add(Binary):
    op_type = "Add"
    affine = True

    def combine(self, a, b):
        return a + b

    def partials(self, a, b, gy):
        return gy, gy

    def interval(self, alo, ahi, blo, bhi):
        return alo + blo, ahi + bhi


@register
@dataclass
class Sub(Binary):
    op_type = "Sub"
    affine = True

    def combine(self, a, b):
        return a - b

    def partials(self, a, b, gy):
        return gy, -gy

    def interval(self, alo, ahi, blo, bhi):
        return alo - bhi, ahi - blo


def _product_bounds(alo, ahi, blo, bhi):
    c = np.stack(np.broadcast_arrays(alo * blo, alo * bhi, ahi * blo, ahi * bhi))
    return c.min(axis=0), c.max(axis=0)


@register
@dataclass
class Mul(Binary):
    op_type = "Mul"

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return len(self.attrs["slots"]) < 2

    def combine(self, a, b):
        return a * b

    def partials(self, a, b, gy):
        return gy * b, gy * a

    def interval(self, alo, ahi, blo, bhi):
        return _product_bounds(alo, ahi, blo, bhi)


@register
@dataclass
class Div(Binary):
    op_type = "Div"

    @property
    def affine(self) -> bool:  # type: ignore[override]
        return self.attrs["slots"] == [0]

    def combine(self, a, b):
        return a / b

    def partials(self, a, b, gy):
        return gy / b, -gy * a / (b * b)

    def interval(self, alo, ahi, blo, bhi):
        if np.any((blo <= 0) & (bhi >= 0)):
            inf = np.full(np.broadcast_shapes(alo.shape, blo.shape), np.inf)
            spans = (blo <= 0) & (bhi >= 0)
            lo, hi = _product_bounds(
                alo, ahi, 1.0 / np.where(spans, 1.0, bhi), 1.0 / np.where(spans, 1.0, blo)
            )
            return np.where(spans, -inf, lo), np.where(spans, inf, hi)
        return _product_bounds(alo, ahi, 1.0 / bhi, 1.0 / blo)


@register
@dataclass
class Affine(Op):
    """``y = x * scale + shift`` with constant broadcastable ``scale``/``shift`` (an unfused BatchNormalization)."""

    op_type = "Affine"
    affine = True

    def forward(self, x: Array) -> Array:
        return x * self.params["scale"] + self.params["shift"]

    def vjp(self, xs, y, gy):
        return [unbroadcast(gy * self.params["scale"], xs[0].shape[1:])]

    def bounds(self, los, his):
        a, b = self.forward(los[0]), self.forward(his[0])
        return np.minimum(a, b), np.maximum(a, b)

    def describe(self) -> str:
        return f"scale/shift{list(self.params['scale'].shape)}"
