"""Conformance corpus: small problems with known answers (checked by brute force where <= 16 bits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from smugkit.dsl import Problem, expand, relu
from tests.backends.brute import LinearSpec, brute_linear, relu_forward

_OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}


@dataclass
class Case:
    """One corpus problem: builder, expected status/objective, and an independent brute-force oracle."""

    name: str
    build: Callable[[], Problem]
    status: str
    objective: Fraction | None = None
    brute: Callable[[], tuple[str, Fraction | None, int]] | None = None
    bits: int = 0
    rational_objective: bool = False
    optima: int | None = None  # number of optimal points, when known


def _linear_case(
    name: str,
    C: np.ndarray,
    t: np.ndarray,
    op: str,
    obj: np.ndarray | None,
    sense: str = "min",
    ranges: list[tuple[int, int]] | None = None,
    obj_const: float = 0.0,
    domain: str = "binary",
    status: str | None = None,
    objective: Fraction | None = None,
    sparse: bool = False,
) -> Case:
    """A problem ``C @ m (op) t`` over one integer vector, with an optional linear objective."""
    n = C.shape[1]
    ranges = ranges or [(0, 1)] * n

    def build() -> Problem:
        p = Problem(name)
        if domain in ("binary", "bool"):
            m = p.var("m", n, domain)
        else:
            m = p.integer("m", n, lb=[r[0] for r in ranges], ub=[r[1] for r in ranges])
        mat = sp.csr_matrix(C) if sparse else C
        p.add(_OPS[op](mat @ m, t))
        if obj is not None:
            e = m.dot(obj) + obj_const
            (p.minimize if sense == "min" else p.maximize)(e)
        return p

    spec = LinearSpec(ranges, [(C[i], float(t[i]), op) for i in range(C.shape[0])], obj, obj_const, sense)
    st, val, count = brute_linear(spec)
    return Case(
        name,
        build,
        status or st,
        objective if objective is not None else val,
        lambda: brute_linear(spec),
        bits=n,
        optima=count,
    )


def _smug_case(seed: int, n: int, k: int, density: float, gamma: float, op: str) -> Case:
    """SMUG-shaped: non-negative-ish conv/dense weights times pixels, threshold gamma * full activation."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(k, n)) * (rng.random((k, n)) < density)
    px = rng.uniform(0.1, 1.0, size=n)
    C = W * px
    full = C.sum(axis=1)
    C[full < 0] *= -1  # keep neurons with a positive activation, as SMUG selects them
    t = gamma * C.sum(axis=1)
    return _linear_case(
        f"smug_s{seed}_n{n}_k{k}_{'strict' if op == '>' else 'geq'}",
        C,
        t,
        op,
        np.ones(n),
        sparse=density < 0.5,
    )


def _relu_case(
    seed: int, n_in: int, n_hidden: int, n_out: int, frac: float, strict: bool, windows: bool = False
) -> Case:
    """A tiny ReLU MLP on a masked input; keep the label's logit ahead of every other by ``frac`` of its
    margin on the full input (a dyadic delta)."""
    rng = np.random.default_rng(seed)
    q = 64.0  # dyadic weights keep every DSL coefficient exact, so brute force and solvers agree
    side = round(np.sqrt(n_in))
    x = rng.choice([0.25, 0.5, 1.0, 2.0], size=n_in)
    W1 = np.round(rng.normal(size=(n_hidden, n_in)) * q) / q
    b1 = np.round(rng.normal(size=n_hidden) * q) / q
    W2 = np.round(rng.normal(size=(n_out, n_hidden)) * q) / q
    b2 = np.round(rng.normal(size=n_out) * q) / q
    layers = [(W1, b1), (W2, b2)]
    full = relu_forward([Fraction(float(v)) for v in x], layers)
    label = int(np.argmax([float(v) for v in full]))
    gap = min(full[label] - full[j] for j in range(n_out) if j != label)
    delta = float(np.floor(float(gap) * frac * q) / q)
    bits = (n_in // 4) if windows else n_in

    def inputs(mask: np.ndarray) -> np.ndarray:
        if windows:
            return np.kron(mask.reshape(side // 2, side // 2), np.ones((2, 2))).ravel()
        return mask

    def build() -> Problem:
        p = Problem(f"relu_{seed}")
        if windows:
            m = p.binary("m", (side // 2, side // 2))
            xm = (x.reshape(side, side) * expand(m, (2, 2))).ravel()
        else:
            m = p.binary("m", n_in)
            xm = x * m
        h = relu(W1 @ xm + b1, name="h")
        z = W2 @ h + b2
        others = [j for j in range(n_out) if j != label]
        margin = z[[label] * len(others)] - z[others]
        p.add(margin > delta if strict else margin >= delta, name="margin")
        p.minimize(m.sum())
        return p

    def brute() -> tuple[str, Fraction | None, int]:
        best, count = None, 0
        for code in range(2**bits):
            mask = np.array([(code >> i) & 1 for i in range(bits)])
            xin = [Fraction(float(v)) * int(b) for v, b in zip(x, inputs(mask))]
            z = relu_forward(xin, layers)
            d = Fraction(float(delta))
            ok = all(
                (z[label] - z[j] > d) if strict else (z[label] - z[j] >= d)
                for j in range(n_out)
                if j != label
            )
            if ok:
                val = Fraction(int(mask.sum()))
                if best is None or val < best:
                    best, count = val, 1
                elif val == best:
                    count += 1
        return ("infeasible", None, 0) if best is None else ("optimal", best, count)

    st, val, count = brute()
    return Case(
        f"relu_s{seed}_{n_in}x{n_hidden}x{n_out}{'_win' if windows else ''}{'_strict' if strict else ''}",
        build,
        st,
        val,
        brute,
        bits=bits,
        optima=count,
    )


def _real_case_lp() -> Case:
    """A 2-variable LP: optimum at a vertex with a rational value (14/5)."""

    def build() -> Problem:
        p = Problem("lp")
        x = p.real("x", 2, lb=0, ub=10)
        p.add(np.array([[1.0, 2.0], [3.0, 1.0]]) @ x >= np.array([4.0, 6.0]))
        p.minimize(x.sum())
        return p

    return Case("real_lp_vertex", build, "optimal", Fraction(14, 5), rational_objective=True)


def _real_feasibility(strict_gap: bool) -> Case:
    """Strict versus non-strict on reals: 2 < x < 3 is feasible; x > 2 and x < 2 is not."""

    def build() -> Problem:
        p = Problem("strict_real")
        x = p.real("x")
        p.add(x > 2, x < (3 if strict_gap else 2))
        return p

    return Case(
        f"real_strict_{'gap' if strict_gap else 'empty'}", build, "feasible" if strict_gap else "infeasible"
    )


def _real_equality() -> Case:
    """x >= 2 and x <= 2 pins x to 2 (non-strict bounds meet)."""

    def build() -> Problem:
        p = Problem("pin")
        x = p.real("x")
        p.add(x >= 2, x <= 2, x * 3 == 6)
        return p

    return Case("real_pinned_equality", build, "feasible")


def _objective_only() -> Case:
    """No constraints: minimise a sum of bits plus a constant."""

    def build() -> Problem:
        p = Problem("objonly")
        m = p.binary("m", 5)
        p.minimize(m.sum() + 5)
        return p

    return Case("objective_only_offset", build, "optimal", Fraction(5), bits=5, optima=1)


def _several_optima() -> Case:
    """m0 + m1 >= 1 and m2 + m3 >= 1: optimum 2, reached by four masks."""
    C = np.array([[1.0, 1, 0, 0], [0, 0, 1, 1]])
    return _linear_case("several_optima", C, np.ones(2), ">=", np.ones(4))


def build_corpus() -> list[Case]:
    """Every corpus case (at least 25)."""
    cases = [
        _linear_case("single_bit", np.array([[1.0]]), np.array([1.0]), ">=", np.ones(1)),
        _linear_case("infeasible_count", np.ones((1, 3)), np.array([4.0]), ">=", np.ones(3)),
        _linear_case(
            "nonstrict_sum",
            np.ones((1, 2)),
            np.array([3.0]),
            ">=",
            np.ones(2),
            ranges=[(0, 5)] * 2,
            domain="int",
        ),
        _linear_case(
            "strict_sum", np.ones((1, 2)), np.array([3.0]), ">", np.ones(2), ranges=[(0, 5)] * 2, domain="int"
        ),
        _linear_case(
            "int_equality",
            np.array([[3.0, 5.0]]),
            np.array([14.0]),
            "==",
            np.ones(2),
            ranges=[(0, 10)] * 2,
            domain="int",
        ),
        _linear_case(
            "int_equality_parity_infeasible",
            np.array([[2.0, 4.0]]),
            np.array([7.0]),
            "==",
            np.ones(2),
            ranges=[(0, 10)] * 2,
            domain="int",
        ),
        _linear_case(
            "negative_coefficients",
            np.array([[-1.0, -1, 1, 0], [1, 0, -1, 1], [0, 1, 0, -1]]),
            np.array([-1.0, 0.5, -0.5]),
            ">=",
            np.array([1.0, 2.0, 1.0, 1.0]),
        ),
        _linear_case(
            "negative_int_bound",
            np.array([[2.0]]),
            np.array([-5.0]),
            ">=",
            np.ones(1),
            ranges=[(-3, 3)],
            domain="int",
        ),
        _linear_case(
            "knapsack_maximize",
            np.array([[3.0, 4, 5, 2, 1.5]]),
            np.array([8.0]),
            "<=",
            np.array([4.0, 5, 6, 3, 1]),
            sense="max",
        ),
        _linear_case(
            "maximize_negative_weights",
            np.array([[1.0, 1, 1]]),
            np.array([1.0]),
            ">=",
            np.array([-1.0, -2.0, -0.5]),
            sense="max",
            obj_const=1.0,
        ),
        _linear_case(
            "bool_domain", np.array([[1.0, 1, 0], [0, 1, 1]]), np.ones(2), ">=", np.ones(3), domain="bool"
        ),
        _linear_case("exact_tenths_geq", np.array([[0.1, 0.2]]), np.array([0.3]), ">=", np.ones(2)),
        _linear_case(
            "exact_tenths_leq_max", np.array([[0.1, 0.2]]), np.array([0.3]), "<=", np.ones(2), sense="max"
        ),
        _linear_case(
            "strict_full_activation_infeasible", np.array([[1.0, 2.0, 0.5]]), np.array([3.5]), ">", np.ones(3)
        ),
        _several_optima(),
        _objective_only(),
        _real_case_lp(),
        _real_feasibility(True),
        _real_feasibility(False),
        _real_equality(),
    ]
    cases += [
        _smug_case(s, n, k, d, g, op)
        for s, n, k, d, g, op in [
            (1, 8, 6, 1.0, 0.7, ">="),
            (2, 10, 8, 0.3, 0.6, ">="),
            (3, 12, 8, 0.4, 0.8, ">"),
            (4, 12, 10, 1.0, 0.5, ">"),
            (5, 16, 12, 0.25, 0.9, ">="),
        ]
    ]
    cases += [
        _relu_case(13, 4, 3, 2, 0.9, True),
        _relu_case(12, 6, 4, 3, 0.5, False),
        _relu_case(20, 16, 5, 3, 0.5, False, windows=True),
        _relu_case(26, 8, 5, 3, 0.9, True),
        _relu_case(15, 8, 5, 3, 0.5, False),
    ]
    return cases


CORPUS = build_corpus()
