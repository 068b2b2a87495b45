"""Pooling over 2-D (or 1-D) windows: MaxPool, AveragePool and GlobalAveragePool."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.ir.base import Op, register
from smugkit.ir.linear import Spatial2D, scatter_windows, window_view


class _WindowPool(Op, Spatial2D):
    """Pooling over windows: monotone in its input, so the bounds are the images of the box's corners."""

    def bounds(self, los, his):
        return self.forward(los[0]), self.forward(his[0])

    def describe(self) -> str:
        a = self.attrs
        return f"kernel={list(a['kernel'])} stride={list(a['strides'])} pads={list(a['pads4'])}"


@register
@dataclass
class MaxPool(_WindowPool):
    """Max over windows; attrs as for Conv (``kernel``, ``strides``, ``dilations``, ``pads4``, ``one_d``).

    ``pads4`` already includes the extra end padding that ``ceil_mode`` asks for; padding never wins a max.
    """

    op_type = "MaxPool"
    piecewise_linear = True

    def _cols(self, x):
        x4, lead = self._to4(x)
        cols = window_view(
            self._pad(x4, -np.inf), self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]
        )
        return cols, lead, x4

    def forward(self, x):
        cols, lead, _ = self._cols(x)
        return self._from4(cols.max(axis=(4, 5)), lead, self.attrs["one_d"])

    def vjp(self, xs, y, gy):
        cols, lead, x4 = self._cols(xs[0])
        b, c, oh, ow, kh, kw = cols.shape
        arg = cols.reshape(b, c, oh, ow, kh * kw).argmax(axis=-1)
        gy4, _ = self._to4(gy)
        onehot = (arg[..., None] == np.arange(kh * kw)).reshape(b, c, oh, ow, kh, kw)
        dcols = onehot * gy4[..., None, None]
        g = scatter_windows(
            dcols, self._pad(x4).shape, self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]
        )
        return [self._from4(self._unpad(g), lead, self.attrs["one_d"])]


@register
@dataclass
class AveragePool(_WindowPool):
    """Mean over windows; ``count_include_pad`` decides whether padded zeros count in the divisor."""

    op_type = "AveragePool"
    affine = True

    def divisor(self, x4):
        """Per output window, the count the window sum is divided by (shape ``(1, 1, OH, OW)``)."""
        if self.attrs["count_include_pad"]:
            ones = np.ones((1, 1) + x4.shape[2:])
            t, l, b, r = self.attrs["pads4"]
            # explicit pads count; the ceil_mode extension beyond them does not (ONNX semantics)
            ext = self.attrs.get("ceil_extra", (0, 0))
            ones = np.pad(ones, ((0, 0), (0, 0), (t, b - ext[0]), (l, r - ext[1])), constant_values=1.0)
            ones = np.pad(ones, ((0, 0), (0, 0), (0, ext[0]), (0, ext[1])))
        else:
            ones = self._pad(np.ones((1, 1) + x4.shape[2:]))
        cnt = window_view(ones, self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]).sum(
            axis=(4, 5)
        )
        return cnt

    def forward(self, x):
        x4, lead = self._to4(x)
        cols = window_view(
            self._pad(x4), self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]
        )
        y = cols.sum(axis=(4, 5)) / self.divisor(x4)
        return self._from4(y, lead, self.attrs["one_d"])

    def vjp(self, xs, y, gy):
        x4, lead = self._to4(xs[0])
        gy4, _ = self._to4(gy)
        kh, kw = self.attrs["kernel"]
        g = gy4 / self.divisor(x4)
        dcols = np.broadcast_to(g[..., None, None], g.shape + (kh, kw))
        gx = scatter_windows(
            dcols, self._pad(x4).shape, self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]
        )
        return [self._from4(self._unpad(gx), lead, self.attrs["one_d"])]


@register
@dataclass
class GlobalAveragePool(Op):
    """Mean over every spatial axis, keeping them as size-1 axes."""

    op_type = "GlobalAveragePool"
    affine = True

    def forward(self, x):
        return x.mean(axis=tuple(range(3, x.ndim)), keepdims=True)

    def vjp(self, xs, y, gy):
        x = xs[0]
        n = int(np.prod(x.shape[3:]))
        return [np.broadcast_to(gy / n, x.shape).copy()]

    def bounds(self, los, his):
        return self.forward(los[0]), self.forward(his[0])
