"""Weighted linear layers: dense (x @ W + b), left matrix products (A @ x) and N-channel 2-D convolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.guard import check_shape
from smugkit.ir.base import Array, Op, affine_bounds, register, unbroadcast


@register
@dataclass
class Dense(Op):
    """``y = x @ W + b`` over the last axis (ONNX Gemm and MatMul with a constant right operand)."""

    op_type = "Dense"
    affine = True

    @property
    def weight(self) -> Array:
        return self.params["W"]

    @property
    def bias(self) -> Array | None:
        return self.params.get("b")

    def _linear(self, x: Array, w: Array) -> Array:
        if w.ndim <= 2:
            return np.matmul(x, w)
        # a stacked weight: keep the stack axis out of its batch axes (and a 1-D operand a vector)
        one_d = x.ndim == 2
        xm = x[:, None, :] if one_d else x
        pad = w.ndim - (xm.ndim - 1)
        if pad > 0:
            xm = xm.reshape(xm.shape[:1] + (1,) * pad + xm.shape[1:])
        y = np.matmul(xm, w)
        return y[..., 0, :] if one_d else y

    def forward(self, x: Array) -> Array:
        y = self._linear(x, self.weight)
        return y if self.bias is None else y + self.bias

    def vjp(self, xs, y, gy):
        w = self.weight
        x = xs[0]
        if w.ndim == 1:
            g = gy[..., None] * w
        elif w.ndim > 2 and x.ndim == 2:
            g = np.matmul(gy[..., None, :], np.swapaxes(w, -1, -2))[..., 0, :]
        else:
            g = np.matmul(gy, np.swapaxes(w, -1, -2))
        return [unbroadcast(g, x.shape[1:]) if g.shape != x.shape else g]

    def bounds(self, los, his):
        absw = np.abs(self.weight)
        return affine_bounds(self.forward, lambda r: self._linear(r, absw), los[0], his[0])

    def describe(self) -> str:
        return f"W{list(self.weight.shape)}" + ("" if self.bias is None else " + b")


@register
@dataclass
class MatMulLeft(Op):
    """``y = A @ x`` with a constant left matrix ``A`` (ONNX MatMul with the constant first)."""

    op_type = "MatMulLeft"
    affine = True

    def _apply(self, a: Array, x: Array) -> Array:
        if x.ndim == 2:  # model-level 1-D operand: A @ v for each stacked row
            return x @ a.T
        return np.matmul(a, x)

    def forward(self, x: Array) -> Array:
        return self._apply(self.params["A"], x)

    def vjp(self, xs, y, gy):
        a = self.params["A"]
        x = xs[0]
        g = gy @ a if x.ndim == 2 else np.matmul(np.swapaxes(a, -1, -2), gy)
        return [unbroadcast(g, x.shape[1:])]

    def bounds(self, los, his):
        absa = np.abs(self.params["A"])
        return affine_bounds(self.forward, lambda r: self._apply(absa, r), los[0], his[0])

    def describe(self) -> str:
        return f"A{list(self.params['A'].shape)} @ x"


def window_view(xp: Array, kernel, strides, dilations) -> Array:
    """Strided view ``(B, C, OH, OW, KH, KW)`` of the dilated kernel windows of a padded ``(B,C,H,W)`` array."""
    kh, kw = kernel
    dh, dw = dilations
    sh, sw = strides
    eff = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    v = np.lib.stride_tricks.sliding_window_view(xp, eff, axis=(2, 3))
    return v[:, :, ::sh, ::sw, ::dh, ::dw]


def scatter_windows(dcols: Array, padded_shape, kernel, strides, dilations) -> Array:
    """Adjoint of `window_view`: add ``(B, C, OH, OW, KH, KW)`` window values back into a padded array."""
    out = np.zeros(padded_shape, dtype=dcols.dtype)
    _, _, oh, ow, kh, kw = dcols.shape
    sh, sw = strides
    dh, dw = dilations
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += (
                dcols[:, :, :, :, i, j]
            )
    return out


class Spatial2D:
    """Helpers shared by 2-D windowed ops: fold stack/batch axes and lift 1-D spatial inputs to 2-D."""

    def _to4(self, x: Array) -> tuple[Array, tuple[int, ...]]:
        lead = x.shape[:2]  # stack axis and model batch axis
        spatial = x.shape[3:]
        x4 = x.reshape((lead[0] * lead[1], x.shape[2]) + spatial)
        if len(spatial) == 1:
            x4 = x4[:, :, None, :]
        return x4, lead

    @staticmethod
    def _from4(y4: Array, lead, one_d: bool) -> Array:
        if one_d:
            y4 = y4[:, :, 0, :]
        return y4.reshape(tuple(lead) + y4.shape[1:])

    def _pad(self, x4: Array, value: float = 0.0) -> Array:
        t, l, b, r = self.attrs["pads4"]
        if t == l == b == r == 0:
            return x4
        return np.pad(x4, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)

    def _unpad(self, g4: Array) -> Array:
        t, l, b, r = self.attrs["pads4"]
        return g4[:, :, t : g4.shape[2] - b, l : g4.shape[3] - r]


@register
@dataclass
class Conv(Op, Spatial2D):
    """Grouped 2-D (or 1-D) convolution with explicit pads, strides and dilations; depthwise included.

    attrs: ``kernel``, ``strides``, ``dilations`` (2-tuples), ``pads4`` (top, left, bottom, right), ``group``,
    ``one_d`` (the model's tensors have one spatial axis).
    """

    op_type = "Conv"
    affine = True

    @property
    def weight(self) -> Array:
        return self.params["W"]

    @property
    def bias(self) -> Array | None:
        return self.params.get("b")

    def _w4(self, w: Array) -> Array:
        return w[:, :, None, :] if self.attrs["one_d"] else w

    def _conv(self, x: Array, w: Array, bias: Array | None) -> Array:
        x4, lead = self._to4(x)
        w4 = self._w4(w)
        g = self.attrs["group"]
        cols = window_view(
            self._pad(x4), self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]
        )
        b, c, oh, ow, kh, kw = cols.shape
        check_shape(cols.shape, f"the im2col windows of Conv {self.name!r}", itemsize=x4.dtype.itemsize)
        m = w4.shape[0]
        # im2col as one batched matmul (BLAS): (b, g, oh*ow, c/g*kh*kw) @ (g, c/g*kh*kw, m/g)
        cols = cols.reshape(b, g, c // g, oh, ow, kh, kw).transpose(0, 1, 3, 4, 2, 5, 6)
        cols = np.ascontiguousarray(cols).reshape(b, g, oh * ow, (c // g) * kh * kw)
        wg = w4.reshape(g, m // g, (c // g) * kh * kw).transpose(0, 2, 1)
        y = np.matmul(cols, wg).transpose(0, 1, 3, 2).reshape(b, m, oh, ow)
        if bias is not None:
            y = y + bias[None, :, None, None]
        return self._from4(y, lead, self.attrs["one_d"])

    def forward(self, x: Array) -> Array:
        return self._conv(x, self.weight, self.bias)

    def scratch_size(self, in_shapes, out_shape) -> int:
        """The im2col windows: every output position times the input channels times the kernel."""
        kh, kw = self.attrs["kernel"]
        out = int(np.prod(out_shape, dtype=object))
        return out // max(1, int(out_shape[1])) * int(in_shapes[0][1]) * int(kh) * int(kw)

    def vjp(self, xs, y, gy):
        x4, lead = self._to4(xs[0])
        gy4, _ = self._to4(gy)
        w4 = self._w4(self.weight)
        g = self.attrs["group"]
        b, m, oh, ow = gy4.shape
        c = x4.shape[1]
        kh, kw = w4.shape[2:]
        wg = w4.reshape(g, m // g, (c // g) * kh * kw)
        gyg = gy4.reshape(b, g, m // g, oh * ow).transpose(0, 1, 3, 2)  # (b, g, oh*ow, m/g)
        dcols = np.matmul(gyg, wg).reshape(b, g, oh, ow, c // g, kh, kw)
        dcols = dcols.transpose(0, 1, 4, 2, 3, 5, 6).reshape(b, c, oh, ow, kh, kw)
        padded = self._pad(x4).shape
        gx4 = scatter_windows(
            dcols, padded, self.attrs["kernel"], self.attrs["strides"], self.attrs["dilations"]
        )
        return [self._from4(self._unpad(gx4), lead, self.attrs["one_d"])]

    def bounds(self, los, his):
        absw = np.abs(self.weight)
        return affine_bounds(self.forward, lambda r: self._conv(r, absw, None), los[0], his[0])

    def describe(self) -> str:
        a = self.attrs
        return (
            f"W{list(self.weight.shape)} stride={list(a['strides'])} pads={list(a['pads4'])} "
            f"dil={list(a['dilations'])} group={a['group']}"
        )
