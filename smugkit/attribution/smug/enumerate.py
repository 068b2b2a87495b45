"""The smallest mask by exhaustive enumeration, for full-network problems with few mask bits.

Masks are tried by size (all ``C(n, k)`` masks of size ``k`` before size ``k + 1``), each batch in one
float64 forward pass of the IR; the first size with a mask that keeps the label ahead by ``delta`` is the
optimum, proved by having evaluated every smaller mask. Worth it up to about 20 bits (2**20 forward passes
at most), where a big-M MILP over thousands of unstable ReLUs may not even close its gap. Only live units
are enumerated: a unit whose input already equals the mask value (e.g. a padding token, a blank window) is
masked or kept to the same effect, so a smallest mask never keeps it.
"""

from __future__ import annotations

import itertools
import time
from math import comb

import numpy as np

from smugkit.ir import Network
from smugkit.units import MaskUnits

BATCH = 2048


def _margins(net: Network, x: np.ndarray, label: int, wins: MaskUnits, mask_value: float, masks: np.ndarray):
    xs = wins.apply(x, masks, mask_value).reshape((len(masks),) + tuple(net.input.shape[1:]))
    z = net.run(xs, [net.output.name])[net.output.name].reshape(len(masks), -1)
    others = np.delete(z, label, axis=1)
    return z[:, label] - others.max(axis=1)


def live_units(x: np.ndarray, wins: MaskUnits, mask_value: float) -> np.ndarray:
    """Indices of the units whose input differs from ``mask_value`` somewhere (masking them changes x)."""
    differs = (np.asarray(x, np.float64).reshape(-1) != mask_value).astype(np.float64)
    return np.flatnonzero(wins.incidence().T @ differs)


def smallest_mask(
    net: Network,
    x: np.ndarray,
    label: int,
    wins: MaskUnits,
    mask_value: float,
    delta: float,
    strict: bool,
    deadline: float,
    max_size: int | None = None,
) -> tuple[np.ndarray | None, int]:
    """The first mask (by size, then lexicographic) keeping ``label`` by ``delta``, and the sizes proved empty.

    Returns ``(None, k)`` when the deadline passed after every mask smaller than ``k`` was ruled out, or when
    every mask of up to ``max_size`` windows was ruled out (``k = max_size + 1``).
    """
    live = live_units(x, wins, mask_value)
    n = live.size
    for k in range(n + 1 if max_size is None else min(n, max_size) + 1):
        combos = itertools.combinations(live.tolist(), k)
        for _ in range(0, comb(n, k), BATCH):
            if time.perf_counter() > deadline:
                return None, k
            chunk = list(itertools.islice(combos, BATCH))
            masks = np.zeros((len(chunk), wins.count), dtype=int)
            if k:
                masks[np.repeat(np.arange(len(chunk)), k), np.asarray(chunk, dtype=np.int64).reshape(-1)] = 1
            m = _margins(net, x, label, wins, mask_value, masks)
            ok = m > delta if strict else m >= delta
            if ok.any():
                return masks[int(np.argmax(ok))], k
    return None, n + 1 if max_size is None else min(n, max_size) + 1
