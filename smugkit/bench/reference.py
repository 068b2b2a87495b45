"""The original SMUG encoding, kept as the baseline of every benchmark table.

Faithful to the paper's implementation: z3 Int mask variables constrained by ``Or(m == 0, m == 1)``, each
neuron's pre-activation built scalar by scalar over the input pixels, ``Optimize.minimize(sum(m))``.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import scipy.sparse as sp


def solve_reference(
    C: sp.csr_matrix,
    offset: np.ndarray,
    x: np.ndarray,
    window_of_input: np.ndarray,
    n_bits: int,
    thresholds: np.ndarray,
    mask_value: float,
    timeout: float,
) -> dict:
    """Minimise the mask with z3 Optimize over the scalar-by-scalar encoding; a Solution-shaped dict.

    z3's Optimize does not always honour its timeout or an interrupt (a 64-bit dense instance ran on for
    minutes with 3 GB), so the whole solve runs in a forked child that is killed at the deadline.
    """
    import z3

    from smugkit.backends.forked import forked_call

    t0 = time.perf_counter()
    args = (C, offset, x, window_of_input, n_bits, thresholds, mask_value, timeout)
    state, out = forked_call(lambda: _solve_here(*args), timeout + DEADLINE_GRACE)
    if state == "ok":
        return out
    return {
        "status": "unknown",
        "objective": None,
        "lower_bound": None,
        "assignment": None,
        "build_time": None,
        "solve_time": time.perf_counter() - t0,
        "solver_calls": 1,
        "backend": "reference",
        "backend_version": z3.get_version_string(),
        "strategy": STRATEGY,
        "message": "killed at the deadline (z3 ignored its timeout)" if state == "timeout" else out,
    }


STRATEGY = "z3 Optimize, Int 0/1, scalar terms"
DEADLINE_GRACE = 2.0  # seconds past the budget before the child is killed: z3 gets to stop by itself first


def _solve_here(C, offset, x, window_of_input, n_bits, thresholds, mask_value, timeout) -> dict:
    import z3

    t0 = time.perf_counter()
    ctx = z3.Context()
    m = [z3.Int(f"m_{i}", ctx) for i in range(n_bits)]
    opt = z3.Optimize(ctx=ctx)
    for v in m:
        opt.add(z3.Or(v == 0, v == 1))
    xf = np.asarray(x, np.float64).reshape(-1)
    C = sp.csr_matrix(C)
    mv = z3.RealVal(repr(float(mask_value)), ctx)
    for j in range(C.shape[0]):
        lo, hi = C.indptr[j], C.indptr[j + 1]
        terms = []
        for i, c in zip(C.indices[lo:hi], C.data[lo:hi]):
            pixel = mv + (z3.RealVal(repr(float(xf[i])), ctx) - mv) * z3.ToReal(m[window_of_input[i]])
            terms.append(z3.RealVal(repr(float(c)), ctx) * pixel)
        pre = (
            z3.Sum(terms) + z3.RealVal(repr(float(offset[j])), ctx)
            if terms
            else z3.RealVal(repr(float(offset[j])), ctx)
        )
        opt.add(pre >= z3.RealVal(repr(float(thresholds[j])), ctx))
    h = opt.minimize(z3.Sum(m))
    build = time.perf_counter() - t0
    remaining = max(0.001, timeout - build)
    opt.set("timeout", int(remaining * 1000))
    timer = threading.Timer(remaining + 1.0, ctx.interrupt)
    timer.start()
    t1 = time.perf_counter()
    try:
        res = opt.check()
    finally:
        timer.cancel()
    solve = time.perf_counter() - t1
    status, bits, objective, lower = "unknown", None, None, None
    if res == z3.sat:
        model = opt.model()
        bits = np.array([model.eval(v, model_completion=True).as_long() for v in m], dtype=float)
        objective = float(bits.sum())
        status, lower = "optimal", objective
    else:
        try:
            lv = opt.lower(h)
            lower = float(lv.as_long()) if z3.is_int_value(lv) else None
        except z3.Z3Exception:
            lower = None
    return {
        "status": status,
        "objective": objective,
        "lower_bound": lower,
        "assignment": {"m": bits},
        "build_time": build,
        "solve_time": solve,
        "solver_calls": 1,
        "backend": "reference",
        "backend_version": z3.get_version_string(),
        "strategy": STRATEGY,
    }
