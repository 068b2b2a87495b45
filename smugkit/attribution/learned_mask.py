"""What the learned-mask methods share: a coarse mask upsampled to the image, its penalties, and Adam.

The mask ``m`` lives on a coarse ``(h, w)`` grid in [0, 1]; ``up(m) = Uh @ m @ Uw.T`` is its bilinear
upsampling to the image's ``(H, W)``, so the gradient of a loss through it is ``Uh.T @ G @ Uw``. Methods
write their loss's gradient in image space; `MaskOptimizer` does the rest (projected Adam steps).
"""

from __future__ import annotations

import numpy as np

from smugkit.errors import InputError
from smugkit.units import ImageLayout

Array = np.ndarray


def bilinear_matrix(n_out: int, n_in: int) -> Array:
    """``(n_out, n_in)`` weights of bilinear upsampling with aligned corners (rows sum to 1)."""
    if n_in == 1:
        return np.ones((n_out, 1))
    pos = np.linspace(0.0, n_in - 1, n_out)
    lo = np.minimum(np.floor(pos).astype(int), n_in - 2)
    frac = pos - lo
    u = np.zeros((n_out, n_in))
    u[np.arange(n_out), lo] = 1.0 - frac
    u[np.arange(n_out), lo + 1] = frac
    return u


def total_variation(m: Array, beta: float) -> tuple[float, Array]:
    """Mean ``|neighbour difference|^beta`` over the grid (Fong & Vedaldi's TV term) and its gradient."""
    grad = np.zeros_like(m)
    value = 0.0
    count = max(1, m[1:, :].size + m[:, 1:].size)
    for axis in (0, 1):
        d = np.diff(m, axis=axis)
        value += float(np.sum(np.abs(d) ** beta))
        g = beta * np.abs(d) ** (beta - 1) * np.sign(d)
        lead = [slice(None)] * 2
        lead[axis] = slice(1, None)
        trail = [slice(None)] * 2
        trail[axis] = slice(None, -1)
        grad[tuple(lead)] += g
        grad[tuple(trail)] -= g
    return value / count, grad / count


class MaskOptimizer:
    """A coarse mask over an image layout, moved by Adam and kept in [0, 1] after each step."""

    def __init__(self, layout: ImageLayout, cells: int, init: float, lr: float) -> None:
        if isinstance(cells, bool) or not isinstance(cells, int) or cells < 1:
            raise InputError(f"mask_size must be a positive integer, got {cells!r}")
        h, w = min(cells, layout.height), min(cells, layout.width)
        self.layout = layout
        self.uh = bilinear_matrix(layout.height, h)
        self.uw = bilinear_matrix(layout.width, w)
        self.m = np.full((h, w), float(init))
        self.lr = float(lr)
        self._mom = np.zeros_like(self.m)
        self._var = np.zeros_like(self.m)
        self._t = 0

    def image(self) -> Array:
        """The upsampled mask ``(H, W)``."""
        return self.uh @ self.m @ self.uw.T

    def to_input(self, plane: Array) -> Array:
        """An ``(H, W)`` plane broadcast to the model input's shape."""
        return self.layout.from_hw(plane)

    def pull_back(self, grad_input: Array) -> Array:
        """Gradient w.r.t. the coarse mask of a loss whose gradient w.r.t. ``to_input(image())`` is given."""
        g_hw = self.layout.to_hwc(grad_input).sum(axis=-1)  # channels share the mask
        return self.uh.T @ g_hw @ self.uw

    def step(self, grad: Array, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> None:
        """One Adam step on the coarse mask, then projection onto [0, 1]."""
        self._t += 1
        self._mom = b1 * self._mom + (1 - b1) * grad
        self._var = b2 * self._var + (1 - b2) * grad**2
        mhat = self._mom / (1 - b1**self._t)
        vhat = self._var / (1 - b2**self._t)
        self.m = np.clip(self.m - self.lr * mhat / (np.sqrt(vhat) + eps), 0.0, 1.0)


def check_number(name: str, v, low: float = 0.0, *, integer: bool = False, strict: bool = True) -> None:
    """A typed error unless ``v`` is a finite number (an int when ``integer``) above ``low`` (or equal, if not
    ``strict``)."""
    kinds = int if integer else int | float
    if isinstance(v, bool) or not isinstance(v, kinds) or not np.isfinite(v):
        raise InputError(f"{name} must be a finite {'integer' if integer else 'number'}, got {v!r}")
    if v < low or strict and v == low:
        raise InputError(f"{name} must be {'>' if strict else '>='} {low:g}, got {v!r}")
