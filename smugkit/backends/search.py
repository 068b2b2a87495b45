"""Shared minimisation over an incremental satisfiability session: binary and linear searches on the
objective bound, warm-started from an incumbent, with next-best enumeration by blocking clauses.

Strategies (integer-valued objectives are scaled to integers first, so every step is exact):

- ``binary``: bisect ``[lower, upper]``; each SAT answer lowers ``upper`` to the model's value.
- ``linear-up`` (UNSAT-to-SAT): ask ``obj <= L`` for ``L = lower, lower+1, ...``; the first SAT is optimal.
- ``linear-down`` (SAT-to-UNSAT): ask for a strictly better value until UNSAT; works for rational objectives.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from smugkit.backends.budget import Budget
from smugkit.backends.objective import ObjectiveSpec

STRATEGIES = ("binary", "linear-up", "linear-down")


class Session(ABC):
    """An incremental solver loaded with one problem; ``check`` adds a temporary objective bound."""

    calls: int = 0

    @abstractmethod
    def check(self, bound: tuple[str, int | Fraction] | None, seconds: float) -> str:
        """'sat' / 'unsat' / 'unknown' under the extra constraint ``objective op value`` (if given)."""

    @abstractmethod
    def model(self) -> np.ndarray:
        """Column values of the last SAT answer (float64; integers exact)."""

    @abstractmethod
    def objective_value(self) -> int | Fraction:
        """Exact minimised objective value of the last SAT answer."""

    @abstractmethod
    def block(self, x: np.ndarray) -> None:
        """Permanently exclude the integer part of assignment ``x``."""


@dataclass
class SearchResult:
    """Outcome of one minimisation."""

    status: str
    x: np.ndarray | None
    value: int | Fraction | None
    lower: int | Fraction | None
    message: str = ""
    trace: list[tuple[str, str, float]] = field(default_factory=list)


def _ask(
    session: Session,
    bound: tuple[str, int | Fraction] | None,
    budget: Budget,
    trace: list[tuple[str, str, float]],
) -> str:
    """One bounded check, recorded in the trace; 'unknown' once the budget is spent."""
    if budget.expired():
        return "unknown"
    ans = session.check(bound, budget.remaining())
    trace.append((f"{bound[0]} {bound[1]}" if bound else "none", ans, round(budget.elapsed(), 4)))
    return ans


def minimize(
    session: Session,
    spec: ObjectiveSpec | None,
    strategy: str,
    budget: Budget,
    incumbent: tuple[np.ndarray, int | Fraction] | None = None,
    lower: int | Fraction | None = None,
) -> SearchResult:
    """Minimise ``spec`` over the session's constraints with ``strategy``, within ``budget``."""
    trace: list[tuple[str, str, float]] = []
    if spec is None:  # satisfiability only
        ans = _ask(session, None, budget, trace)
        if ans == "sat":
            return SearchResult("feasible", session.model(), None, None, "", trace)
        return SearchResult("infeasible" if ans == "unsat" else "unknown", None, None, None, "", trace)
    low = spec.lower if lower is None else (lower if spec.lower is None else max(lower, spec.lower))
    best_x, best_v = incumbent if incumbent is not None else (None, None)
    if strategy in ("binary", "linear-up") and (not spec.integral or low is None):
        strategy = "linear-down"  # bisection needs an integer objective with a finite lower bound
    if strategy == "linear-up":
        return _linear_up(session, spec, budget, low, best_x, best_v, trace)
    if best_x is None:
        ans = _ask(session, None, budget, trace)
        if ans != "sat":
            status = "infeasible" if ans == "unsat" else "unknown"
            return SearchResult(status, None, None, low if ans != "unsat" else None, "", trace)
        best_x, best_v = session.model(), session.objective_value()
    while low is None or low < best_v:
        if strategy == "binary":
            mid = (low + best_v) // 2
            bound = ("<=", mid)
        else:
            bound = ("<=", best_v - 1) if spec.integral else ("<", best_v)
        ans = _ask(session, bound, budget, trace)
        if ans == "sat":
            best_x, best_v = session.model(), session.objective_value()
        elif ans == "unsat":
            low = bound[1] + 1 if spec.integral else best_v
        else:
            break
    proven = low is not None and low >= best_v
    return SearchResult("optimal" if proven else "feasible", best_x, best_v, low, "", trace)


def next_best(
    session: Session,
    spec: ObjectiveSpec | None,
    strategy: str,
    budget: Budget,
    first: SearchResult,
    count: int,
) -> list[SearchResult]:
    """Up to ``count`` further distinct solutions, each found after blocking the previous one."""
    extra: list[SearchResult] = []
    prev = first
    while len(extra) < count and prev.x is not None:
        session.block(prev.x)
        nxt = minimize(
            session, spec, strategy, budget, None, prev.value if prev.status == "optimal" else None
        )
        if nxt.x is None:
            break
        extra.append(nxt)
        prev = nxt
    return extra


def _linear_up(
    session: Session,
    spec: ObjectiveSpec,
    budget: Budget,
    low: int,
    best_x: np.ndarray | None,
    best_v: int | None,
    trace: list[tuple[str, str, float]],
) -> SearchResult:
    """UNSAT-to-SAT: raise the bound from the lower bound until the first SAT answer."""
    top = best_v
    while top is None or low < top:
        ans = _ask(session, ("<=", low), budget, trace)
        if ans == "sat":
            return SearchResult("optimal", session.model(), session.objective_value(), low, "", trace)
        if ans == "unknown":
            break
        low += 1
        if top is None:  # after the first UNSAT, one unbounded check settles feasibility and an upper end
            probe = _ask(session, None, budget, trace)
            if probe == "unsat":
                return SearchResult("infeasible", None, None, None, "", trace)
            if probe != "sat":
                break
            best_x, best_v = session.model(), session.objective_value()
            top = best_v
    if best_x is not None:
        proven = low >= best_v
        return SearchResult("optimal" if proven else "feasible", best_x, best_v, low, "", trace)
    return SearchResult("unknown", None, None, low, "", trace)


def incumbent_value(spec: ObjectiveSpec | None, x: np.ndarray) -> int | Fraction | None:
    """Minimised objective value of an incumbent column vector."""
    return None if spec is None else spec.value(x)
