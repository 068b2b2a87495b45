"""CP-SAT (OR-tools, the ``[cpsat]`` extra): lazy clause generation with LP cuts, over integer rows.

CP-SAT takes only integer coefficients and reasons in 64-bit integers, but it is not safe with big ones: on
the bundled demo's exactly scaled rows (57-bit integers) it reported 35 as *optimal* where the optimum is 34,
and on 54 digits instances the exact integers gave 4 wrong optima, rows rounded to 40 bits 3; at 16-30 bits
every optimum matched Exact (`benchmarks/cpsat_cross_check.py`). So every 0/1 row is rounded *outward* to
``pb_bits`` bits (default 20; `pb_lowering.round_outward`): a relaxation, whose models are re-checked on the
exact rows. An optimum is reported only for a model that passes that check, and, as for HiGHS and SCIP, the
optimality itself is the solver's word, not an exact proof (CP-SAT is not offered as a hybrid's prover).

CP-SAT runs in a process of its own (`cpsat_worker`, started with this interpreter): OR-tools bundles its own
HiGHS and crashes when loaded beside highspy. The child streams every improving model and is killed at the
deadline, so the budget holds even if CP-SAT overruns its own time limit.
"""

from __future__ import annotations

import json
import math
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from smugkit.backends.base import Backend, Capabilities, SolveContext
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.pb_lowering import ge_rows, over_columns, round_outward
from smugkit.backends.pb_rows import PbProblem, check_integer_point, pb_problem, pb_unsupported
from smugkit.backends.results import join_messages, keep_incumbent, next_best
from smugkit.backends.search import SearchResult
from smugkit.dsl.problem import Compiled
from smugkit.errors import InputError
from smugkit.threads import cores, threads

WORKER = Path(__file__).with_name("cpsat_worker.py")
_SLACK = 0.3  # seconds the parent waits past the deadline before killing the child
PB_BITS = 20  # default coefficient size: well below the 40 bits at which CP-SAT gave wrong optima
MAX_BITS = 30  # the largest size at which every optimum still matched Exact


def cpsat_rows(pb: PbProblem, bits: int = PB_BITS) -> tuple[list[list[Any]], int]:
    """The rows as ``[cols, coefs, lo, hi]`` with coefficients below ``2**bits``, and how many were rounded
    outward to get there (a row over wider integers cannot be: ValueError if one is too big)."""
    out, relaxed = [], 0
    for row in pb.rows:
        if max(abs(a) for a in row.coefs) < (1 << bits) and max(abs(row.lo or 0), abs(row.hi or 0)) < 2**62:
            out.append([row.cols, row.coefs, row.lo, row.hi])
            continue
        if not all(pb.lb[j] >= 0 and pb.ub[j] <= 1 for j in row.cols):
            raise ValueError(f"a row over wider integers has coefficients of {bits} bits or more")
        for g in ge_rows(row):
            r = round_outward(g, bits)
            coefs, rhs = over_columns(r)
            out.append([r.cols, coefs, rhs, None])
            relaxed += 1
    return out, relaxed


class CpsatBackend(Backend):
    """CP-SAT (OR-tools) in a child process, on outward-rounded integer rows; models re-checked exactly."""

    name = "cpsat"
    package = "ortools"
    extra = "cpsat"
    capabilities = Capabilities(
        native_optimization=True, incremental=False, exact_arithmetic=False, strategies=("native",)
    )
    default_strategy = "native"
    #: row coefficient sizes, as for the SMT backends' pb rows, up to the largest that matched Exact
    option_choices: ClassVar[dict[str, tuple[Any, ...]]] = {"pb_bits": (8, 12, 16, 20, 24, MAX_BITS)}
    free_options = ("workers",)  # CP-SAT search workers (default: SMUGKIT_THREADS, else the cores here)

    def version(self) -> str:
        # never import ortools here: it cannot share this process with highspy
        import importlib.util
        from importlib.metadata import PackageNotFoundError, version

        try:
            if importlib.util.find_spec("ortools") is None:
                raise PackageNotFoundError("ortools")
            return version("ortools")
        except (PackageNotFoundError, ValueError) as exc:
            raise self.unavailable_error(f"no module named {exc}") from None

    def unsupported(self, c: Compiled) -> str | None:
        why = pb_unsupported(c)
        if why is None and c.obj is not None and not c.integral[np.flatnonzero(c.obj)].all():
            why = "CP-SAT needs an integer objective"
        return why

    def run(self, ctx: SolveContext) -> tuple[SearchResult, list[SearchResult]]:
        """Minimise once; further optima with nogoods over the 0/1 decision columns."""
        from smugkit.backends.exact_backend import decision_columns

        pb = pb_problem(ctx.compiled)
        if pb.trivially_infeasible:
            return SearchResult("infeasible", None, None, None, "a constant row fails"), []
        bits = ctx.options.get("pb_bits", PB_BITS)
        workers = ctx.options.get("workers", threads() or cores())
        if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 1024:
            raise InputError(
                f"backend 'cpsat': option workers must be an integer in [1, 1024], got {workers!r}"
            )
        try:
            rows, relaxed = cpsat_rows(pb, bits)
        except ValueError as exc:
            return SearchResult("unknown", None, None, None, f"cpsat: {exc}"), []
        decision = decision_columns(ctx.compiled)
        hint = ctx.incumbent[0] if ctx.incumbent is not None else None
        first = keep_incumbent(self._one(ctx, pb, rows, [], hint, workers), ctx.incumbent)
        if relaxed:
            first.message = join_messages(
                first.message, f"{relaxed} rows rounded outward to {bits} bits, models re-checked"
            )

        def excluding(points: list[np.ndarray]) -> SearchResult:
            blocked = [[decision.tolist(), np.rint(x[decision]).astype(int).tolist()] for x in points]
            return self._one(ctx, pb, rows, blocked, None, workers)

        return first, next_best(ctx, first, pb.binary_on(decision), excluding)

    def _one(
        self,
        ctx: SolveContext,
        pb: PbProblem,
        rows: list[list[Any]],
        blocked: list[list[Any]],
        hint: np.ndarray | None,
        workers: int,
    ) -> SearchResult:
        """One CP-SAT minimisation within the remaining budget; models that fail the exact rows are dropped."""
        spec = ctx.spec
        payload = _payload(pb, rows, spec, hint, blocked, ctx.budget.remaining(), workers, ctx.seed)
        state, lines = run_worker(payload, ctx.budget.remaining())
        ctx.calls += 1
        ctx.build_seconds += sum(d["build"] for d in lines if "build" in d)
        return _result(pb, spec, state, lines, ctx)


def _payload(pb, rows, spec, hint, blocked, seconds, workers, seed) -> dict[str, Any]:
    obj = None if spec is None else [spec.cols.tolist(), [int(a) for a in spec.coefs]]
    return {
        "lb": pb.lb,
        "ub": pb.ub,
        "rows": rows,
        "obj": obj,
        "hint": None if hint is None else np.rint(hint).astype(int).tolist(),
        "blocked": blocked,
        "deadline": time.monotonic() + seconds,
        "workers": workers,
        "seed": int(seed) % 2**31,
    }


def run_worker(payload: dict[str, Any], seconds: float) -> tuple[str, list[dict[str, Any]]]:
    """Run `cpsat_worker` on ``payload``: ("ok" | "timeout" | "crashed: ...", the JSON lines it wrote)."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.stdin.write(json.dumps(payload))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    end = time.monotonic() + seconds + _SLACK
    out: list[dict[str, Any]] = []
    state = "ok"
    while True:
        try:
            line = lines.get(timeout=max(0.0, end - time.monotonic()))
        except queue.Empty:
            state = "timeout"
            break
        if line is None:
            break
        out.append(json.loads(line))
    proc.kill()
    proc.wait()
    if state == "ok" and (not out or "status" not in out[-1]):
        err = (proc.stderr.read() or "").strip().splitlines()
        state = f"crashed (exit {proc.returncode}): {err[-1] if err else 'no message'}"
    proc.stderr.close()
    return state, out


def _result(
    pb: PbProblem, spec: ObjectiveSpec | None, state: str, lines: list[dict], ctx: SolveContext
) -> SearchResult:
    """The best exactly re-checked model among the lines, with CP-SAT's status and bound."""
    best_x, best_v, rejected = None, None, 0
    for d in lines:
        x = d.get("sol")
        if x is None:
            continue
        if not check_integer_point(pb, x):
            rejected += 1
            continue
        xv = np.array(x, dtype=np.float64)
        v = spec.value(xv) if spec is not None else None
        if best_x is None or (v is not None and v < best_v):
            best_x, best_v = xv, v
            ctx.live["incumbent"] = v
    final = lines[-1] if lines and "status" in lines[-1] else {"status": "UNKNOWN", "bound": None}
    bound = final.get("bound")
    low = None
    if spec is not None and bound is not None and math.isfinite(bound):
        low = math.ceil(bound - 1e-6)  # integer objective: the bound is an integer held in a double
        if spec.lower is not None:
            low = max(low, spec.lower)
    msg = (
        ""
        if state == "ok"
        else ("cpsat: stopped at the deadline" if state == "timeout" else f"cpsat {state}")
    )
    if rejected:
        msg = join_messages(msg, f"{rejected} models failed the exact rows and were dropped")
    st = final["status"]
    if st == "MODEL_INVALID":
        return SearchResult("unknown", None, None, None, join_messages(msg, "cpsat: model invalid"))
    if st == "INFEASIBLE":
        return SearchResult("infeasible", None, None, None, msg)
    if best_x is None:
        return SearchResult("unknown", None, None, low, msg)
    if spec is None:
        return SearchResult("feasible", best_x, None, None, msg)
    if st == "OPTIMAL" and low is not None and best_v <= low:
        return SearchResult("optimal", best_x, best_v, best_v, msg)
    return SearchResult("feasible", best_x, best_v, low, msg)
