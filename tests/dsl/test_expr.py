"""Affine expressions: vectorised arithmetic agrees with numpy on random assignments."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from smugkit.dsl import Affine, Problem, dsum, expand


def value(e: Affine, assign: dict) -> np.ndarray:
    """Numeric value of an expression under an assignment of its variables."""
    out = e.const.copy()
    for v, m in e.terms.items():
        out = out + m @ np.asarray(assign[v.name], dtype=float).ravel()
    return out.reshape(e.shape)


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    p = Problem()
    x = p.real("x", (3, 4))
    y = p.real("y", 4)
    vals = {"x": rng.normal(size=(3, 4)), "y": rng.normal(size=4)}
    return p, x, y, vals, rng


def test_arithmetic_matches_numpy(setup) -> None:
    _p, x, y, v, rng = setup
    W = rng.normal(size=(5, 4))
    c = rng.normal(size=(3, 4))
    checks = [
        (x + y, v["x"] + v["y"]),
        (x - 2.5 * y + 1, v["x"] - 2.5 * v["y"] + 1),
        (c * x, c * v["x"]),
        (x * c, c * v["x"]),
        (-x / 4, -v["x"] / 4),
        (W @ y, W @ v["y"]),
        (sp.csr_matrix(W) @ y, W @ v["y"]),
        (y @ W.T, v["y"] @ W.T),
        (x[1], v["x"][1]),
        (x[:, [0, 2]], v["x"][:, [0, 2]]),
        (x.sum(), v["x"].sum()),
        (y.dot(np.arange(4.0)), v["y"] @ np.arange(4.0)),
        (x.reshape(12)[::2], v["x"].reshape(12)[::2]),
        (x.ravel() @ np.ones(12), v["x"].sum()),
        (1 - x, 1 - v["x"]),
        (dsum([x[0], x[1], x[2]]), v["x"].sum(axis=0)),
    ]
    for e, want in checks:
        np.testing.assert_allclose(value(e, v), want, rtol=1e-12, atol=1e-12)


def test_expand_repeats_blocks_and_gathers() -> None:
    p = Problem()
    m = p.binary("m", (2, 2))
    mv = np.array([[1, 0], [0, 1]])
    up = expand(m, (2, 2))
    assert up.shape == (4, 4)
    np.testing.assert_array_equal(value(up, {"m": mv}), np.kron(mv, np.ones((2, 2))))
    idx = np.array([[0, 0, 3], [1, 2, 3]])
    np.testing.assert_array_equal(value(expand(m.ravel(), index=idx), {"m": mv}), mv.ravel()[idx])


def test_smug_sentence_reads_naturally_and_stays_sparse() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(56, 56))
    p = Problem("smug")
    m = p.binary("m", (28, 28))
    x_masked = x * expand(m, (2, 2))
    C = sp.random(3000, 3136, density=0.003, format="csr", random_state=2)
    z = C @ x_masked.ravel()[:3136] + 0.1
    a = C @ x.ravel()[:3136] + 0.1
    sel = np.flatnonzero(a > 0)
    p.add(z[sel] > 0.5 * a[sel])
    p.minimize(m.sum())
    comp = p.compile()
    assert comp.A.shape == (sel.size, 784)
    assert comp.A.nnz <= C.nnz


def test_interval_bounds() -> None:
    p = Problem()
    m = p.binary("m", 3)
    r = p.real("r", lb=-1, ub=2)
    lo, hi = (np.array([1.0, -2.0, 0.5]) @ m + 3 * r - 1).bounds()
    assert (float(lo), float(hi)) == (-1 - 2 - 3.0, -1 + 1.5 + 6.0)
