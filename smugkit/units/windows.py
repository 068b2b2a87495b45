"""Image windows: a grid of w x w pixel windows (ragged at the right and bottom edges), one mask bit each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.units.base import MaskUnits
from smugkit.units.layout import ImageLayout


@dataclass(frozen=True)
class ImageWindows(MaskUnits):
    """``size`` x ``size`` windows over an image; all channels of a pixel share its window."""

    kind = "window"
    layout: ImageLayout
    size: int
    rows: int
    cols: int

    @property
    def count(self) -> int:
        return self.rows * self.cols

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.layout.input_shape)

    def plane_ids(self) -> np.ndarray:
        """``(H, W)`` array of the window id of each pixel."""
        h, w = self.layout.height, self.layout.width
        return (np.arange(h)[:, None] // self.size) * self.cols + (np.arange(w)[None, :] // self.size)

    def ids(self) -> np.ndarray:
        """Model-input-shaped array of window ids."""
        return self.layout.from_hw(self.plane_ids())

    def plane(self, bits) -> np.ndarray:
        """``(H, W)`` values from one value per window (``(S, H, W)`` for a stack)."""
        return np.take(self._bits(bits), self.plane_ids(), axis=-1)

    def record(self) -> dict:
        return {
            **super().record(),
            "size": self.size,
            "rows": self.rows,
            "cols": self.cols,
            "layout": self.layout.name,
        }


def make_windows(layout: ImageLayout, size: int) -> ImageWindows:
    """Split the image into ``size`` x ``size`` windows; errors for sizes below 1 or above the image."""
    if not isinstance(size, int | np.integer) or size < 1:
        raise InputError(f"window must be a positive integer, got {size!r}")
    if size > max(layout.height, layout.width):
        raise InputError(f"window {size} is larger than the {layout.height}x{layout.width} image")
    return ImageWindows(layout, int(size), -(-layout.height // size), -(-layout.width // size))
