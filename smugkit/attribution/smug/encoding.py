"""SMUG's constraint systems as sparse data, before any solver: first-layer and full-network encodings.

A mask ``m`` (one bit per window, 1 = keep) gives the masked input ``x_m = v + (x - v) * E m`` where ``v`` is
the mask value and ``E`` spreads each window's bit over its pixels and channels. Everything the first layer
computes from ``x_m`` is then affine in ``m``: ``z_J(x_m) = base + A m``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from smugkit.errors import InputError, ModelError
from smugkit.ir import Network
from smugkit.ir.linearize import affine_rows
from smugkit.units import MaskUnits


@dataclass
class FirstLayerInstance:
    """``A @ m >= rhs`` (or ``>`` when strict) over window bits; minimise ``sum(m)``.

    Row ``i`` says: neuron ``neurons[i]`` of the first layer keeps ``pre >= gamma * activation`` on the
    masked input, i.e. ``base[i] + A[i] @ m >= thresholds[i]``.
    """

    A: sp.csr_matrix
    base: np.ndarray
    thresholds: np.ndarray
    neurons: np.ndarray
    strict: bool
    windows: MaskUnits
    meta: dict = field(default_factory=dict)

    @property
    def rhs(self) -> np.ndarray:
        return self.thresholds - self.base

    @property
    def n_bits(self) -> int:
        return self.windows.count

    def margins(self, bits: np.ndarray) -> np.ndarray:
        """Per constrained neuron, value minus threshold for a mask (float64)."""
        return self.base + self.A @ np.asarray(bits, np.float64) - self.thresholds

    def feasible(self, bits: np.ndarray) -> bool:
        m = self.margins(bits)
        return bool(np.all(m > 0) if self.strict else np.all(m >= 0))

    def implied_rows(self) -> np.ndarray:
        """Rows that every mask satisfies (even the worst one: only the negative coefficients switched on)."""
        worst = self.base + np.asarray(self.A.minimum(0).sum(axis=1)).reshape(-1)
        return (worst > self.thresholds) if self.strict else (worst >= self.thresholds)

    def useless_bits(self) -> np.ndarray:
        """Windows with no coefficient in any row (e.g. all pixels equal the mask value): never needed."""
        return np.flatnonzero(np.asarray(abs(self.A).sum(axis=0)).reshape(-1) == 0)


def first_layer_instance(
    net: Network,
    x: np.ndarray,
    neurons: np.ndarray,
    gamma: float,
    windows: MaskUnits,
    mask_value: float = 0.0,
    strict: bool = False,
    rows: tuple[sp.csr_matrix, np.ndarray] | None = None,
) -> FirstLayerInstance:
    """Encode "each neuron in ``neurons`` keeps ``gamma`` of its pre-activation" over window bits.

    ``rows`` may pass precomputed ``affine_rows`` of the first layer for these neurons.
    """
    if not 0.0 <= gamma < 1.0:
        raise InputError(f"gamma must be in [0, 1), got {gamma}")
    fl = net.first_layer()
    x = np.asarray(x, np.float64).reshape(net.input.shape)
    C, off = rows if rows is not None else affine_rows(net, fl.pre, neurons)
    act = C @ x.reshape(-1) + off
    if np.any(act < 0):
        bad = np.asarray(neurons)[act < 0][:5]
        raise ModelError(
            f"neurons {bad.tolist()} are not active on the input; SMUG constrains active ones only"
        )
    d = x.reshape(-1) - mask_value
    A = (C @ sp.diags(d)) @ windows.incidence()
    A = A.tocsr()
    A.eliminate_zeros()
    base = off + C @ np.full(C.shape[1], float(mask_value))
    return FirstLayerInstance(
        A=A,
        base=base,
        thresholds=gamma * act,
        neurons=np.asarray(neurons),
        strict=strict,
        windows=windows,
        meta={"gamma": gamma, "activations": act, "mask_value": float(mask_value)},
    )
