"""Element-wise activations (Relu, LeakyRelu, Clip, Sigmoid, Tanh) and Softmax over one axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.ir.base import Op, monotone_bounds, register


@dataclass
class Monotone(Op):
    """An element-wise non-decreasing activation: bounds are the images of the box ends."""

    piecewise_linear = False

    def bounds(self, los, his):
        return monotone_bounds(self, los, his)


@register
@dataclass
class Relu(Monotone):
    op_type = "Relu"
    piecewise_linear = True

    def forward(self, x):
        return np.maximum(x, 0.0)

    def vjp(self, xs, y, gy):
        return [gy * (xs[0] > 0)]


@register
@dataclass
class LeakyRelu(Monotone):
    op_type = "LeakyRelu"
    piecewise_linear = True

    def forward(self, x):
        return np.where(x > 0, x, self.attrs["alpha"] * x)

    def vjp(self, xs, y, gy):
        return [gy * np.where(xs[0] > 0, 1.0, self.attrs["alpha"])]

    def bounds(self, los, his):
        a, b = self.forward(los[0]), self.forward(his[0])
        if self.attrs["alpha"] >= 0:
            return a, b
        # a negative slope makes a V with its minimum 0 at x = 0
        lo = np.where((los[0] < 0) & (his[0] > 0), 0.0, np.minimum(a, b))
        return lo, np.maximum(a, b)


@register
@dataclass
class Clip(Monotone):
    op_type = "Clip"
    piecewise_linear = True

    def forward(self, x):
        return np.clip(x, self.attrs["min"], self.attrs["max"])

    def vjp(self, xs, y, gy):
        x = xs[0]
        return [gy * ((x >= self.attrs["min"]) & (x <= self.attrs["max"]))]


@register
@dataclass
class Sigmoid(Monotone):
    op_type = "Sigmoid"

    def forward(self, x):
        out = np.empty_like(x, dtype=np.float64)
        pos = x >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
        ex = np.exp(x[~pos])
        out[~pos] = ex / (1.0 + ex)
        return out

    def vjp(self, xs, y, gy):
        return [gy * y * (1.0 - y)]


@register
@dataclass
class Tanh(Monotone):
    op_type = "Tanh"

    def forward(self, x):
        return np.tanh(x)

    def vjp(self, xs, y, gy):
        return [gy * (1.0 - y * y)]


@register
@dataclass
class Softmax(Op):
    """Softmax over the model axis ``attrs['axis']`` (non-negative, model rank)."""

    op_type = "Softmax"

    def forward(self, x):
        ax = self.attrs["axis"] + 1
        z = x - x.max(axis=ax, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=ax, keepdims=True)

    def vjp(self, xs, y, gy):
        ax = self.attrs["axis"] + 1
        return [y * (gy - (gy * y).sum(axis=ax, keepdims=True))]

    def bounds(self, los, his):
        # softmax_i is increasing in x_i and decreasing in every other x_j
        ax = self.attrs["axis"] + 1
        shift = his[0].max(axis=ax, keepdims=True)
        elo, ehi = np.exp(los[0] - shift), np.exp(his[0] - shift)
        with np.errstate(invalid="ignore"):
            lo = elo / (elo + ehi.sum(axis=ax, keepdims=True) - ehi)
            hi = ehi / (ehi + elo.sum(axis=ax, keepdims=True) - elo)
        # 0/0 where every term underflows (boxes hundreds wide): fall back to the trivial bounds [0, 1]
        return np.nan_to_num(lo, nan=0.0), np.minimum(np.nan_to_num(hi, nan=1.0), 1.0)
