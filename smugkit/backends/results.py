"""Helpers every backend shares: option checking, incumbent preparation and Solution assembly."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.search import SearchResult
from smugkit.dsl.evaluate import exact_completion
from smugkit.dsl.problem import Compiled, Problem
from smugkit.dsl.solution import Solution
from smugkit.errors import InputError

if TYPE_CHECKING:
    from smugkit.backends.base import Backend, SolveContext


def check_options(
    backend: Backend,
    strategy: str,
    options: dict[str, Any],
    choices: dict[str, tuple[Any, ...]],
    free: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Validate the strategy and options of one backend; unknown names and values are InputErrors."""
    if strategy not in backend.capabilities.strategies:
        raise InputError(
            f"backend {backend.name!r} has no strategy {strategy!r}; "
            f"choose one of {list(backend.capabilities.strategies)}"
        )
    opts = dict(options or {})
    for k, v in opts.items():
        if k in choices:
            if v not in choices[k]:
                raise InputError(f"backend {backend.name!r}: option {k}={v!r} not in {list(choices[k])}")
        elif k not in free:
            raise InputError(
                f"backend {backend.name!r}: unknown option {k!r}; known: {sorted(list(choices) + list(free))}"
            )
    return opts


def join_messages(*parts: str) -> str:
    """Solver notes in one line, separated by '; '."""
    return "; ".join(p.strip().rstrip(".") for p in parts if p and p.strip())


def prepare_incumbent(
    problem: Problem,
    c: Compiled,
    spec: ObjectiveSpec | None,
    incumbent: dict[str, Any] | None,
    deadline: float | None = None,
) -> tuple[tuple[np.ndarray, Any] | None, str]:
    """An exactly checked incumbent as (columns, minimised value), or None with the reason it was dropped.

    Without one, a greedy mask thinned until ``deadline`` (a ``time.perf_counter()`` value, or no limit)."""
    if spec is None:
        return None, ""
    if incumbent is None:
        from smugkit.backends.greedy import greedy_incumbent

        x = greedy_incumbent(problem, c, spec, deadline)
        return ((x, spec.value(x)), "warm-started from a greedy 0/1 mask") if x is not None else (None, "")
    missing = [v.name for v in c.variables if v.name not in incumbent and not v.defined]
    if missing:
        return None, f"incumbent ignored: it lacks {', '.join(missing)}"
    given = dict(incumbent)
    if c.relus:  # ReLU outputs follow from the other variables: recompute them exactly
        for v in c.variables:
            given.setdefault(v.name, np.zeros(v.shape))
        given = exact_completion(c, given)
    ev = problem.evaluate(given, exact=True)
    if not ev.feasible:
        return None, f"incumbent ignored: infeasible ({'; '.join(ev.violations[:2])})"
    x = np.array([float(q) for q in c.join(given, dtype=object)])
    return (x, spec.value(x)), "warm-started from incumbent"


def split_assignment(c: Compiled, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-variable arrays; integer domains as int64 (rounded), reals as float64."""
    out = {}
    for v in c.variables:
        o = c.offsets[v.name]
        vals = x[o : o + v.size].reshape(v.shape)
        out[v.name] = np.rint(vals).astype(np.int64) if v.domain.integral else vals.astype(np.float64)
    return out


def _one(
    backend: Backend,
    problem: Problem,
    c: Compiled,
    spec: ObjectiveSpec | None,
    r: SearchResult,
    common: dict[str, Any],
) -> Solution:
    """One Solution from one search result, re-checked on the problem when it has no real columns."""
    assign = split_assignment(c, r.x) if r.x is not None else None
    exact_ok = None
    message = r.message
    status = r.status
    declared_integral = all(v.domain.integral for v in c.variables if not v.defined)
    if assign is not None and declared_integral:
        target = assign if c.integral.all() else exact_completion(c, assign)
        ev = problem.evaluate(target, exact=True)
        exact_ok = ev.feasible
        if not ev.feasible:
            message = join_messages(message, "exact re-check failed: " + "; ".join(ev.violations[:3]))
            status, assign = "unknown", None
    value = (
        spec.to_user(r.value) if (spec is not None and r.value is not None and assign is not None) else None
    )
    bound = spec.bound_to_user(r.lower) if (spec is not None and status != "infeasible") else None
    return Solution(
        status=status,
        assignment=assign,
        objective=value,
        lower_bound=bound,
        message=message,
        exact_check=exact_ok,
        **common,
    )


def build_solution(
    backend: Backend, ctx: SolveContext, res: SearchResult, extra: list[SearchResult]
) -> Solution:
    """The Solution (with alternatives) of one solve."""
    common = {
        "backend": backend.name,
        "backend_version": backend.version(),
        "strategy": ctx.strategy,
        "options": {**ctx.options, "timeout": ctx.timeout},
        "seed": ctx.seed,
    }
    res.message = join_messages(ctx.note, res.message)
    p, c, spec = ctx.problem, ctx.compiled, ctx.spec
    sol = _one(backend, p, c, spec, res, common)
    sol.alternatives = [_one(backend, p, c, spec, r, common) for r in extra]
    sol.solver_calls = ctx.calls
    sol.build_time = round(ctx.build_seconds, 6)
    sol.solve_time = round(max(0.0, ctx.budget.elapsed() - ctx.build_seconds), 6)
    return sol


def keep_incumbent(res: SearchResult, inc: tuple[np.ndarray, Any] | None) -> SearchResult:
    """A native optimiser that ran out of budget without a better answer still returns the incumbent."""
    if inc is not None and res.status == "unknown" and (res.x is None or res.value > inc[1]):
        return SearchResult("feasible", inc[0], inc[1], res.lower, res.message)
    return res


def next_best(
    ctx: SolveContext,
    first: SearchResult,
    binary: bool,
    excluding: Callable[[list[np.ndarray]], SearchResult],
) -> list[SearchResult]:
    """Up to ``ctx.num_solutions - 1`` further answers after ``first``, each from ``excluding(points)``: a
    solve with nogoods over the 0/1 decision columns (``binary``) that excludes every point found so far."""
    results = [first]
    while len(results) < ctx.num_solutions and results[-1].x is not None and not ctx.budget.expired():
        if not binary:
            first.message = join_messages(first.message, "enumeration needs 0/1 decision variables")
            break
        nxt = excluding([r.x for r in results])
        if nxt.x is None:
            break
        results.append(nxt)
    return results[1:]
