"""HiGHS MILP through highspy (the ``[milp]`` extra): floats with tolerances, ReLU by big-M from interval
bounds, native branch-and-bound optimisation; the default backend when installed (fastest by far on the
benchmark). Every answer is re-checked exactly; a violation triggers a re-solve with a safety margin on the
inequality rows, and an answer that still fails is reported as ``unknown``, never as valid. Optionally the
optimum is proven exactly by an SMT backend (``certify="z3"``, ``"cvc5"``, ``"pysmt:z3"`` ...:
``objective <= K*-1`` must be UNSAT).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from smugkit.backends.base import Backend, Budget, Capabilities, SolveContext
from smugkit.backends.budget import BudgetExpired
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.results import join_messages, prepare_incumbent
from smugkit.backends.search import SearchResult
from smugkit.dsl.evaluate import exact_completion
from smugkit.dsl.problem import Compiled, Problem
from smugkit.errors import ProblemError

_MARGINS = (0.0, 1e-6, 1e-5, 1e-4)  # relative safety margins tried on inequality rows


_QUIET = False


_PID = os.getpid()

_SCHEDULER: int | None = None  # the thread setting HiGHS's global scheduler runs under (None: its default)


def _highspy():
    """Import highspy lazily; the first Highs() is built with stdout muted (it prints a banner).

    In a forked child (e.g. a portfolio member) HiGHS's thread pool, copied mid-state from the parent,
    deadlocks the next run: the child resets the global scheduler first. So does a process whose thread
    setting (`smugkit.threads`) changed: HiGHS refuses to run with a ``threads`` option other than its
    scheduler's.
    """
    global _QUIET, _PID, _SCHEDULER
    import highspy

    from smugkit.threads import threads

    n = threads()
    if os.getpid() != _PID or n != _SCHEDULER:
        _PID, _SCHEDULER = os.getpid(), n
        highspy.Highs.resetGlobalScheduler(True)
    if not _QUIET:
        _QUIET = True
        with _muted_stdout():
            highspy.Highs()
    return highspy


@contextlib.contextmanager
def _muted_stdout() -> Iterator[None]:
    """Silence file descriptor 1 (C++ output bypasses sys.stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def relu_rows(c: Compiled) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """Big-M rows of every ReLU over columns ``[x, d]``: (matrix, row lower, row upper, #d, d lb, d ub).

    Per neuron, in order: none when inactive (``hi <= 0``, y fixed to 0 by its bounds); ``y = arg`` when active
    (``lo >= 0``); else ``y >= arg``, ``y <= arg - lo (1 - d)``, ``y <= hi d`` with a new binary ``d``. Built
    as sparse blocks per ReLU term (one sparse subtraction and index arithmetic), not row by row.
    """
    blocks, lows, highs, n_d = [], [], [], 0
    inf = np.inf
    for rl in c.relus:
        lo, hi = np.asarray(rl.lo, np.float64), np.asarray(rl.hi, np.float64)
        k = lo.size
        active = (hi > 0) & (lo >= 0)
        unstable = (hi > 0) & (lo < 0)
        bad = np.flatnonzero(unstable & ~(np.isfinite(lo) & np.isfinite(hi)))
        if bad.size:
            i = int(bad[0])
            raise ProblemError(
                f"relu {rl.name}.{i}: the MILP encoding needs finite pre-activation bounds, "
                f"got [{lo[i]}, {hi[i]}]"
            )
        count = active + 3 * unstable
        first = np.concatenate([[0], np.cumsum(count)[:-1]])
        n_rows = int(count.sum())
        d_of = n_d + np.cumsum(unstable) - 1  # d index of each unstable neuron
        y = np.asarray(rl.out, np.int64)
        ey = sp.csr_matrix((np.ones(k), (np.arange(k), y)), shape=(k, c.n))
        M = (ey - sp.csr_matrix(rl.R)).tocoo()  # y - arg, one row per neuron
        keep = count[M.row] > 0
        mr, mc, mv = M.row[keep], M.col[keep], M.data[keep]
        twice = unstable[mr]
        u = np.flatnonzero(unstable)
        rows = np.concatenate([first[mr], first[mr[twice]] + 1, first[u] + 2, first[u] + 1, first[u] + 2])
        cols = np.concatenate([mc, mc[twice], y[u], c.n + d_of[u], c.n + d_of[u]])
        vals = np.concatenate([mv, mv[twice], np.ones(u.size), -lo[u], -hi[u]])
        n_d += u.size
        blocks.append((rows, cols, vals, n_rows))
        r = np.asarray(rl.r, np.float64)
        low, up = np.empty(n_rows), np.empty(n_rows)
        a = np.flatnonzero(active)
        low[first[a]], up[first[a]] = r[a], r[a]
        low[first[u]], up[first[u]] = r[u], inf
        low[first[u] + 1], up[first[u] + 1] = -inf, r[u] - lo[u]
        low[first[u] + 2], up[first[u] + 2] = -inf, 0.0
        lows.append(low)
        highs.append(up)
    total = sum(b[3] for b in blocks)
    if not total:
        return sp.csr_matrix((0, c.n)), np.zeros(0), np.zeros(0), 0, np.zeros(0), np.zeros(0)
    offsets = np.concatenate([[0], np.cumsum([b[3] for b in blocks])[:-1]])
    rows = np.concatenate([b[0] + o for b, o in zip(blocks, offsets)])
    cols = np.concatenate([b[1] for b in blocks])
    vals = np.concatenate([b[2] for b in blocks])
    R = sp.csr_matrix((vals, (rows, cols)), shape=(total, c.n + n_d))
    R.sort_indices()
    return R, np.concatenate(lows), np.concatenate(highs), n_d, np.zeros(n_d), np.ones(n_d)


class _Model:
    """One HiGHS model of a compiled problem, re-solvable with extra rows and row margins."""

    def __init__(
        self, hs: Any, c: Compiled, spec: ObjectiveSpec | None, seed: int, strict_margin: float
    ) -> None:
        self.hs, self.c = hs, c
        self.h = hs.Highs()
        h = self.h
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", int(seed))
        h.setOptionValue("mip_rel_gap", 0.0)
        if _SCHEDULER is not None:
            h.setOptionValue("threads", _SCHEDULER)
        R, rlo, rhi, n_d, dlo, dhi = relu_rows(c)
        self.n_total = c.n + n_d
        cost = np.zeros(self.n_total)
        if spec is not None:
            cost[spec.cols] = (
                np.asarray(spec.coefs, dtype=np.float64) / spec.scale if spec.integral else spec.coefs
            )
        lb = np.concatenate([c.lb, dlo])
        ub = np.concatenate([c.ub, dhi])
        h.addCols(
            self.n_total,
            cost,
            np.where(np.isinf(lb), -hs.kHighsInf, lb),
            np.where(np.isinf(ub), hs.kHighsInf, ub),
            0,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        integ = np.concatenate([c.integral, np.ones(n_d, dtype=bool)])
        idx = np.flatnonzero(integ).astype(np.int32)
        if idx.size:
            h.changeColsIntegrality(idx.size, idx, np.full(idx.size, 1, dtype=np.uint8))
        A = sp.hstack([c.A, sp.csr_matrix((c.m, n_d))], format="csr") if n_d else c.A
        self.scale = np.maximum(
            1.0, np.maximum(np.abs(c.b), abs(c.A).max(axis=1).toarray().ravel() if c.m else np.zeros(0))
        )
        self.strict_margin = strict_margin
        self.m_rows = c.m
        self._add_rows(A, *self._row_bounds(0.0))
        if R.shape[0]:
            self._add_rows(R, rlo, rhi)

    def _row_bounds(self, margin: float) -> tuple[np.ndarray, np.ndarray]:
        """Row bounds of the problem rows with a relative margin on inequalities."""
        c = self.c
        up = c.b.astype(np.float64).copy()
        shift = (margin + np.where(c.sense == 1, self.strict_margin, 0.0)) * self.scale
        up[c.sense != 2] -= shift[c.sense != 2]
        low = np.where(c.sense == 2, c.b, -np.inf)
        return low, up

    def _add_rows(self, A: sp.csr_matrix, low: np.ndarray, up: np.ndarray) -> None:
        inf = self.hs.kHighsInf
        A = sp.csr_matrix(A)
        if A.shape[1] < self.n_total:
            A = sp.hstack([A, sp.csr_matrix((A.shape[0], self.n_total - A.shape[1]))], format="csr")
        self.h.addRows(
            A.shape[0],
            np.where(np.isinf(low), -inf, low),
            np.where(np.isinf(up), inf, up),
            A.nnz,
            A.indptr[:-1].astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(np.float64),
        )

    def set_margin(self, margin: float) -> None:
        """Shift the inequality rows inward by ``margin`` (relative to each row's scale)."""
        if self.m_rows:
            low, up = self._row_bounds(margin)
            inf = self.hs.kHighsInf
            idx = np.arange(self.m_rows, dtype=np.int32)
            self.h.changeRowsBounds(
                self.m_rows, idx, np.where(np.isinf(low), -inf, low), np.where(np.isinf(up), inf, up)
            )

    def set_start(self, x: np.ndarray) -> None:
        """Warm-start from columns ``x`` (ReLU indicator columns left at 0)."""
        sol = self.hs.HighsSolution()
        sol.col_value = list(x) + [0.0] * (self.n_total - self.c.n)
        self.h.setSolution(sol)

    def add_nogood(self, x: np.ndarray, cols: np.ndarray) -> None:
        """Exclude the 0/1 values of ``x`` on ``cols``."""
        v = np.rint(x[cols])
        coef = np.where(v > 0.5, -1.0, 1.0)
        row = sp.csr_matrix((coef, (np.zeros(cols.size, dtype=np.int64), cols)), shape=(1, self.n_total))
        self._add_rows(row, np.array([1.0 - v.sum()]), np.array([np.inf]))

    def run(self, seconds: float) -> tuple[str, np.ndarray | None, float | None]:
        """Solve; returns (status, columns, dual bound)."""
        h, hs = self.h, self.hs
        h.setOptionValue("time_limit", max(0.01, float(seconds)))
        h.run()
        st = h.getModelStatus()
        info = h.getInfo()
        has_x = info.primal_solution_status == 2
        x = np.asarray(h.getSolution().col_value)[: self.c.n] if has_x else None
        bound = info.mip_dual_bound if np.isfinite(info.mip_dual_bound) else None
        if st == hs.HighsModelStatus.kOptimal:
            return "optimal", x, bound
        if st == hs.HighsModelStatus.kInfeasible:
            return "infeasible", None, None
        return ("feasible" if has_x else "unknown"), x, bound


#: seconds per non-zero kept back on problems with ReLU rows for the MILP solver's late stop (at most a tenth
#: of the budget): it checks its time limit between LP iterations, whose cost grows with the non-zeros, and
#: on the full encoding of a CNN (~0.25M non-zeros, a root LP of seconds) HiGHS stopped 1-3 s late
#: (`benchmarks/end_to_end.py --only full`)
LATE_STOP_PER_NNZ = 1e-5


def _reserve(c: Compiled, budget: Budget) -> float:
    """Seconds of the budget kept back from HiGHS for what follows it: the exact re-check, the greedy fall-back
    mask and the Solution's own re-check (a share of the budget plus a term growing with the problem), and
    for ReLU rows the solver's late stop."""
    if budget.seconds is None:
        return 0.0
    relu_nnz = sum(rl.R.nnz for rl in c.relus)  # exact completions re-check every ReLU row
    work = 1e-6 * (c.A.nnz + c.n) + 8e-6 * relu_nnz
    late = min(0.1 * budget.seconds, LATE_STOP_PER_NNZ * (c.A.nnz + relu_nnz)) if c.relus else 0.0
    return min(0.5 * budget.remaining(), 0.1 + 0.02 * budget.seconds + work + late)


def _report_progress(h: Any, ctx: SolveContext, spec: ObjectiveSpec | None) -> None:
    """Keep ``ctx.live`` at HiGHS's incumbent and dual bound (objective units) for a live progress line."""
    scale = spec.scale if spec is not None and spec.integral else 1.0

    def report(e: Any) -> None:
        ctx.live["incumbent"] = e.data_out.mip_primal_bound * scale
        ctx.live["bound"] = e.data_out.mip_dual_bound * scale

    h.cbMipImprovingSolution.subscribe(report)
    h.cbMipInterrupt.subscribe(report)


class HighsBackend(Backend):
    """HiGHS MILP (highspy)."""

    name = "highs"
    package = "highspy"
    extra = "milp"
    capabilities = Capabilities(
        native_optimization=True, incremental=False, exact_arithmetic=False, strategies=("native",)
    )
    default_strategy = "native"
    own_relaxation = True

    def version(self) -> str:
        try:
            hs = _highspy()
        except ImportError as exc:
            raise self.unavailable_error(str(exc)) from None
        h = hs.Highs()
        return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"

    def choices(self) -> dict[str, tuple[Any, ...]]:
        from smugkit.backends.registry import prover_names

        return {"certify": (None, *prover_names())}

    free_options = ("strict_margin",)  # strict rows shift inward by this times the row scale

    def incumbent(self, ctx: SolveContext, given: dict[str, Any] | None) -> tuple[Any, str]:
        # a given incumbent warm-starts HiGHS; the greedy mask is only a fall-back for an unfinished solve
        # (HiGHS's own heuristics find good masks at once, and the greedy pass would dominate the build)
        return (
            prepare_incumbent(ctx.problem, ctx.compiled, ctx.spec, given) if given is not None else (None, "")
        )

    def run(self, ctx: SolveContext) -> tuple[SearchResult, list[SearchResult]]:
        """Branch and bound, exact re-check with margin repair, optional exact certificate, enumeration."""
        t0 = time.perf_counter()
        problem, c, spec, budget, opts = ctx.problem, ctx.compiled, ctx.spec, ctx.budget, ctx.options
        inc = ctx.incumbent
        try:
            model = self.make_model(c, spec, ctx.seed, float(opts.get("strict_margin", 1e-6)), budget)
        except BudgetExpired as e:  # the best known answer: the checked incumbent, if any
            ctx.build_seconds = time.perf_counter() - t0
            res = SearchResult("unknown", None, None, None, f"{e}")
            if inc is not None:
                res = SearchResult("feasible", inc[0], inc[1], None, f"{e}")
            return res, []
        if hasattr(model, "h"):  # a HiGHS model (subclasses may build another solver's)
            _report_progress(model.h, ctx, spec)
        if inc is not None:
            model.set_start(inc[0])
        ctx.build_seconds = time.perf_counter() - t0
        results: list[SearchResult] = []
        decision = np.array(
            [
                j
                for v in c.variables
                if not v.defined and v.domain.integral
                for j in range(c.offsets[v.name], c.offsets[v.name] + v.size)
            ],
            dtype=np.int64,
        )
        # with a prover, the MILP solver gets half the budget: the other half is the prover's
        milp_budget = Budget(budget.remaining() / 2) if opts.get("certify") and budget.seconds else budget
        while len(results) < ctx.num_solutions:
            res, k = self._solve_checked(problem, c, spec, model, milp_budget if not results else budget)
            ctx.calls += k
            if res.x is None:
                if not results:
                    results.append(res)
                break
            results.append(res)
            if len(results) < ctx.num_solutions:
                if decision.size == 0 or np.any(c.ub[decision] - c.lb[decision] > 1):
                    res.message += " enumeration needs 0/1 decision variables with HiGHS"
                    break
                model.add_nogood(res.x, decision)
        first = results[0]
        if inc is None and first.status not in ("optimal", "infeasible"):
            inc, ctx.note = prepare_incumbent(problem, c, spec, None, budget.deadline)
        if (
            inc is not None
            and spec is not None
            and (first.x is None or first.value > inc[1])
            and first.status != "infeasible"
        ):
            first = SearchResult(
                "feasible",
                inc[0],
                inc[1],
                first.lower,
                join_messages(first.message, "HiGHS did not beat the incumbent within the budget."),
            )
        if (
            opts.get("certify")
            and first.status in ("optimal", "feasible")
            and spec is not None
            and spec.integral
        ):
            first, k = self._certify(c, spec, first, budget, ctx.seed, opts["certify"])
            ctx.calls += k
        return first, results[1:]

    def make_model(
        self,
        c: Compiled,
        spec: ObjectiveSpec | None,
        seed: int,
        strict_margin: float,
        budget: Budget | None = None,
    ) -> Any:
        """The MILP model of ``c`` (HiGHS here; another MILP solver overrides this and nothing else).

        A builder slow enough to matter checks ``budget`` and raises `BudgetExpired` (HiGHS builds in bulk)."""
        return _Model(_highspy(), c, spec, seed, strict_margin)

    def _solve_checked(
        self, problem: Problem, c: Compiled, spec: ObjectiveSpec | None, model: Any, budget: Budget
    ) -> tuple[SearchResult, int]:
        """Solve, re-check exactly, and re-solve with growing margins until the answer holds exactly."""
        calls = 0
        msg = ""
        for margin in _MARGINS:
            if budget.expired() and calls:
                break
            model.set_margin(margin)
            status, x, bound = model.run(max(budget.remaining() - _reserve(c, budget), 0.05))
            calls += 1
            if x is None:
                return SearchResult(
                    status
                    if status == "infeasible" and margin == 0.0
                    else ("unknown" if status == "infeasible" else status),
                    None,
                    None,
                    None,
                    msg.strip(),
                ), calls
            x = np.where(c.integral, np.rint(x), x)
            x = np.clip(x, c.lb, c.ub)
            assign = {
                v.name: x[c.offsets[v.name] : c.offsets[v.name] + v.size].reshape(v.shape)
                for v in c.variables
            }
            exact = assign if not c.relus else exact_completion(c, assign)
            ev = problem.evaluate(exact, exact=True)
            if ev.feasible:
                if c.relus:
                    for v in c.variables:
                        if v.defined:
                            o = c.offsets[v.name]
                            x[o : o + v.size] = np.array([float(q) for q in exact[v.name].ravel()])
                value = spec.value(x) if spec is not None else None
                low = None
                if spec is not None and bound is not None:
                    scaled = bound * spec.scale if spec.integral else bound
                    low = int(np.ceil(scaled - 1e-6)) if spec.integral else None
                if margin > 0.0 and status == "optimal":
                    status = "feasible"  # the margin may have cut off the true optimum
                    msg += f" optimum of the problem tightened by a relative margin {margin:g}."
                if status == "optimal" and spec is not None:
                    low = value
                if spec is None:
                    status = "feasible"
                return SearchResult(status, x, value, low, msg.strip()), calls
            msg += (
                f" exact re-check failed at margin {margin:g} ({ev.violations[0] if ev.violations else ''});"
            )
        return SearchResult("unknown", None, None, None, (msg + " no exactly valid answer").strip()), calls

    def _certify(
        self, c: Compiled, spec: ObjectiveSpec, res: SearchResult, budget: Budget, seed: int, prover: str
    ) -> tuple[SearchResult, int]:
        """Ask ``prover`` whether ``objective <= K*-1`` is satisfiable; UNSAT proves the HiGHS optimum exactly."""
        from smugkit.backends.lowering import Lowerer
        from smugkit.backends.registry import get_prover
        from smugkit.backends.smt_common import SmtSession

        b = get_prover(prover)
        b.version()  # a prover that is not installed raises SolverUnavailable naming its extra
        if hasattr(b, "prove_bound"):  # a pseudo-Boolean prover: exact integer rows, no SMT session
            why = b.unsupported(c)
            if why:
                ans, better_x = "declined", None
                res.message = join_messages(res.message, f"{prover} cannot certify: {why}")
            else:
                ans, better_x = b.prove_bound(c, spec, res.value - 1, budget.remaining(), res.x)
                if getattr(b, "last", ""):  # a prover that delegates (auto) says to whom
                    prover = f"{prover} -> {b.last}"
            if ans in ("sat", "optimal"):  # a better mask; "optimal": the prover also proved it best
                v, proved = spec.value(better_x), ans == "optimal"
                msg = f"{prover} found a better exact solution than HiGHS" + (
                    " and proved it optimal." if proved else "."
                )
                status = "optimal" if proved else "feasible"
                return SearchResult(
                    status, better_x, v, v if proved else None, join_messages(res.message, msg)
                ), 1
        elif getattr(b, "core_default", False) and spec.integral and b.encoding({}, c) == "pb":
            # core-guided lower bounds until they meet K*: UNSAT of K*-1 without one hard refutation
            r, _ = b.core_search(c, spec, {}, budget, seed, (res.x, res.value))
            better = r.value is not None and r.value < res.value
            ans = "unsat" if r.status == "optimal" and not better else ("sat" if better else "unknown")
            if better:
                msg = f"{prover} found a better exact solution than HiGHS."
                return SearchResult("feasible", r.x, r.value, None, join_messages(res.message, msg)), 1
        else:
            eng = b.make_engine(c, seed, {})
            lw = Lowerer(c, eng.builder, budget=budget)
            try:
                lowered = lw.lower(spec)
            except BudgetExpired as e:
                res.message = join_messages(res.message, f"not proven exactly by {prover}: {e}.")
                return res, 0
            session = SmtSession(eng, lw, lowered, spec, "fresh")
            ans = session.check(("<=", res.value - 1), budget.remaining())
        if ans == "unsat":
            res.message = join_messages(res.message, f"optimality proven exactly by {prover}.")
            res.lower = res.value
            res.status = "optimal"
        elif ans == "sat":
            better = session.model()
            res = SearchResult(
                "feasible",
                better,
                session.objective_value(),
                None,
                join_messages(res.message, f"{prover} found a better exact solution than HiGHS."),
            )
        else:
            if ans != "declined":
                res.message = join_messages(res.message, f"exact certificate by {prover} timed out.")
            if res.status == "optimal":  # optimal up to HiGHS's tolerances, but not proven exactly
                res.status = "optimal_unproven"
        return res, 1
