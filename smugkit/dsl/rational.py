"""Exact rationals of float64 coefficients, and integer scaling of rows over integer variables.

Every finite float is a dyadic rational ``n / 2**k``; ``float.as_integer_ratio`` gives it exactly
and fast, so solvers receive the model's weights without rounding.
"""

from __future__ import annotations

from collections.abc import Sequence


def ratio(value: float) -> tuple[int, int]:
    """Exact ``(numerator, denominator)`` of a finite float."""
    return float(value).as_integer_ratio()


def ratios(values: Sequence[float]) -> list[tuple[int, int]]:
    """Exact ratios of many floats (a list comprehension over ``as_integer_ratio``)."""
    return [float(v).as_integer_ratio() for v in values]


def integer_row(coefs: Sequence[float], rhs: float) -> tuple[list[int], int, int]:
    """Scale ``coefs . x (op) rhs`` by the common denominator: integer coefficients, integer rhs, scale.

    The scale is a positive power of two, so the relation and its strictness are unchanged.
    """
    rs = [float(c).as_integer_ratio() for c in coefs]
    rn, rd = float(rhs).as_integer_ratio()
    scale = max([d for _, d in rs] + [rd])
    return [n * (scale // d) for n, d in rs], rn * (scale // rd), scale
