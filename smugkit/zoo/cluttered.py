"""Cluttered digits: a ground truth for localisation metrics, generated offline from scikit-learn's digits.

Each item is one 8x8 digit, upsampled (bilinear) to ``digit_size`` pixels and placed at a random spot on a
black ``canvas`` x ``canvas`` image, plus ``fragments`` clutter pieces: ``fragment_size`` crops of *other*
digits (so the clutter is made of strokes like the digit's own), placed anywhere outside the digit's square.
Layers are combined by pixel-wise maximum and quantised to 8-bit levels (multiples of 1/255), so an item
stored as ``uint8`` reloads bit for bit. The ground truth of each item is recorded alongside it:

- ``masks``: the pixels the digit itself lights up (its quantised layer is non-zero); clutter never
  overlaps the digit's square, so every other lit pixel is clutter;
- ``boxes``: the tight box ``(top, left, bottom, right)`` of that mask, bottom and right exclusive.

This follows the cluttered MNIST of Mnih et al. ("Recurrent models of visual attention", 2014) that the
SMUG reference code evaluates on, scaled down to the bundled 8x8 digits. Everything is drawn from one
``numpy.random.default_rng(seed)``: the same digits and seed give the same items on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError

__all__ = ["ClutteredDigits", "make_cluttered"]

CANVAS = 40
DIGIT_SIZE = 16
FRAGMENTS = 4
FRAGMENT_SIZE = 8
LEVELS = 255
MIN_INK = 0.25  # a fragment keeps at least this share of the best crop's ink, so it is never a blank patch


@dataclass(frozen=True)
class ClutteredDigits:
    """Cluttered images with their labels and ground truth (see the module docstring)."""

    x: np.ndarray  # (N, 1, C, C) float32, multiples of 1/255 in [0, 1]
    labels: np.ndarray  # (N,) int64
    boxes: np.ndarray  # (N, 4) int64: top, left, bottom, right of the digit's pixels, bottom/right exclusive
    masks: np.ndarray  # (N, C, C) bool: the digit's pixels
    sources: np.ndarray  # (N,) int64: index of the placed digit in the source array

    def __len__(self) -> int:
        return len(self.x)


def _crop_sums(img: np.ndarray, k: int) -> np.ndarray:
    """Sum of every ``k`` x ``k`` crop of a square image, indexed by its top-left corner."""
    c = np.pad(img.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    return c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]


def _quantise(img: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(img, 0.0, 1.0) * LEVELS) / LEVELS


def make_cluttered(
    digits: np.ndarray,
    labels: np.ndarray,
    *,
    n: int | None = None,
    seed: int = 0,
    canvas: int = CANVAS,
    digit_size: int = DIGIT_SIZE,
    fragments: int = FRAGMENTS,
    fragment_size: int = FRAGMENT_SIZE,
) -> ClutteredDigits:
    """``n`` cluttered items (default one per digit) from 8x8 ``digits`` in [0, 1], shaped (M, 8, 8).

    Digits are used in a seeded random order, each once per pass over the ``M`` sources; the clutter of an
    item comes from the other sources.
    """
    from smugkit.zoo import upsample_bilinear

    digits = np.asarray(digits, dtype=np.float64)
    labels = np.asarray(labels)
    if digits.ndim == 4 and digits.shape[1] == 1:
        digits = digits[:, 0]
    if digits.ndim != 3 or digits.shape[1] != digits.shape[2]:
        raise InputError(f"make_cluttered: digits must be (M, s, s) images, got shape {list(digits.shape)}")
    m = len(digits)
    if m < 2 or labels.shape != (m,):
        raise InputError(
            f"make_cluttered: need >= 2 digits and one label each; got {m} digits, {labels.shape}"
        )
    if digits.min() < 0.0 or digits.max() > 1.0:
        raise InputError("make_cluttered: digits must be scaled to [0, 1]")
    if not (0 < fragment_size <= digit_size < canvas):
        raise InputError(
            f"make_cluttered: need 0 < fragment_size ({fragment_size}) <= digit_size ({digit_size}) "
            f"< canvas ({canvas})"
        )
    if fragments < 0 or (n is not None and n < 1):
        raise InputError(f"make_cluttered: fragments must be >= 0 and n >= 1, got {fragments}, {n}")
    n = m if n is None else int(n)

    rng = np.random.default_rng(seed)
    big = _quantise(upsample_bilinear(digits, digit_size))  # (M, d, d)
    sums = np.stack([_crop_sums(b, fragment_size) for b in big])  # (M, d-f+1, d-f+1)
    crop_ok = sums >= MIN_INK * sums.reshape(m, -1).max(axis=1)[:, None, None]
    order = np.concatenate([rng.permutation(m) for _ in range(-(-n // m))])[:n]

    x = np.zeros((n, canvas, canvas))
    masks = np.zeros((n, canvas, canvas), dtype=bool)
    span = canvas - fragment_size + 1
    for i, src in enumerate(order):
        r, c = rng.integers(0, canvas - digit_size + 1, size=2)
        # fragment corners whose square misses the digit's square
        rows, cols = np.arange(span)[:, None], np.arange(span)[None, :]
        free = (rows + fragment_size <= r) | (rows >= r + digit_size) | (cols + fragment_size <= c)
        free = free | (cols >= c + digit_size)
        corners = np.flatnonzero(free)
        others = rng.choice(m - 1, size=fragments)
        others = others + (others >= src)  # any source but the placed digit
        for o in others:
            cr, cc = divmod(int(rng.choice(np.flatnonzero(crop_ok[o]))), crop_ok.shape[-1])
            pr, pc = divmod(int(rng.choice(corners)), span)
            patch = big[o, cr : cr + fragment_size, cc : cc + fragment_size]
            view = x[i, pr : pr + fragment_size, pc : pc + fragment_size]
            np.maximum(view, patch, out=view)
        x[i, r : r + digit_size, c : c + digit_size] = big[src]
        masks[i, r : r + digit_size, c : c + digit_size] = big[src] > 0
    return ClutteredDigits(
        x=x[:, None].astype(np.float32),
        labels=labels[order].astype(np.int64),
        boxes=mask_boxes(masks),
        masks=masks,
        sources=order.astype(np.int64),
    )


def mask_boxes(masks: np.ndarray) -> np.ndarray:
    """Tight ``(top, left, bottom, right)`` boxes, bottom/right exclusive, of (N, H, W) boolean masks."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or not masks.any(axis=(1, 2)).all():
        raise InputError("mask_boxes: need (N, H, W) masks, each with at least one pixel set")
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    h, w = masks.shape[1:]
    top, left = rows.argmax(1), cols.argmax(1)
    bottom, right = h - rows[:, ::-1].argmax(1), w - cols[:, ::-1].argmax(1)
    return np.stack([top, left, bottom, right], axis=1).astype(np.int64)
