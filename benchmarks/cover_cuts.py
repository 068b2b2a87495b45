"""Cover-type cuts, measured and not kept: how far they lift the root LP bound of `bnb`'s rows.

    PYTHONPATH=. python benchmarks/cover_cuts.py --suite digits   # root LP bound, plain and with cuts

The cut: complement the negative columns of a row ``sum_j a_j x_j >= b`` (``y_j = x_j`` where ``a_j > 0``,
else ``1 - x_j``; ``w_j = |a_j|``): ``sum_j w_j y_j >= r = b + sum_{a_j < 0} |a_j|``. For a set S of its
columns, the columns outside S give at most ``sum_{j not in S} w_j``, so S must supply the rest: at least
``t(S)`` of its columns on, ``t(S)`` the fewest of S's largest weights that reach the remainder. The cut
``sum_{j in S} y_j >= t(S)`` holds at every 0/1 point of the row and is computed in exact integers. S is
taken as the columns whose ``y`` is below a threshold (a few thresholds; the first violated cut per row).

What it gave (`--suite digits`, bnb's 20-bit rows): the small CNN first layers gain most (digits_cnn8
window 2: the root bound reaches the optimum on all 6, e.g. s2 k200 5.77 -> 12.00), but Exact already
proves those in milliseconds. On the open 784-bit cnn28 first layers at k = 200 the bound rises by 1.8-4.4
units (s0: 112.0 -> 114.9) against gaps of 12-15 to the best masks known, and on the dense mlp28 rows only s0 window 2 gets cuts
(29.48 -> 29.50). No instance that stays open got within reach, so `bnb` runs without them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

_THRESHOLDS = (0.999, 0.9, 0.7, 0.5, 0.3)  # S = columns whose complemented LP value is below one of these
_VIOLATION = 1e-6  # a cut counts as violated when the LP point misses it by more than this


def separate(A: sp.csr_matrix, b: np.ndarray, x: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Cuts ``C x >= d`` (integer, coefficients +-1) from the rows ``A x >= b`` that the point ``x`` violates;
    at most one per row."""
    indptr, indices, data, rhs = [0], [], [], []
    for i in range(A.shape[0]):
        cols, a = A.indices[A.indptr[i] : A.indptr[i + 1]], A.data[A.indptr[i] : A.indptr[i + 1]]
        neg = a < 0
        w = np.abs(a)
        y = np.where(neg, 1.0 - x[cols], x[cols])
        r = int(b[i]) + int(w[neg].sum())
        for th in _THRESHOLDS:
            inside = y < th
            need = r - int(w[~inside].sum())
            if not inside.any() or need <= 0:
                continue
            reach = np.cumsum(np.sort(w[inside])[::-1])
            if int(reach[-1]) < need:  # the row cannot hold at all: left to the Farkas check
                break
            t = int(np.searchsorted(reach, need)) + 1  # the fewest of S's largest weights that reach `need`
            if y[inside].sum() < t - _VIOLATION:
                indices.extend(cols[inside].tolist())
                data.extend(np.where(neg[inside], -1, 1).tolist())
                indptr.append(len(indices))
                rhs.append(t - int(neg[inside].sum()))
                break
    C = sp.csr_matrix(
        (np.array(data, dtype=np.int64), np.array(indices, dtype=np.int64), np.array(indptr)),
        shape=(len(rhs), A.shape[1]),
    )
    return C, np.array(rhs, dtype=np.int64)


def with_cuts(
    A: sp.csr_matrix,
    b: np.ndarray,
    relaxation: Callable[[sp.csr_matrix, np.ndarray], np.ndarray | None],
    deadline: float,
    rounds: int = 20,
) -> tuple[sp.csr_matrix, np.ndarray, int]:
    """``A, b`` with rounds of cuts added (each round: solve the LP by ``relaxation(A, b)``, separate from the
    original rows), until none is violated, ``rounds`` or ``deadline``; and how many cuts were added."""
    rows, rhs, added = A, b, 0
    for _ in range(rounds):
        if time.monotonic() >= deadline:
            break
        x = relaxation(rows, rhs)
        if x is None:
            break
        C, d = separate(A, b, x)
        if C.shape[0] == 0:
            break
        rows, rhs, added = sp.vstack([rows, C], format="csr"), np.concatenate([rhs, d]), added + C.shape[0]
    return rows, rhs, added


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from smugkit.backends.bnb import BranchAndBound, IntRows, int_rows
    from smugkit.backends.bnb_prover import PB_BITS, acceptor
    from smugkit.backends.objective import objective_spec
    from smugkit.backends.pb_rows import pb_problem
    from smugkit.bench import load_suite
    from smugkit.bench.runner import prepare

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="digits")
    ap.add_argument("--cache", default="bench-out-cuts")
    args = ap.parse_args()
    print(f"{'instance':44s} {'LP':>8s} {'LP+cuts':>8s} {'cuts':>5s}")
    for spec in load_suite(args.suite):
        problem = prepare(spec, Path(args.cache)).encoded.problem
        c = problem.compile()
        obj, pb = objective_spec(c), pb_problem(c)
        rows = int_rows(pb, obj.cols, [int(a) for a in obj.coefs], PB_BITS)
        accept = acceptor(pb)

        def lp(A, b, rows=rows, accept=accept):
            return BranchAndBound(IntRows(A, b, rows.c, rows.fixed), accept).relaxation(time.monotonic() + 10)

        x0 = lp(rows.A, rows.b)
        A, b, added = with_cuts(rows.A, rows.b, lp, time.monotonic() + 10)
        x1 = lp(A, b)
        line = f"{spec.id[:44]:44s} {rows.c @ x0:8.2f} {rows.c @ x1:8.2f} {added:5d}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
