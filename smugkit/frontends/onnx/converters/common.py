"""Helpers shared by converters of several op families: layout transposes, spatial attributes, axes."""

from __future__ import annotations

import math

import numpy as np
import onnx

from smugkit.frontends.onnx.context import Context
from smugkit.ir import shape_ops as so

F64 = np.float64


def transpose(ctx: Context, name: str, x: str, perm, out: str | None = None) -> str:
    """Add a Transpose of ``x`` (to a fresh tensor unless ``out`` is given); returns the output tensor."""
    out = out or ctx.fresh(f"{x}_T")
    ctx.add(so.Transpose(name=name, inputs=[x], output=out, attrs={"perm": tuple(perm)}))
    return out


def spatial(a: dict, in_shape: tuple[int, ...], kernel: list[int], ceil_mode: bool = False) -> dict | None:
    """Normalise kernel/stride/dilation/pads (auto_pad, ceil_mode) to 2-D attrs; None if not 1-D/2-D."""
    nsp = len(in_shape) - 2
    if nsp not in (1, 2):
        return None
    strides = list(a.get("strides", [1] * nsp))
    dil = list(a.get("dilations", [1] * nsp))
    pads = list(a.get("pads", [0] * 2 * nsp))
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode("utf-8", "replace") if isinstance(auto, bytes) else auto
    _check_spatial(nsp, kernel, strides, dil, pads, auto)
    size = in_shape[2:]
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * 2 * nsp
        for i in range(nsp):
            out = math.ceil(size[i] / strides[i])
            total = max(0, (out - 1) * strides[i] + eff[i] - size[i])
            small, big = total // 2, total - total // 2
            pads[i], pads[i + nsp] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto == "VALID":
        pads = [0] * 2 * nsp
    extra = [0] * nsp
    if ceil_mode:
        for i in range(nsp):
            span = size[i] + pads[i] + pads[i + nsp] - eff[i]
            out = math.ceil(span / strides[i]) + 1
            if (out - 1) * strides[i] >= size[i] + pads[i]:
                out -= 1
            extra[i] = max(0, (out - 1) * strides[i] + eff[i] - (size[i] + pads[i] + pads[i + nsp]))
            pads[i + nsp] += extra[i]
    if nsp == 1:
        return {
            "kernel": (1, kernel[0]),
            "strides": (1, strides[0]),
            "dilations": (1, dil[0]),
            "pads4": (0, pads[0], 0, pads[1]),
            "one_d": True,
            "ceil_extra": (0, extra[0]),
        }
    return {
        "kernel": tuple(kernel),
        "strides": tuple(strides),
        "dilations": tuple(dil),
        "pads4": (pads[0], pads[1], pads[2], pads[3]),
        "one_d": False,
        "ceil_extra": tuple(extra),
    }


def _check_spatial(nsp: int, kernel, strides, dil, pads, auto) -> None:
    """Attribute values outside the ONNX spec are refused, never interpreted (ValueError, named by the caller)."""
    for label, values, n, low in (
        ("kernel_shape", kernel, nsp, 1),
        ("strides", strides, nsp, 1),
        ("dilations", dil, nsp, 1),
        ("pads", pads, 2 * nsp, 0),
    ):
        if len(values) != n or any(int(v) < low for v in values):
            raise ValueError(f"{label}={list(values)} must hold {n} values >= {low} for {nsp} spatial axes")
    if auto not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
        raise ValueError(f"auto_pad={auto!r} is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")


def flag(a: dict, key: str) -> bool:
    """A 0/1 attribute (ceil_mode, count_include_pad); any other value is refused, not read as true."""
    v = a.get(key, 0)
    if v not in (0, 1):
        raise ValueError(f"{key}={v!r} must be 0 or 1")
    return bool(v)


def axes(ctx: Context, node: onnx.NodeProto, a: dict) -> list[int] | None:
    """The ``axes`` of a reduce/squeeze op: the attribute (old opsets) or the constant second input."""
    if "axes" in a:
        return list(a["axes"])
    if len(node.input) > 1 and node.input[1]:
        return [int(v) for v in np.asarray(ctx.const(node.input[1])).reshape(-1)]
    return None
