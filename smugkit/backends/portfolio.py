"""A portfolio: several backends race on the same problem, one forked process each; the first proved answer
(optimal or infeasible) wins and the others are killed.

``portfolio:highs;exact;z3/pb`` names the members (``,`` works too outside bench lists); plain
``portfolio`` races the exact members that are installed (`DEFAULT_MEMBERS`). Every member gets the same
exactly checked incumbent as a hint; members do not exchange incumbents while running. The winner is
recorded in the Solution's options (``winner``) and message; without a proof, the best exactly valid answer
any member returned is kept, with the best lower bound any member proved (one member's mask and another's
bound can meet: that is a proof too). Members that cannot take the problem (e.g. Exact on real variables)
sit out.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import signal
import time
from fractions import Fraction
from typing import Any

import numpy as np

from smugkit.backends.base import Backend, Capabilities, SolveContext
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.results import join_messages, keep_incumbent
from smugkit.backends.search import SearchResult
from smugkit.dsl.problem import Compiled
from smugkit.dsl.solution import Solution
from smugkit.errors import InputError, ProblemError

DEFAULT_MEMBERS = ("exact", "highs", "z3/pb")
_PROVED = ("optimal", "infeasible")


def parse_members(spec: str) -> list[str]:
    """``"a;b,c"`` -> ``["a", "b", "c"]`` (each a registered backend other than a portfolio, or a MILP
    backend with its prover such as ``highs+exact``)."""
    from smugkit.backends.registry import backend_names, get_backend, split_hybrid

    names = [s.strip() for s in spec.replace(",", ";").split(";") if s.strip()]
    if not names:
        raise InputError("portfolio: name at least one member, e.g. portfolio:highs;exact")
    for n in names:
        base, prover = split_hybrid(n)
        if base not in backend_names() or base.startswith("portfolio"):
            raise InputError(f"portfolio member {n!r} is not a backend; known: {backend_names()}")
        if prover is not None:
            get_backend(n)  # a backend that takes no such prover raises SolverUnavailable
    return list(dict.fromkeys(names))


def _race(jobs: dict[str, Any], seconds: float) -> tuple[str | None, dict[str, Any]]:
    """Run every ``jobs[name]()`` in its own forked child; stop at the first proved Solution.

    Returns (winner or None, name -> Solution or error text) for the members that answered.
    """
    kids: dict[int, tuple[str, int, int]] = {}
    for name, fn in jobs.items():
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgrp()  # its own process group: killing it also ends the solver children it forks
                os.close(r)
                try:
                    payload = pickle.dumps(fn())
                except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
                    payload = pickle.dumps(f"{type(exc).__name__}: {exc}")
                with os.fdopen(w, "wb") as f:
                    f.write(payload)
            finally:
                os._exit(0)
        os.close(w)
        kids[r] = (name, pid, r)
    deadline = time.monotonic() + seconds
    answers: dict[str, Any] = {}
    buffers: dict[int, bytes] = {fd: b"" for fd in kids}
    winner = None
    try:
        while kids and winner is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select(list(kids), [], [], left)
            for fd in ready:
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    buffers[fd] += chunk
                    continue
                name, pid, _ = kids.pop(fd)
                os.close(fd)
                os.waitpid(pid, 0)
                data = buffers.pop(fd)
                answers[name] = pickle.loads(data) if data else "member process died"
                sol = answers[name]
                if winner is None and isinstance(sol, Solution) and sol.status in _PROVED:
                    winner = name
    finally:
        for fd, (_, pid, _) in kids.items():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(fd)
    return winner, answers


class PortfolioBackend(Backend):
    """Several backends in parallel processes; the first proved answer wins."""

    # not exact as a whole: a float member (HiGHS, SCIP) may win with an optimum proved up to tolerances
    capabilities = Capabilities(
        native_optimization=True, incremental=False, exact_arithmetic=False, strategies=("native",)
    )
    default_strategy = "native"
    package = "any member's package"

    def __init__(self, members: list[str] | None = None) -> None:
        self.explicit = members is not None
        self.members = list(members) if members is not None else list(DEFAULT_MEMBERS)
        self.name = "portfolio" + (":" + ";".join(self.members) if self.explicit else "")

    def _members(self) -> list[str]:
        """The members that load here (a named member that does not raises SolverUnavailable)."""
        from smugkit.backends.registry import get_backend

        if self.explicit:
            for m in self.members:
                get_backend(m).version()
            return self.members
        return [m for m in self.members if get_backend(m).available()[0]]

    def version(self) -> str:
        from smugkit.backends.registry import get_backend

        members = self._members()
        if not members:
            raise self.unavailable_error(f"none of {self.members} is installed")
        return "; ".join(f"{m} {get_backend(m).version()}" for m in members)

    def unsupported(self, c: Compiled) -> str | None:
        from smugkit.backends.registry import get_backend

        whys = [get_backend(m).unsupported(c) for m in self._members()]
        return None if any(w is None for w in whys) else f"no member takes it ({'; '.join(whys)})"

    def run(self, ctx: SolveContext) -> tuple[SearchResult, list[SearchResult]]:
        """Race the members within the budget; convert the chosen Solution back to columns."""
        from smugkit.backends.registry import get_backend, solve

        c = ctx.compiled
        members = [m for m in self._members() if get_backend(m).unsupported(c) is None]
        if not members:
            raise ProblemError(f"{self.name}: no member takes this problem")
        hint = c.split(ctx.incumbent[0]) if ctx.incumbent is not None else None
        seconds = max(0.01, ctx.budget.remaining())
        # members stop short of the deadline so that their best answers arrive before they would be killed
        member_seconds = max(0.05, 0.9 * seconds - 0.2)
        jobs = {
            m: (
                lambda m=m: solve(
                    ctx.problem,
                    m,
                    timeout=member_seconds,
                    num_solutions=ctx.num_solutions,
                    seed=ctx.seed,
                    incumbent=hint,
                )
            )
            for m in members
        }
        winner, answers = _race(jobs, seconds)
        ctx.calls = len(members)
        sols = {m: s for m, s in answers.items() if isinstance(s, Solution)}
        if winner is None:  # no proof: the best exactly valid answer, if any
            valid = [m for m, s in sols.items() if s.assignment is not None and s.exact_check is not False]
            if valid:
                winner = min(valid, key=lambda m: (sols[m].objective is None, sols[m].objective or 0.0))
        summary = ", ".join(
            f"{m}: {sols[m].status}" if m in sols else f"{m}: {answers.get(m, 'stopped at the deadline')}"
            for m in members
        )
        ctx.options["winner"] = winner
        if winner is None:
            none = SearchResult("unknown", None, None, None, f"no member answered ({summary})")
            return keep_incumbent(none, ctx.incumbent), []
        best = sols[winner]
        first = self._result(c, ctx, best, join_messages(f"won by {winner}", best.message, summary))
        if first.status == "feasible":
            first = _pooled_bound(ctx.spec, first, sols)
        return first, [self._result(c, ctx, a, a.message) for a in best.alternatives]

    @staticmethod
    def _result(c: Compiled, ctx: SolveContext, sol: Solution, message: str) -> SearchResult:
        status = sol.status
        if sol.assignment is None:
            return SearchResult(status, None, None, None, message)
        given = {v.name: sol.assignment[v.name] for v in c.variables if v.name in sol.assignment}
        for v in c.variables:
            given.setdefault(v.name, np.zeros(v.shape))
        x = np.asarray(c.join(given), dtype=np.float64)
        spec = ctx.spec
        value = spec.value(x) if spec is not None else None
        low = value if status == "optimal" else None
        if status == "optimal_unproven":
            low = None
        return SearchResult(status, x, value, low, message)


def member_bound(spec: ObjectiveSpec | None, sol: Solution) -> int | None:
    """A member's lower bound back in the minimised integer form (None: no bound, or a rational objective).

    ``lower_bound`` is ``to_user`` of an integer, a float rounded to nearest: it is read back to that integer
    when within 1e-6 of it (an integer objective below 2**53 survives the round trip), else rounded up."""
    if spec is None or not spec.integral or sol.lower_bound is None or not math.isfinite(sol.lower_bound):
        return None
    q = (Fraction(sol.lower_bound) - Fraction(spec.const)) * spec.scale * spec.sign
    near = round(q)
    return near if abs(q - near) <= Fraction(1, 10**6) else math.ceil(q)


def _pooled_bound(spec: ObjectiveSpec | None, res: SearchResult, sols: dict[str, Solution]) -> SearchResult:
    """``res`` with the best lower bound any member proved; optimal when that bound meets its value."""
    bounds = {m: b for m, s in sols.items() if (b := member_bound(spec, s)) is not None}
    if not bounds:
        return res
    who = max(bounds, key=bounds.get)
    if res.lower is not None and bounds[who] <= res.lower:
        return res
    res.lower = bounds[who] if res.value is None else min(bounds[who], res.value)
    res.message = join_messages(res.message, f"lower bound {bounds[who]} from {who}")
    if res.value is not None and res.lower >= res.value:
        res.status = "optimal"
        res.message = join_messages(res.message, "optimal: one member's mask meets another's bound")
    return res
