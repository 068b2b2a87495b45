"""Superpixels: an image split into compact regions of similar colour, one mask bit each (LIME, KernelSHAP).

``slic`` is a small numpy version of SLIC (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art
Superpixel Methods", TPAMI 2012): k-means on (colour, position) with centres seeded on a regular grid of step
``S = sqrt(H*W / n_segments)``, each pixel compared only with the centres of the 3 x 3 grid cells around it,
distance ``d_colour^2 + (compactness / S)^2 d_xy^2`` with colours rescaled to 0..100 (the Lab range the
paper's ``compactness = 10`` assumes); afterwards every connected piece becomes its own segment and pieces
smaller than a quarter of the expected size join a touching neighbour. ``grid`` is a regular grid of cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from smugkit.errors import InputError
from smugkit.units.base import MaskUnits
from smugkit.units.layout import ImageLayout

Array = np.ndarray
SEGMENTATIONS = ("slic", "grid")


@dataclass(frozen=True, eq=False)
class Superpixels(MaskUnits):
    """A segmentation of the image: ``segments`` is ``(H, W)`` of ids 0..count-1; channels share a pixel's id."""

    kind = "superpixel"
    layout: ImageLayout
    segments: Array

    @property
    def count(self) -> int:
        return int(self.segments.max()) + 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.layout.input_shape)

    def ids(self) -> Array:
        return self.layout.from_hw(self.segments)

    def plane(self, bits) -> Array:
        return np.take(self._bits(bits), self.segments, axis=-1)

    def record(self) -> dict:
        return {**super().record(), "layout": self.layout.name}


def grid_segments(height: int, width: int, n_segments: int) -> Array:
    """``(H, W)`` ids of a regular grid of about ``n_segments`` near-square cells."""
    step = max(1.0, np.sqrt(height * width / n_segments))
    rows = max(1, min(height, round(height / step)))
    cols = max(1, min(width, round(width / step)))
    r = np.arange(height) * rows // height
    c = np.arange(width) * cols // width
    return r[:, None] * cols + c[None, :]


def slic_segments(image: Array, n_segments: int = 50, compactness: float = 10.0, n_iter: int = 10) -> Array:
    """``(H, W)`` superpixel ids of an ``(H, W, C)`` image by SLIC (see the module docstring)."""
    img = np.asarray(image, dtype=np.float64)
    h, w, _ = img.shape
    lo, hi = img.min(), img.max()
    colour = (img - lo) * (100.0 / (hi - lo)) if hi > lo else np.zeros_like(img)
    step = max(1.0, np.sqrt(h * w / n_segments))
    gr, gc = max(1, round(h / step)), max(1, round(w / step))
    cell_r = (np.arange(h) * gr // h)[:, None] * np.ones((1, w), int)
    cell_c = (np.arange(w) * gc // w)[None, :] * np.ones((h, 1), int)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    feats = np.concatenate([colour.reshape(h * w, -1), yy.reshape(-1, 1), xx.reshape(-1, 1)], axis=1)
    # centres: the middle of each grid cell
    cy = (np.arange(gr) + 0.5) * h / gr
    cx = (np.arange(gc) + 0.5) * w / gc
    cyy, cxx = np.meshgrid(cy, cx, indexing="ij")
    iy = np.clip(cyy.astype(int), 0, h - 1)
    ix = np.clip(cxx.astype(int), 0, w - 1)
    centres = np.concatenate([colour[iy, ix].reshape(gr * gc, -1), cyy.reshape(-1, 1), cxx.reshape(-1, 1)], 1)
    # each pixel's 9 candidate centres: the grid cells around its own
    dr, dc = np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij")
    nr = cell_r.reshape(-1, 1) + dr.reshape(1, -1)
    nc = cell_c.reshape(-1, 1) + dc.reshape(1, -1)
    valid = (nr >= 0) & (nr < gr) & (nc >= 0) & (nc < gc)
    cand = np.where(valid, np.clip(nr, 0, gr - 1) * gc + np.clip(nc, 0, gc - 1), -1)
    cand_safe = np.maximum(cand, 0)
    nch = colour.shape[2]
    spatial = (compactness / step) ** 2
    labels = cand_safe[:, 4]
    for _ in range(n_iter):
        c = centres[cand_safe]  # (P, 9, C+2)
        d_col = ((feats[:, None, :nch] - c[:, :, :nch]) ** 2).sum(-1)
        d_xy = ((feats[:, None, nch:] - c[:, :, nch:]) ** 2).sum(-1)
        d = np.where(valid, d_col + spatial * d_xy, np.inf)
        new = cand_safe[np.arange(h * w), d.argmin(axis=1)]
        counts = np.bincount(new, minlength=gr * gc)
        sums = np.stack([np.bincount(new, feats[:, k], minlength=gr * gc) for k in range(feats.shape[1])], 1)
        keep = counts > 0
        centres[keep] = sums[keep] / counts[keep, None]
        if np.array_equal(new, labels):
            break
        labels = new
    return connected(labels.reshape(h, w), min_size=max(1, int(h * w / (gr * gc) / 4)))


def connected(labels: Array, min_size: int = 1) -> Array:
    """Relabel so each connected piece (4-neighbourhood) is one segment; small pieces join a neighbour.

    A pixel of a piece under ``min_size`` pixels takes the label of its largest touching neighbour, round after
    round (vectorised region growing), so the merged segments stay connected.
    """
    out = np.full(labels.shape, -1, dtype=np.int64)
    n = 0
    for v in np.unique(labels):
        comp, k = ndimage.label(labels == v)
        out[comp > 0] = comp[comp > 0] - 1 + n
        n += k
    for _ in range(4 * int(np.sqrt(min_size)) + 4):
        sizes = np.bincount(out.reshape(-1), minlength=n)
        own = sizes[out]
        if own.min() >= min_size:
            break
        best, best_size = out.copy(), own.copy()
        for shift, axis in ((1, 0), (-1, 0), (1, 1), (-1, 1)):
            nb = np.roll(out, shift, axis=axis)
            edge = [slice(None)] * 2
            edge[axis] = 0 if shift == 1 else -1
            nb[tuple(edge)] = out[tuple(edge)]  # no wrap-around
            nb_size = sizes[nb]
            take = nb_size > best_size
            best[take], best_size[take] = nb[take], nb_size[take]
        small = own < min_size
        out[small] = best[small]
    _, dense = np.unique(out, return_inverse=True)
    return dense.reshape(labels.shape).astype(np.int64)


def make_superpixels(
    layout: ImageLayout,
    x: Array,
    segmentation="slic",
    *,
    n_segments: int = 50,
    compactness: float = 10.0,
) -> Superpixels:
    """Superpixels of the input ``x``: by ``slic``, a ``grid``, or an ``(H, W)`` array of ids given by the user."""
    h, w = layout.height, layout.width
    if isinstance(n_segments, bool) or not isinstance(n_segments, int | np.integer) or n_segments < 1:
        raise InputError(f"n_segments must be an integer >= 1, got {n_segments!r}")
    if not isinstance(segmentation, str):
        seg = np.asarray(segmentation)
        if seg.shape != (h, w) or seg.dtype.kind not in "iu":
            raise InputError(f"segments must be an integer array of shape [{h}, {w}], got {list(seg.shape)}")
        _, dense = np.unique(seg, return_inverse=True)
        return Superpixels(layout, dense.reshape(h, w).astype(np.int64))
    if segmentation == "grid":
        return Superpixels(layout, grid_segments(h, w, n_segments))
    if segmentation == "slic":
        if not (np.isfinite(compactness) and compactness > 0):
            raise InputError(f"compactness must be > 0, got {compactness!r}")
        return Superpixels(layout, slic_segments(layout.to_hwc(x), n_segments, compactness))
    raise InputError(
        f"segmentation must be one of {SEGMENTATIONS} or an (H, W) array of ids, got {segmentation!r}"
    )
