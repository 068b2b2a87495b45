"""Build and solve times per backend, strategy and encoding: the conformance corpus and SMUG-shaped 0/1
problems (64 to 3136 mask bits). Every run has a wall-clock budget, so the script ends in minutes.

    python benchmarks/backends.py            # full table (about 10 minutes on 2 cores)
    python benchmarks/backends.py --quick    # small sizes, short budget (about a minute)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smugkit.backends import get_backend, solve
from smugkit.dsl import Problem

# (backend, strategy, options): the first row of each backend is its default
CONFIGS = [
    ("highs", "native", {}),
    ("z3", "binary", {"bound_mode": "fresh"}),
    ("z3", "binary", {"bound_mode": "assume"}),
    ("z3", "binary", {"bound_mode": "fresh", "binary_as": "bool"}),
    ("z3", "linear-down", {"bound_mode": "fresh"}),
    ("z3", "linear-up", {"bound_mode": "fresh"}),
    ("z3", "native", {}),
    ("cvc5", "binary", {"bound_mode": "push"}),
    ("cvc5", "binary", {"bound_mode": "fresh"}),
    ("cvc5", "binary", {"bound_mode": "push", "binary_as": "bool"}),
    ("cvc5", "linear-down", {"bound_mode": "push"}),
    ("pysmt:z3", "binary", {"bound_mode": "fresh"}),
    ("pysmt:cvc5", "binary", {"bound_mode": "push"}),
    ("smtlib", "binary", {}),
    ("smtlib", "native", {}),
]
DEFAULTS = {
    "highs": ("native", {}),
    "z3": ("binary", {"bound_mode": "fresh"}),
    "cvc5": ("binary", {"bound_mode": "push"}),
    "pysmt:z3": ("binary", {"bound_mode": "fresh"}),
    "pysmt:cvc5": ("binary", {"bound_mode": "push"}),
    "smtlib": ("binary", {}),
}


def smug_instance(n_bits: int, rows: int, kind: str, seed: int) -> Problem:
    """SMUG-shaped: rows ``sum_w c_w m_w >= gamma * full`` over a square mask; conv rows are sparse.

    c = weight x pixel value; a conv neuron sees a 3x3 patch of windows at a random position, a dense
    neuron sees every window; gamma ~ U(0.5, 0.9) per row and only neurons with a positive full
    activation are kept, so the all-ones mask is feasible.
    """
    rng = np.random.default_rng(seed)
    side = round(np.sqrt(n_bits))
    pixels = rng.uniform(0.0, 1.0, size=n_bits)
    if kind == "dense":
        W = rng.normal(size=(rows * 2, n_bits)) / np.sqrt(n_bits)
        C = sp.csr_matrix(W * pixels)
    else:
        r_idx, c_idx, vals = [], [], []
        for r in range(rows * 2):
            i0, j0 = rng.integers(0, side - 2, size=2)
            cols = [(i0 + di) * side + (j0 + dj) for di in range(3) for dj in range(3)]
            r_idx += [r] * 9
            c_idx += cols
            vals += list(rng.normal(size=9) * pixels[cols])
        C = sp.csr_matrix((vals, (r_idx, c_idx)), shape=(rows * 2, n_bits))
    full = np.asarray(C.sum(axis=1)).ravel()
    keep = np.flatnonzero(full > 1e-3)[:rows]
    C, full = C[keep], full[keep]
    gamma = rng.uniform(0.5, 0.9, size=keep.size)
    p = Problem(f"smug_{n_bits}_{kind}_{keep.size}")
    m = p.binary("m", n_bits)
    p.add(C @ m >= gamma * full)
    p.minimize(m.sum())
    return p


def run(problem: Problem, backend: str, strategy: str, opts: dict, budget: float) -> dict:
    """One solve, as a table row."""
    t0 = time.perf_counter()
    sol = solve(problem, backend, timeout=budget, strategy=strategy, **opts)
    wall = time.perf_counter() - t0
    return {
        "backend": backend,
        "config": (strategy or "default") + "".join(f",{k}={v}" for k, v in opts.items()),
        "status": sol.status,
        "obj": sol.objective,
        "lb": sol.lower_bound,
        "calls": sol.solver_calls,
        "build": sol.build_time,
        "solve": sol.solve_time,
        "wall": wall,
    }


def fmt(v: object) -> str:
    """Table cell."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def print_rows(title: str, rows: list[dict]) -> None:
    """A plain-text table."""
    cols = ["backend", "config", "status", "obj", "lb", "calls", "build", "solve", "wall"]
    cells = [[fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    print(f"\n## {title}")
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for x in cells:
        print("  ".join(v.ljust(w) for v, w in zip(x, widths)), flush=True)


def corpus_rows(backends: list[str], budget: float) -> list[dict]:
    """Total time of each backend's default configuration over the conformance corpus."""
    from tests.backends.corpus import CORPUS

    rows = []
    for b in backends:
        strategy, opts = DEFAULTS[b]
        tot = {"build": 0.0, "solve": 0.0, "wall": 0.0, "calls": 0}
        solved = 0
        for case in CORPUS:
            if case.rational_objective and not get_backend(b).capabilities.native_optimization:
                continue
            r = run(case.build(), b, None, opts, budget)
            solved += r["status"] == case.status
            for k in tot:
                tot[k] += r[k]
        rows.append(
            {
                "backend": b,
                "config": strategy + "".join(f",{k}={v}" for k, v in opts.items()),
                "status": f"{solved} as expected",
                "obj": None,
                "lb": None,
                **tot,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="sizes 64 and 196 only, 5 s budget, default configs")
    ap.add_argument("--budget", type=float, default=None, help="seconds per solve (default 10, quick 5)")
    ap.add_argument("--backends", default=None, help="comma-separated backend names (default: all available)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-corpus", action="store_true", help="skip the corpus totals")
    args = ap.parse_args()
    budget = args.budget or (5.0 if args.quick else 10.0)
    wanted = args.backends.split(",") if args.backends else list(DEFAULTS)
    backends = [b for b in wanted if get_backend(b).available()[0]]
    print(
        f"budget {budget:g} s per solve; backends: {', '.join(f'{b} {get_backend(b).version()}' for b in backends)}"
    )
    if not args.no_corpus:
        print_rows(
            "conformance corpus (sum over problems, default configuration)", corpus_rows(backends, budget)
        )
    sizes = [(64, 50, "dense"), (196, 200, "conv"), (196, 100, "dense")]
    if not args.quick:
        sizes += [(784, 1000, "conv"), (3136, 1000, "conv")]
    for n, k, kind in sizes:
        problem = smug_instance(n, k, kind, args.seed)
        rows = []
        sweep = n == 64 and not args.quick
        for b, strategy, opts in CONFIGS:
            if b not in backends or (not sweep and (strategy, opts) != DEFAULTS[b]):
                continue
            rows.append(run(problem, b, strategy, opts, budget))
        if "highs" in backends and "z3" in backends:  # z3 warm-started from the MILP answer
            inc = solve(problem, "highs", timeout=budget)
            if inc.assignment is not None:
                r = run(problem, "z3", "binary", {"bound_mode": "fresh"}, budget)
                t0 = time.perf_counter()
                s = solve(problem, "z3", timeout=budget, incumbent=inc.assignment)
                rows.append(
                    {
                        **r,
                        "config": "binary,warm-start=highs",
                        "status": s.status,
                        "obj": s.objective,
                        "lb": s.lower_bound,
                        "calls": s.solver_calls,
                        "build": s.build_time,
                        "solve": s.solve_time,
                        "wall": time.perf_counter() - t0,
                    }
                )
                c = solve(problem, "highs", timeout=budget, certify="z3")
                rows.append(
                    {
                        "backend": "highs",
                        "config": "native,certify=z3",
                        "status": c.status,
                        "obj": c.objective,
                        "lb": c.lower_bound,
                        "calls": c.solver_calls,
                        "build": c.build_time,
                        "solve": c.solve_time,
                        "wall": c.build_time + c.solve_time,
                    }
                )
        print_rows(
            f"{problem.name}: {n} mask bits, {problem.num_rows} rows, nnz {problem.compile().A.nnz}", rows
        )


if __name__ == "__main__":
    main()
