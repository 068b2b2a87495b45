"""Exact sums and dot products of float64 values in integer arithmetic, vectorised.

Every finite float is a dyadic rational ``m * 2**e`` with an integer ``|m| < 2**53``. A product of two floats
is a sum of four such terms once each mantissa is split into 27- and 26-bit halves (every partial product
fits in int64), and a sum of terms is exact in integers after bucketing them by exponent: within a bucket
numpy adds int64 halves that cannot overflow, and only the few bucket totals become Python integers.
This replaces one `fractions.Fraction` per term (the slow path) with a handful of array passes.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.sparse as sp

_LO = 27  # mantissa = hi * 2**27 + lo, 0 <= lo < 2**27, |hi| < 2**26
_HALF = 32  # bucket sums add the low and high 32-bit halves of each term separately


def split(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer mantissas and exponents with ``v == m * 2**e`` exactly (zeros give m = 0)."""
    f, e = np.frexp(np.asarray(v, np.float64))
    return np.ldexp(f, 53).astype(np.int64), e.astype(np.int64) - 53


def products(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact products ``a * x`` as terms ``m * 2**e`` (four per product), with the index of each product."""
    ma, ea = split(a)
    mx, ex = split(x)
    ah, al = ma >> _LO, ma & ((1 << _LO) - 1)
    xh, xl = mx >> _LO, mx & ((1 << _LO) - 1)
    e = ea + ex
    n = ma.size
    m = np.concatenate([ah * xh, ah * xl, al * xh, al * xl])  # each |.| < 2**54
    ee = np.concatenate([e + 2 * _LO, e + _LO, e + _LO, e])
    return m, ee, np.tile(np.arange(n), 4)


def _to_fraction(total: int, e: int) -> Fraction:
    return Fraction(total << e) if e >= 0 else Fraction(total, 1 << -e)


def grouped_sums(m: np.ndarray, e: np.ndarray, group: np.ndarray, groups: int) -> list[Fraction]:
    """Exact ``sum(m * 2**e)`` per group (``group`` gives each term's group in ``range(groups)``)."""
    out = [Fraction(0)] * groups
    keep = m != 0
    m, e, group = m[keep], e[keep], group[keep]
    if m.size == 0:
        return out
    if m.size >= 1 << 30:
        raise ValueError("grouped_sums: at most 2**30 terms per call")
    e0 = int(e.min())
    keys = group.astype(np.int64) * (int(e.max()) - e0 + 1) + (e - e0)
    uniq, inv = np.unique(keys, return_inverse=True)
    lo = np.zeros(uniq.size, np.int64)
    hi = np.zeros(uniq.size, np.int64)
    np.add.at(lo, inv, m & ((1 << _HALF) - 1))  # < 2**32 each: at most 2**30 of them fit in int64
    np.add.at(hi, inv, m >> _HALF)  # |.| < 2**22 each
    g, shift = np.divmod(uniq, int(e.max()) - e0 + 1)
    totals: dict[int, int] = {}
    for gi, s, h, low in zip(g.tolist(), shift.tolist(), hi.tolist(), lo.tolist()):
        totals[gi] = totals.get(gi, 0) + (((h << _HALF) + low) << s)
    for gi, t in totals.items():
        out[gi] = _to_fraction(t, e0)
    return out


def exact_dot(a: np.ndarray, x: np.ndarray, const: float = 0.0) -> Fraction:
    """``const + sum(a * x)`` exactly."""
    m, e, _ = products(np.append(np.asarray(a, np.float64).ravel(), const), np.append(np.ravel(x), 1.0))
    return grouped_sums(m, e, np.zeros(m.size, np.int64), 1)[0]


def exact_residuals(A: sp.csr_matrix, b: np.ndarray, x: np.ndarray, rows: np.ndarray) -> list[Fraction]:
    """Exact ``A[r] @ x - b[r]`` for each ``r`` in ``rows`` (float64 data, float64 ``x``)."""
    rows = np.asarray(rows, np.int64)
    if rows.size == 0:
        return []
    sub = A[rows].tocoo()
    a = np.concatenate([sub.data, -np.asarray(b, np.float64)[rows]])
    xv = np.concatenate([np.asarray(x, np.float64)[sub.col], np.ones(rows.size)])
    which = np.concatenate([sub.row, np.arange(rows.size)])
    m, e, idx = products(a, xv)
    return grouped_sums(m, e, which[idx], rows.size)


# -- exact vectors of big dyadic values: ``X * 2**E`` with an object array of Python ints and one exponent --
def from_floats(v: np.ndarray) -> tuple[np.ndarray, int]:
    """Floats as Python-int numerators over one power of two."""
    m, e = split(v)
    E = int(e[m != 0].min()) if np.any(m != 0) else 0
    return m.astype(object) << np.where(m != 0, e - E, 0).astype(object), E


def from_fractions(q) -> tuple[np.ndarray, int] | None:
    """Rationals with power-of-two denominators as numerators over one power of two (None otherwise)."""
    q = [Fraction(v) for v in np.ravel(np.asarray(q, dtype=object))]
    den = [f.denominator for f in q]
    if any(d & (d - 1) for d in den):
        return None
    k = max(d.bit_length() - 1 for d in den) if den else 0
    return np.array([f.numerator << (k - d.bit_length() + 1) for f, d in zip(q, den)], dtype=object), -k


def align(X: np.ndarray, E: int, F: int) -> np.ndarray:
    """Numerators of ``X * 2**E`` over ``2**F`` (``F <= E``)."""
    return X << (E - F) if E > F else X


def affine_ints(A: sp.csr_matrix, r: np.ndarray, X: np.ndarray, E: int) -> tuple[np.ndarray, int]:
    """``A x + r`` exactly for ``x = X * 2**E`` (float64 ``A``, ``r``), as numerators over one power of two."""
    A = sp.csr_matrix(A)
    ma, ea = split(A.data)
    mr, er = split(r)
    nz_a, nz_r = ma != 0, mr != 0
    F = min([E + int(ea[nz_a].min())] if nz_a.any() else [E], default=E)
    F = min(F, int(er[nz_r].min())) if nz_r.any() else F
    terms = (ma.astype(object) << np.where(nz_a, ea + E - F, 0).astype(object)) * X[A.indices]
    out = np.array([0] * A.shape[0], dtype=object)
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    np.add.at(out, rows, terms)
    shift = np.where(nz_r, er - F, 0)
    return out + (mr.astype(object) << shift.astype(object)), F


def to_fractions(X: np.ndarray, E: int) -> np.ndarray:
    """``X * 2**E`` as an object array of Fractions."""
    if E >= 0:
        return np.array([Fraction(int(v) << E) for v in X], dtype=object)
    d = 1 << -E
    return np.array([Fraction(int(v), d) for v in X], dtype=object)
