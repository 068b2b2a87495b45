"""`MaskUnits`: what one mask bit covers, shared by SMUG, perturbation methods and deletion-style metrics.

Units partition the model input: every input element belongs to exactly one unit (an image window, a
token of a text). A mask is one value per unit (1 = keep); a stack of masks ``(S, count)`` is handled in one go.
To add a kind of unit: subclass `MaskUnits`, give ``kind``, ``count``, ``ids()`` and ``plane()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from smugkit.errors import InputError

Array = np.ndarray


class MaskUnits(ABC):
    """A partition of the model input into ``count`` units; masks are values per unit."""

    kind: ClassVar[str] = ""

    @property
    @abstractmethod
    def count(self) -> int:
        """Number of units (mask bits)."""

    @property
    @abstractmethod
    def input_shape(self) -> tuple[int, ...]:
        """The model input's shape."""

    @abstractmethod
    def ids(self) -> Array:
        """Model-input-shaped array of the unit of each element."""

    @abstractmethod
    def plane(self, bits) -> Array:
        """A picture of one mask (or a stack): what a person sees, e.g. ``(H, W)`` for an image."""

    def _bits(self, bits) -> Array:
        """Masks as ``(count,)`` or ``(S, count)``; one mask of any shape holding ``count`` values is flattened."""
        b = np.asarray(bits, dtype=np.float64)
        if b.ndim == 0 or b.shape[-1] != self.count:
            if b.size != self.count:
                raise InputError(
                    f"a mask over {self.count} {self.kind} units needs {self.count} values per mask, "
                    f"got shape {list(b.shape)}"
                )
            b = b.reshape(self.count)
        return b

    def expand(self, bits) -> Array:
        """Input-shaped values from one value per unit; ``(S, count)`` gives ``(S, *input_shape)``."""
        return np.take(self._bits(bits), self.ids(), axis=-1)

    def apply(self, x, bits, fill=0.0) -> Array:
        """The input with masked units (bit 0) replaced by ``fill`` (a number or an input-shaped baseline).

        Fractional bits blend: ``fill + (x - fill) * bit``; a stack of masks gives a stack of inputs.
        """
        x = np.asarray(x, dtype=np.float64).reshape(self.input_shape)
        fill = np.asarray(fill, dtype=np.float64)
        return fill + (x - fill) * self.expand(bits)

    def incidence(self) -> sp.csr_matrix:
        """``E``: input elements x units, 1 where the element belongs to the unit (masks act as ``x * E m``)."""
        ids = self.ids().reshape(-1)
        n = ids.size
        return sp.csr_matrix((np.ones(n), (np.arange(n), ids)), shape=(n, self.count))

    def record(self) -> dict:
        """What the units are, for result files."""
        return {"kind": self.kind, "count": self.count}
