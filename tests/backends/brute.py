"""Independent brute-force optima for the corpus: enumerate integer assignments in numpy, settle
near-ties with fractions, and run tiny ReLU networks forward in exact rationals."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass
class LinearSpec:
    """``rows``: (coefficients over the flat integer vector, rhs, op in <=, <, >=, >, ==); objective data."""

    ranges: list[tuple[int, int]]
    rows: list[tuple[np.ndarray, float, str]]
    obj: np.ndarray | None
    obj_const: float = 0.0
    sense: str = "min"


def _exact_holds(coefs: np.ndarray, rhs: float, op: str, x: np.ndarray) -> bool:
    """The row in exact rationals of the float data."""
    lhs = sum((Fraction(float(a)) * int(v) for a, v in zip(coefs, x) if a and v), Fraction(0))
    r = Fraction(float(rhs))
    return {"<=": lhs <= r, "<": lhs < r, ">=": lhs >= r, ">": lhs > r, "==": lhs == r}[op]


def feasible_points(spec: LinearSpec) -> np.ndarray:
    """All integer points of the box satisfying every row exactly."""
    grids = [np.arange(lo, hi + 1) for lo, hi in spec.ranges]
    X = np.array(list(itertools.product(*grids)), dtype=np.int64).reshape(-1, len(grids))
    ok = np.ones(len(X), dtype=bool)
    for coefs, rhs, op in spec.rows:
        s = X @ coefs - rhs
        tol = 1e-9 * (1 + np.abs(X) @ np.abs(coefs) + abs(rhs))
        sure = {"<=": s < -tol, "<": s < -tol, ">=": s > tol, ">": s > tol, "==": np.zeros_like(s, bool)}[op]
        fail = {"<=": s > tol, "<": s > tol, ">=": s < -tol, ">": s < -tol, "==": np.abs(s) > tol}[op]
        unsure = ~sure & ~fail & ok
        ok &= ~fail
        for i in np.flatnonzero(unsure):
            ok[i] = _exact_holds(coefs, rhs, op, X[i])
    return X[ok]


def brute_linear(spec: LinearSpec) -> tuple[str, Fraction | None, int]:
    """(status, optimum, number of optimal points) of an all-integer problem."""
    pts = feasible_points(spec)
    if len(pts) == 0:
        return "infeasible", None, 0
    if spec.obj is None:
        return "feasible", None, len(pts)
    vals = [
        sum((Fraction(float(a)) * int(v) for a, v in zip(spec.obj, p) if a), Fraction(spec.obj_const))
        for p in pts
    ]
    best = min(vals) if spec.sense == "min" else max(vals)
    return "optimal", best, sum(1 for v in vals if v == best)


def relu_forward(x: list[Fraction], layers: list[tuple[np.ndarray, np.ndarray]]) -> list[Fraction]:
    """Exact forward pass of a ReLU MLP (no ReLU after the last layer)."""
    h = x
    for k, (W, b) in enumerate(layers):
        z = [
            sum((Fraction(float(w)) * v for w, v in zip(row, h) if w and v), Fraction(float(bi)))
            for row, bi in zip(W, b)
        ]
        h = z if k == len(layers) - 1 else [max(v, Fraction(0)) for v in z]
    return h
