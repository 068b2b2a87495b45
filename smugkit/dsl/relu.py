"""ReLU as a piecewise term: ``y = max(x, 0)`` with interval bounds on ``x`` when known."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from smugkit.dsl.domains import Domain
from smugkit.dsl.expr import Affine
from smugkit.dsl.variables import Var
from smugkit.errors import ProblemError

_COUNTER = itertools.count()


@dataclass
class ReluDef:
    """The definition ``out = max(arg, 0)`` element-wise, with pre-activation bounds ``lo <= arg <= hi``."""

    out: Var
    arg: Affine
    lo: np.ndarray
    hi: np.ndarray

    @property
    def stable_active(self) -> np.ndarray:
        """Entries known to be active (``lo >= 0``): the output equals the argument."""
        return self.lo >= 0

    @property
    def stable_inactive(self) -> np.ndarray:
        """Entries known to be inactive (``hi <= 0``): the output is zero."""
        return self.hi <= 0


def relu(expr: Any, bounds: tuple[Any, Any] | None = None, name: str | None = None) -> Var:
    """A new real variable ``y = max(expr, 0)``; bounds of ``expr`` default to interval arithmetic."""
    arg = Affine.lift(expr, "relu argument")
    computed_lo, computed_hi = arg.bounds()
    # interval sums are rounded floats: widen them by a relative 1e-9 so no exact value falls outside
    computed_lo = computed_lo - 1e-9 * (np.abs(computed_lo) + 1e-12)
    computed_hi = computed_hi + 1e-9 * (np.abs(computed_hi) + 1e-12)
    if bounds is None:
        lo, hi = computed_lo.ravel(), computed_hi.ravel()
    else:
        try:
            lo = np.broadcast_to(np.asarray(bounds[0], dtype=np.float64), arg.shape).ravel()
            hi = np.broadcast_to(np.asarray(bounds[1], dtype=np.float64), arg.shape).ravel()
        except ValueError:
            raise ProblemError(
                f"relu: bounds of shapes {np.shape(bounds[0])}, {np.shape(bounds[1])} do not fit argument "
                f"shape {arg.shape}"
            ) from None
        # keep the tighter of the given and the computed bounds
        lo, hi = np.maximum(lo, computed_lo.ravel()), np.minimum(hi, computed_hi.ravel())
    if np.isnan(lo).any() or np.isnan(hi).any() or np.any(lo > hi):
        raise ProblemError(f"relu: invalid pre-activation bounds for argument of shape {arg.shape}")
    out_name = name or f"relu_{next(_COUNTER)}"
    out = Var(
        out_name,
        arg.shape,
        Domain.REAL,
        lb=np.maximum(lo, 0.0).reshape(arg.shape),
        ub=np.maximum(hi, 0.0).reshape(arg.shape),
    )
    out.definition = ReluDef(out, arg.ravel(), lo.copy(), hi.copy())
    return out
