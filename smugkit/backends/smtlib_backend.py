"""SMT-LIB 2.6 files and external solvers: write the problem as .smt2 and/or run any SMT-LIB solver
command over a pipe (default: the ``z3`` binary that the z3-solver wheel installs).

Each check is a fresh process fed the whole script (non-incremental, so any solver works); the budget
is enforced by killing the process. ``strategy="native"`` sends one script with the z3/OptiMathSAT
``(minimize ...)`` extension; ``strategy="maxsat"`` one script with the objective as weighted
``(assert-soft ...)`` literals over 0/1 columns (z3's MaxSAT engine; OptiMathSAT reads it too), the default
with the bundled z3 on 0/1 objectives: it proved the demo's 34 in 10 s where binary search stopped at 42.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from smugkit.backends import sexpr
from smugkit.backends.base import Backend, Capabilities, SolveContext
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.results import join_messages, keep_incumbent
from smugkit.backends.search import STRATEGIES, SearchResult, Session, minimize, next_best
from smugkit.dsl.smtlib import SmtWriter, int_lit, real_lit


def default_command() -> list[str] | None:
    """``z3 -in -smt2`` from PATH or next to the running Python (where the z3-solver wheel puts it)."""
    found = shutil.which("z3") or shutil.which("z3", path=str(Path(sys.executable).parent))
    return [found, "-in", "-smt2"] if found else None


class PipeSession(Session):
    """A search session that runs one solver process per check."""

    def __init__(self, writer: SmtWriter, spec: ObjectiveSpec | None, command: list[str]) -> None:
        self.w, self.spec, self.command = writer, spec, command
        self.base = writer.declarations() + writer.constraints()
        self.obj = None
        if spec is not None:  # the minimisation form (sign folded in), integer-scaled when possible
            self.obj = (
                writer.int_sum(spec.cols, spec.coefs)
                if spec.integral
                else writer.linear(spec.cols, spec.coefs)[0]
            )
        self.calls = 0
        self.message = ""
        self._x: np.ndarray | None = None
        self._exact: list[Any] = []

    def _bound_text(self, bound: tuple[str, int | Fraction]) -> str:
        op, v = bound
        lit = (
            int_lit(int(v))
            if self.spec.integral
            else real_lit((Fraction(v).numerator, Fraction(v).denominator))
        )
        return f"(assert ({op} {self.obj} {lit}))"

    def run(self, lines: list[str], seconds: float) -> str:
        """Run one script; parse sat/unsat/unknown and the model."""
        self.calls += 1
        script = (
            "\n".join(
                [
                    "(set-option :produce-models true)",
                    f"(set-logic {self.w.logic})",
                    *lines,
                    "(check-sat)",
                    self.w.model_query(),
                    "(exit)",
                ]
            )
            + "\n"
        )
        try:
            out = subprocess.run(
                self.command,
                input=script,
                check=False,
                capture_output=True,
                text=True,
                timeout=max(0.05, seconds),
            ).stdout
        except subprocess.TimeoutExpired:
            self.message = "external solver killed at the deadline"
            return "unknown"
        except OSError as exc:
            self.message = f"external solver failed to start: {exc}"
            return "unknown"
        try:
            items = sexpr.parse(out)
        except ValueError as exc:
            self.message = f"unreadable solver output: {exc}"
            return "unknown"
        ans = items[0] if items and isinstance(items[0], str) else "unknown"
        if ans == "sat":
            pairs = next((it for it in items[1:] if isinstance(it, list)), None)
            if pairs is None:
                self.message = "solver answered sat without a model"
                return "unknown"
            vals = {p[0]: sexpr.value(p[1]) for p in pairs}
            self._exact = [vals[n] for n in self.w.names]
            self._x = np.array([float(int(v)) if isinstance(v, bool) else float(v) for v in self._exact])
        elif ans not in ("unsat", "unknown"):
            self.message = f"solver said: {out.strip()[:200]}"
            ans = "unknown"
        return ans

    def check(self, bound: tuple[str, int | Fraction] | None, seconds: float) -> str:
        """One process under an optional objective bound."""
        return self.run(self.base + ([self._bound_text(bound)] if bound else []), seconds)

    def model(self) -> np.ndarray:
        return self._x.copy()

    def objective_value(self) -> int | Fraction:
        if self.spec.integral:
            return self.spec.value(self._x)
        return sum(
            (
                Fraction(a) * Fraction(self._exact[j])
                for a, j in zip(self.spec.coefs, self.spec.cols.tolist())
            ),
            Fraction(0),
        )

    def block(self, x: np.ndarray) -> None:
        lits = []
        for v in self.w.c.variables:
            if v.defined or not v.domain.integral:
                continue
            o = self.w.c.offsets[v.name]
            for j in range(o, o + v.size):
                val = round(x[j])
                name = self.w.names[j]
                if self.w.is_bool[j]:
                    lits.append(f"(not {name})" if val else name)
                else:
                    lits.append(f"(not (= {name} {int_lit(val)}))")
        self.base.append(f"(assert (or {' '.join(lits)}))" if lits else "(assert false)")


def soft_objective(c: Any, spec: ObjectiveSpec | None) -> bool:
    """Whether the objective is an integer sum over 0/1 columns (so each term is one soft literal)."""
    if spec is None or not spec.integral:
        return False
    cols = spec.cols
    return bool(np.all(c.integral[cols]) and np.all(c.lb[cols] >= 0) and np.all(c.ub[cols] <= 1))


def soft_lines(w: SmtWriter, spec: ObjectiveSpec) -> list[str]:
    """``(assert-soft ...)`` per objective term: a cost of ``|a|`` when the column leaves its cheap value."""
    out = []
    for a, j in zip(spec.coefs, spec.cols.tolist()):
        if a == 0:
            continue
        n = w.names[j]
        cheap = ("false" if a > 0 else "true") if w.is_bool[j] else ("0" if a > 0 else "1")
        lit = f"(= {n} {cheap})"
        out.append(f"(assert-soft {lit} :weight {abs(int(a))})")
    return out


class SmtlibBackend(Backend):
    """SMT-LIB file writer and external solver pipe."""

    name = "smtlib"
    package = "z3-solver"
    capabilities = Capabilities(
        native_optimization=True,
        incremental=False,
        exact_arithmetic=True,
        strategies=("binary", "linear-up", "linear-down", "native", "maxsat"),
    )
    default_strategy = "binary"

    def pick_strategy(
        self,
        spec: ObjectiveSpec | None,
        strategy: str | None,
        c: Any | None = None,
        options: dict[str, Any] | None = None,
    ) -> str:
        """MaxSAT over soft literals for 0/1 objectives with the bundled z3, else the base choice."""
        auto = (options or {}).get("command", "auto") == "auto"
        if strategy is None and auto and c is not None and soft_objective(c, spec):
            return "maxsat"
        return super().pick_strategy(spec, strategy, c, options)

    def version(self) -> str:
        cmd = default_command()
        if cmd is None:
            return "SMT-LIB 2.6 writer (no external solver found)"
        try:
            out = subprocess.run(
                [cmd[0], "--version"], check=False, capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return "SMT-LIB 2.6 writer"
        return f"SMT-LIB 2.6 via {out.strip() or cmd[0]}"

    option_choices: ClassVar[dict[str, tuple[Any, ...]]] = {"binary_as": ("int", "bool")}
    free_options = ("command", "write")

    def run(self, ctx: SolveContext) -> tuple[SearchResult, list[SearchResult]]:
        """Write the script (``write=path``) and/or solve with ``command`` (list or string; None: only write)."""
        t0 = time.perf_counter()
        opts, spec = ctx.options, ctx.spec
        writer = SmtWriter(ctx.compiled, binary_as=opts.get("binary_as", "int"))
        if opts.get("write"):
            Path(opts["write"]).write_text(writer.script(optimize=ctx.strategy == "native", get_model=True))
        command = opts.get("command", "auto")
        command = (
            default_command()
            if command == "auto"
            else (command.split() if isinstance(command, str) else command)
        )
        opts["command"] = command
        ctx.build_seconds = time.perf_counter() - t0
        if not command:
            msg = (
                f"no solver run; script written to {opts.get('write')}"
                if opts.get("write")
                else "no external solver command and no write path"
            )
            return SearchResult("unknown", None, None, None, msg), []
        session = PipeSession(writer, spec, list(command))
        if ctx.strategy == "maxsat" and ctx.num_solutions == 1 and soft_objective(ctx.compiled, spec):
            return _one_shot(session, session.base + soft_lines(writer, spec), ctx), []
        if ctx.strategy == "maxsat":
            ctx.strategy = "binary"  # what ran: soft literals need one optimum of a 0/1 objective
        if ctx.strategy == "native" and spec is not None:
            # the minimisation form has the objective's sense folded into its sign
            return _one_shot(session, session.base + [f"(minimize {session.obj})"], ctx), []
        search = ctx.strategy if ctx.strategy in STRATEGIES else "binary"
        res = minimize(session, spec, search, ctx.budget, ctx.incumbent)
        res.message = join_messages(res.message, session.message)
        extra = next_best(session, spec, search, ctx.budget, res, ctx.num_solutions - 1)
        ctx.calls = session.calls
        return res, extra


def _one_shot(session: PipeSession, lines: list[str], ctx) -> SearchResult:
    """One script whose solver optimises by itself (``minimize`` or soft literals): its optimum, or why not."""
    ans = session.run(lines, ctx.budget.remaining())
    ctx.calls = session.calls
    if ans == "sat":
        v = session.objective_value()
        return SearchResult("optimal", session.model(), v, v, session.message)
    res = SearchResult("infeasible" if ans == "unsat" else "unknown", None, None, None, session.message)
    return keep_incumbent(res, ctx.incumbent)
