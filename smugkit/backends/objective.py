"""The objective as the search sees it: minimise ``sum ints*x`` (integer-scaled) or a rational form."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from smugkit.dsl.problem import Compiled
from smugkit.dsl.rational import integer_row


@dataclass
class ObjectiveSpec:
    """Minimisation form of a compiled objective: ``value = sign * (sum coef*x) / scale + const``."""

    cols: np.ndarray
    coefs: list[int] | list[float]  # integers when ``integral``, else floats (already sign-adjusted)
    integral: bool
    scale: int
    sign: int  # +1 for min, -1 for max
    const: float
    lower: int | Fraction | None  # a valid lower bound of the minimised form from variable bounds

    def to_user(self, value: int | Fraction) -> float:
        """Scaled minimisation value back to the user's objective."""
        return float(self.sign * Fraction(value) / self.scale + Fraction(self.const))

    def bound_to_user(self, value: int | Fraction | None) -> float | None:
        """A lower bound of the minimised form as a bound on the user's objective (upper bound if max)."""
        return None if value is None else self.to_user(value)

    def value(self, x: np.ndarray) -> int | Fraction:
        """Exact minimised value of a column vector (integral columns are rounded first)."""
        vals = x[self.cols]
        if self.integral:
            return int(sum(a * round(v) for a, v in zip(self.coefs, vals.tolist())))
        return sum((Fraction(a) * Fraction(float(v)) for a, v in zip(self.coefs, vals.tolist())), Fraction(0))


def objective_spec(c: Compiled) -> ObjectiveSpec | None:
    """The minimisation form of ``c``'s objective, or None without one."""
    if c.obj is None:
        return None
    sign = 1 if c.obj_sense == "min" else -1
    cols = np.flatnonzero(c.obj)
    coefs = sign * c.obj[cols]
    lb, ub = c.lb[cols], c.ub[cols]
    if c.integral[cols].all():
        ints, _, scale = integer_row(coefs, 0.0) if cols.size else ([], 0, 1)
        low: int | None = 0
        for a, lo, hi in zip(ints, lb.tolist(), ub.tolist()):
            end = lo if a > 0 else hi
            if not np.isfinite(end):
                low = None
                break
            low += a * int(end)
        return ObjectiveSpec(cols, ints, True, scale, sign, c.obj_const, low)
    # no exact a-priori bound for rational objectives: the search proves bounds only through UNSAT answers
    return ObjectiveSpec(cols, coefs.tolist(), False, 1, sign, c.obj_const, None)
