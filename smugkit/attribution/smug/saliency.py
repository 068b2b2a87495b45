"""Scoring a minimal mask into a saliency map (SMUG_BASE and SMUG, Sahoo et al. 2021, Sec. 3)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from smugkit.errors import InputError

REDUCTIONS = ("max", "sum")


def smug_base(
    rows: sp.spmatrix, scores: np.ndarray, pixel_of_input: np.ndarray, n_pixels: int, reduce: str = "max"
) -> np.ndarray:
    """Per pixel, the max (or sum) of the scores of the neurons whose receptive field covers it.

    ``rows`` is the neurons' affine map over the input (its non-zero pattern is the receptive field);
    ``pixel_of_input`` gives the pixel of each input element (channels of a pixel share it).
    """
    if reduce not in REDUCTIONS:
        raise InputError(f"score must be one of {REDUCTIONS}, got {reduce!r}")
    c = rows.tocoo()
    pairs = np.unique(c.row.astype(np.int64) * n_pixels + pixel_of_input[c.col])
    neuron, pixel = np.divmod(pairs, n_pixels)
    vals = np.asarray(scores, dtype=np.float64)[neuron]
    if reduce == "sum":
        return np.bincount(pixel, weights=vals, minlength=n_pixels)
    out = np.full(n_pixels, -np.inf)
    np.maximum.at(out, pixel, vals)
    out[np.isneginf(out)] = 0.0
    return out
