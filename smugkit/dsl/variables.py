"""Decision variables: a named, shaped block of scalars with one domain and element-wise bounds."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from smugkit.dsl.domains import Domain
from smugkit.dsl.expr import Affine
from smugkit.errors import ProblemError

if TYPE_CHECKING:
    from smugkit.dsl.relu import ReluDef

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _bound(value: Any, shape: tuple[int, ...], default: float, what: str, name: str) -> np.ndarray:
    """Broadcast one bound (scalar or array, None for the default) to the variable's shape."""
    if value is None:
        return np.full(shape, default, dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    try:
        out = np.array(np.broadcast_to(arr, shape), dtype=np.float64)
    except ValueError:
        raise ProblemError(
            f"variable {name!r}: {what} bound of shape {arr.shape} does not broadcast to shape {shape}"
        ) from None
    if np.isnan(out).any():
        raise ProblemError(f"variable {name!r}: {what} bound contains NaN")
    return out


def _shape(shape: int | tuple[int, ...], name: str) -> tuple[int, ...]:
    """Normalise a shape argument and reject negative or empty dimensions."""
    out = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    if any(s <= 0 for s in out):
        raise ProblemError(f"variable {name!r}: shape {out} has an empty or negative dimension")
    return out


class Var(Affine):
    """A block of scalar unknowns; it is also the affine expression that is the identity on itself."""

    __hash__ = object.__hash__

    def __init__(
        self,
        name: str,
        shape: int | tuple[int, ...] = (),
        domain: Domain | str = Domain.REAL,
        lb: Any = None,
        ub: Any = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ProblemError(f"variable name {name!r} must be an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        try:
            dom = Domain(domain)
        except ValueError:
            raise ProblemError(
                f"variable {name!r}: unknown domain {domain!r} (use one of {[d.value for d in Domain]})"
            ) from None
        shp = _shape(shape, name)
        self.name = name
        self.domain = dom
        if dom in (Domain.BOOL, Domain.BINARY):
            lo, hi = _bound(lb, shp, 0.0, "lower", name), _bound(ub, shp, 1.0, "upper", name)
            lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
        else:
            lo, hi = _bound(lb, shp, -np.inf, "lower", name), _bound(ub, shp, np.inf, "upper", name)
        if dom.integral:
            lo, hi = np.ceil(lo), np.floor(hi)
        self.lb, self.ub = lo, hi
        self.definition: ReluDef | None = None
        size = int(np.prod(shp, dtype=np.int64))
        super().__init__({self: sp.identity(size, format="csr", dtype=np.float64)}, np.zeros(size), shp)

    @property
    def defined(self) -> bool:
        """True for auxiliary variables fixed by a definition (e.g. a ReLU output)."""
        return self.definition is not None

    def element_names(self) -> list[str]:
        """Solver-level names of the scalars, ``name.i`` over the flattened (C-order) index."""
        return [f"{self.name}.{i}" for i in range(self.size)]

    def __repr__(self) -> str:
        return f"Var({self.name!r}, shape={self.shape}, domain={self.domain.value})"
