"""CP-SAT in a process of its own: reads one integer problem as JSON on stdin, streams JSON lines on stdout.

Run as a script (``python cpsat_worker.py``), never imported by smugkit: OR-tools bundles its own HiGHS and
crashes when loaded beside highspy, so this file imports nothing but the standard library and OR-tools.

Input: ``{"lb", "ub", "rows": [[cols, coefs, lo, hi], ...], "obj": [cols, coefs] | null, "hint", "deadline",
"workers", "seed", "blocked": [[cols, values], ...]}`` with integer coefficients (``lo``/``hi`` null for no
bound; ``deadline`` is a ``time.monotonic()`` instant: that clock is shared across processes). Output lines:
``{"build": s}``, ``{"sol": [...], "value": v, "bound": b}`` for each improving solution, then
``{"status", "bound", "sol"}``.
"""

import json
import sys
import time


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _linear(x, cols, coefs):
    return sum(int(a) * x[j] for j, a in zip(cols, coefs))


def main() -> None:
    t0 = time.perf_counter()
    p = json.loads(sys.stdin.read())
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    x = [m.new_int_var(int(lo), int(hi), f"x{j}") for j, (lo, hi) in enumerate(zip(p["lb"], p["ub"]))]
    for cols, coefs, lo, hi in p["rows"]:
        expr = _linear(x, cols, coefs)
        if lo is not None and hi is not None:
            m.add(expr == lo) if lo == hi else m.add_linear_constraint(expr, int(lo), int(hi))
        elif lo is not None:
            m.add(expr >= int(lo))
        else:
            m.add(expr <= int(hi))
    for cols, values in p["blocked"]:  # over 0/1 columns: at least one of them differs from the point
        m.add_bool_or([x[j] if v == 0 else x[j].negated() for j, v in zip(cols, values)])
    obj = p["obj"]
    if obj is not None:
        m.minimize(_linear(x, *obj))
    if p.get("hint") is not None:
        for var, v in zip(x, p["hint"]):
            m.add_hint(var, int(v))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, float(p["deadline"]) - time.monotonic() - 0.05)
    solver.parameters.num_workers = int(p["workers"])
    solver.parameters.random_seed = int(p["seed"])

    class Stream(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            vals = [int(self.value(v)) for v in x]
            if obj is not None:
                _emit({"sol": vals, "value": int(self.objective_value), "bound": self.best_objective_bound})
            else:
                _emit({"sol": vals, "value": None, "bound": None})

    _emit({"build": time.perf_counter() - t0})
    status = solver.solve(m, Stream())
    name = solver.status_name(status)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    sol = [int(solver.value(v)) for v in x] if found else None
    bound = solver.best_objective_bound if obj is not None and name != "INFEASIBLE" else None
    _emit({"status": name, "bound": bound, "sol": sol})


if __name__ == "__main__":
    main()
