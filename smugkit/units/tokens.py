"""Token units: one mask bit per token (word) of a text model's embedded input, all embedding dims shared.

The explained input is the embedding output of shape ``(*token_shape, dim)`` (e.g. ``(1, L, D)``); masking a
token sets its whole embedding row to the mask value (zero: the padding row of the bundled text models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.units.base import MaskUnits


@dataclass(frozen=True)
class TokenUnits(MaskUnits):
    """One unit per token position; ``token_shape`` is the id tensor's shape, ``dim`` the embedding size."""

    kind = "token"
    token_shape: tuple[int, ...]
    dim: int

    @property
    def count(self) -> int:
        return int(np.prod(self.token_shape))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (*self.token_shape, self.dim)

    def ids(self) -> np.ndarray:
        """Model-input-shaped array: every embedding value carries its token's position."""
        pos = np.arange(self.count).reshape(self.token_shape)
        return np.broadcast_to(pos[..., None], self.input_shape)

    def plane(self, bits) -> np.ndarray:
        """One value per token (``(S, count)`` for a stack): a text is its own picture."""
        return self._bits(bits).copy()

    def record(self) -> dict:
        return {**super().record(), "token_shape": list(self.token_shape), "dim": self.dim}


def make_tokens(input_shape: tuple[int, ...]) -> TokenUnits:
    """Token units over an embedded input ``(*token_shape, dim)``: the last axis is the embedding."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) < 2 or min(shape) < 1:
        raise InputError(f"an embedded text input has shape (..., tokens, dim); got {list(shape)}")
    return TokenUnits(shape[:-1], shape[-1])
