"""Shrink a valid full-network mask by forward passes: a small incumbent before the MILP starts.

Each round scores the removal of every kept window in one batched float64 forward pass of the IR, then
drops as many of the harmless removals as stay valid together (the best-scored first, halving the count
until the joint removal keeps the label). When no window can be dropped, small masks try 2-for-1 swaps
(two kept windows out, another one in). The result's size caps the MILP (`full.full_network_problem`'s
``max_ones``, whose bounds tighten with it) and the enumeration of smaller masks.
"""

from __future__ import annotations

import time

import numpy as np

from smugkit.attribution.smug.enumerate import _margins
from smugkit.ir import Network
from smugkit.units import MaskUnits

#: forward passes per IR batch
BATCH = 512
#: most masks tried by one round of 2-for-1 swaps
SWAP_LIMIT = 20_000


def margins(
    net: Network, x: np.ndarray, label: int, wins: MaskUnits, mask_value: float, masks: np.ndarray
) -> np.ndarray:
    """Label logit minus the best other logit on each masked input (float64 IR), in batches."""
    parts = [
        _margins(net, x, label, wins, mask_value, masks[i : i + BATCH]) for i in range(0, len(masks), BATCH)
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def thin_mask(
    net: Network,
    x: np.ndarray,
    label: int,
    wins: MaskUnits,
    mask_value: float,
    delta: float,
    strict: bool,
    bits: np.ndarray,
    deadline: float,
) -> np.ndarray:
    """A valid sub-mask of the valid mask ``bits`` (returned as is when the deadline comes first)."""
    bits = np.asarray(bits, dtype=np.int64).copy()

    def ok(m: np.ndarray) -> np.ndarray:
        return m > delta if strict else m >= delta

    while bits.any() and time.perf_counter() < deadline:
        on = np.flatnonzero(bits)
        trial = np.repeat(bits[None], on.size, axis=0)
        trial[np.arange(on.size), on] = 0
        score = margins(net, x, label, wins, mask_value, trial)
        good = on[ok(score)][np.argsort(-score[ok(score)], kind="stable")]
        if good.size == 0:
            swapped = _swap(net, x, label, wins, mask_value, ok, bits, deadline)
            if swapped is None:
                break
            bits = swapped
            continue
        counts = sorted({max(1, good.size >> s) for s in range(int(np.log2(good.size)) + 1)}, reverse=True)
        trial = np.repeat(bits[None], len(counts), axis=0)
        for r, c in enumerate(counts):
            trial[r, good[:c]] = 0
        valid = ok(margins(net, x, label, wins, mask_value, trial))
        bits = trial[int(np.argmax(valid))]  # the largest joint removal that stays valid (one always does)
    return bits


def _swap(net, x, label, wins, mask_value, ok, bits: np.ndarray, deadline: float) -> np.ndarray | None:
    """A valid mask one window smaller than ``bits``: two kept windows out, one other in (None if none, or if
    there are more than ``SWAP_LIMIT`` such masks or the deadline comes first)."""
    on, off = np.flatnonzero(bits), np.flatnonzero(bits == 0)
    pairs = np.array([(a, b) for i, a in enumerate(on) for b in on[i + 1 :]], dtype=np.int64).reshape(-1, 2)
    if pairs.size == 0 or off.size == 0 or len(pairs) * off.size > SWAP_LIMIT:
        return None
    for pair in pairs:
        if time.perf_counter() > deadline:
            return None
        trial = np.repeat(bits[None], off.size, axis=0)
        trial[:, pair] = 0
        trial[np.arange(off.size), off] = 1
        valid = ok(margins(net, x, label, wins, mask_value, trial))
        if valid.any():
            return trial[int(np.argmax(valid))]
    return None
