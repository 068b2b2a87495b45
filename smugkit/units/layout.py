"""Where the image is inside a model input: the one layout detector (NCHW, NHWC, HW, flat)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network

LAYOUTS = ("auto", "NCHW", "NHWC", "CHW", "HWC", "HW", "flat")


@dataclass(frozen=True)
class ImageLayout:
    """How the model input's axes map to an image: which axes are height, width and channels."""

    input_shape: tuple[int, ...]
    name: str  # NCHW, NHWC, HW, flat-square or flat
    height: int
    width: int
    channels: int
    #: the input array viewed as (H, W, C) via ``to_hwc``; these axes index the input itself
    h_axis: int | None
    w_axis: int | None
    c_axis: int | None

    def to_hwc(self, x: np.ndarray) -> np.ndarray:
        """View a model-shaped array as ``(H, W, C)``."""
        x = np.asarray(x).reshape(self.input_shape)
        if self.name in ("flat-square", "flat"):
            return x.reshape(self.height, self.width, 1)
        axes = [self.h_axis, self.w_axis] + ([self.c_axis] if self.c_axis is not None else [])
        rest = [a for a in range(x.ndim) if a not in axes]
        y = np.transpose(x, rest + axes).reshape(self.height, self.width, self.channels)
        return y

    def from_hw(self, plane: np.ndarray) -> np.ndarray:
        """Broadcast an ``(H, W)`` plane over the channels back to the model input shape."""
        return self.from_hwc(np.asarray(plane)[:, :, None])

    def from_hwc(self, image: np.ndarray) -> np.ndarray:
        """An ``(H, W, C)`` image (C may be 1 and is then broadcast) in the model input's shape."""
        hwc = np.broadcast_to(np.asarray(image), (self.height, self.width, self.channels))
        if self.name in ("flat-square", "flat"):
            return hwc.reshape(self.input_shape).copy()
        axes = [self.h_axis, self.w_axis] + ([self.c_axis] if self.c_axis is not None else [])
        rest = [a for a in range(len(self.input_shape)) if a not in axes]
        perm = rest + axes
        shaped = hwc.reshape([self.input_shape[a] for a in perm])
        return np.transpose(shaped, np.argsort(perm)).copy()


def detect_layout(
    net: Network, layout: str = "auto", image_shape: tuple[int, int] | None = None
) -> ImageLayout:
    """Find the image axes of the (single) model input; ``layout`` overrides the guess."""
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    shape = net.input.shape
    core = core_shape(shape)
    off = len(shape) - len(core)
    if layout == "auto":
        first = net.consumers(net.input.name)
        channels_last = (
            bool(first)
            and first[0].op_type == "Transpose"
            and tuple(first[0].attrs["perm"])[-3:] == (3, 1, 2)
        )
        layout = guess_layout(core, channels_last=channels_last, name=net.input.name, shape=shape)
    if layout in ("NCHW", "CHW") and len(core) == 3:
        return ImageLayout(shape, "NCHW", core[1], core[2], core[0], off + 1, off + 2, off)
    if layout in ("NHWC", "HWC") and len(core) == 3:
        return ImageLayout(shape, "NHWC", core[0], core[1], core[2], off, off + 1, off + 2)
    if layout == "HW" and len(core) == 2:
        return ImageLayout(shape, "HW", core[0], core[1], 1, off, off + 1, None)
    if layout == "flat" and len(core) == 1:
        n = core[0]
        if image_shape is not None:
            h, w = image_shape
            if h * w != n:
                raise InputError(f"image shape {h}x{w} does not match the flat input of {n} values")
            return ImageLayout(shape, "flat-square", h, w, 1, None, None, None)
        side = math.isqrt(n)
        if side * side == n:
            return ImageLayout(shape, "flat-square", side, side, 1, None, None, None)
        return ImageLayout(shape, "flat", 1, n, 1, None, None, None)
    raise InputError(
        f"input {net.input.name!r} of shape {list(shape)} is not an image in layout {layout!r}; "
        f"choose --layout among {', '.join(LAYOUTS[1:])}"
    )


def core_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape without a leading batch axis of 1."""
    return tuple(shape[1:]) if len(shape) >= 2 and shape[0] == 1 else tuple(shape)


def guess_layout(
    core: tuple[int, ...],
    *,
    channels_last: bool = False,
    name: str = "input",
    shape: tuple[int, ...] | None = None,
) -> str:
    """The layout of an input whose shape without the batch axis is ``core``: NCHW, NHWC, HW or flat.

    ``channels_last`` says the model transposes the input NHWC -> NCHW first (as TensorFlow exports do).
    """
    if len(core) == 3:
        if channels_last:
            return "NHWC"
        if core[0] <= 4 < min(core[1:]):
            return "NCHW"
        if core[2] <= 4 < min(core[:2]):
            return "NHWC"
        return "NCHW"
    if len(core) == 2:
        return "HW"
    if len(core) == 1:
        n = core[0]
        if math.isqrt(n) ** 2 == n and n >= 9:
            return "flat"
    raise InputError(
        f"input {name!r} of shape {list(shape or core)} does not look like an image; "
        f"pass layout='flat' (windows over the flat features) or another layout"
    )


def spatial_axes(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Model axes that are space (H, W of an image, the features of a flat input), from `guess_layout`.

    Shapes that are not images (e.g. a flat vector too short to be square) count all their axes as space.
    """
    core = core_shape(tuple(shape))
    off = len(shape) - len(core)
    try:
        layout = guess_layout(core)
    except InputError:
        return tuple(range(off, len(shape)))
    if layout == "NCHW":
        return (off + 1, off + 2)
    if layout == "NHWC":
        return (off, off + 1)
    return tuple(range(off, len(shape)))
