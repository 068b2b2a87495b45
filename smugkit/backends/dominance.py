"""Dominance between 0/1 columns of a covering problem: ``m_i <= m_j`` when column j is worth at least as
much as column i on every row and costs no more.

For rows ``G m >= g`` (every row an inequality) and a minimised objective ``c.m``: if ``G[:, j] >= G[:, i]``
on every row and ``c_j <= c_i``, swapping ``m_i = 1, m_j = 0`` for ``m_i = 0, m_j = 1`` keeps every row and
does not raise the cost, so some optimum satisfies ``m_i <= m_j`` for all such pairs at once (swaps move a 1
up the dominance order, which is acyclic for distinct columns; equal columns are ordered by index).
The added rows keep an optimum but drop others: they serve a single optimal solve, never enumeration.
"""

from __future__ import annotations

import numpy as np

from smugkit.backends.objective import ObjectiveSpec
from smugkit.dsl.problem import Compiled

_WORK_LIMIT = 5 * 10**8  # column pairs x rows compared; 784 columns x 582 rows (3.6e8) took about a second


def dominance_pairs(c: Compiled, spec: ObjectiveSpec | None, chunk: int = 16) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` with ``m_i <= m_j`` valid for one optimum; empty when the argument does not apply."""
    if spec is None or c.relus or not c.integral.all() or np.any(c.sense == 2):
        return []
    free = np.flatnonzero((c.lb == 0) & (c.ub == 1))
    if free.size < 2 or np.any((c.lb != c.ub) & ~np.isin(np.arange(c.n), free)):
        return []  # a non-0/1 free column: keep it simple and exact
    if free.size * free.size * max(1, c.m) > _WORK_LIMIT:
        return []  # the pairwise test costs n^2 m: skipped on e.g. 3136 columns x 3000 rows (30 s here)
    cost = np.zeros(c.n)
    cost[spec.cols] = np.asarray([float(a) for a in spec.coefs])
    G = -c.A.tocsc()[:, free].toarray()  # rows are A x <= b (or <): G m >= -b
    n = free.size
    ge = cost[free][:, None] <= cost[free][None, :]  # ge[j, i]: j costs no more than i
    for s in range(0, G.shape[0], chunk):
        blk = G[s : s + chunk]
        ge &= (blk[:, :, None] >= blk[:, None, :]).all(axis=0)
    same = ge & ge.T  # equal columns (and equal costs): keep only j < i to stay acyclic
    ge &= ~(same & (np.arange(n)[:, None] > np.arange(n)[None, :]))
    np.fill_diagonal(ge, False)
    js, is_ = np.nonzero(ge)
    return list(zip(free[is_].tolist(), free[js].tolist()))
