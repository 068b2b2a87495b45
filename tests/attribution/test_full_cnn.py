"""The full encoding on CNNs with MaxPool: the fused ReLU/max with pruned candidates keeps the exact optimum
(brute force), the bounds under a mask-size cap and the pairwise bounds are sound on sampled masks, and
thinning / enumeration prove small optima before any MILP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from onnx import helper

from smugkit.attribution.smug.bounds import pair_bounds, symbolic_bounds
from smugkit.attribution.smug.enumerate import _margins
from smugkit.attribution.smug.full import candidates, full_network_problem, pool_windows
from smugkit.attribution.smug.thin import thin_mask
from smugkit.frontends import load_model
from smugkit.units import detect_layout, make_windows
from tests.attribution.helpers import make_model


def pool_cnn(seed: int = 0, h: int = 6):
    """x (1, 1, h, h) -> Conv 3x3 (4 ch) -> Relu -> MaxPool 2x2 -> Conv 3x3 (3 ch) -> Relu -> MaxPool 2x2
    -> Flatten -> Gemm 3: two conv + MaxPool blocks like the bundled 28x28 CNN, small enough to brute-force."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Conv", ["x", "W1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "W2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"]),
        helper.make_node("Gemm", ["f", "D"], ["y"]),
    ]
    q = h // 4
    inits = {
        "W1": rng.standard_normal((4, 1, 3, 3)),
        "b1": rng.standard_normal(4) * 0.3,
        "W2": rng.standard_normal((3, 4, 3, 3)) * 0.7,
        "b2": rng.standard_normal(3) * 0.3,
        "D": rng.standard_normal((3 * q * q, 3)),
    }
    return load_model(make_model(nodes, inits, [1, 1, h, h], [1, 3]))


def _setup(seed: int, window: int = 2, h: int = 8):
    net = pool_cnn(seed, h)
    x = np.random.default_rng(seed + 10).random(net.input.shape)
    wins = make_windows(detect_layout(net), window)
    z = net.run(x, [net.output.name])[net.output.name].reshape(-1)
    return net, x, wins, int(z.argmax())


def _all_masks(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=int)


@pytest.mark.parametrize("cap", [None, 7])
def test_fused_encoding_is_feasible_exactly_on_the_masks_that_keep_the_label(cap):
    """With the mask fixed, the MILP of the fused encoding (pruned MaxPool candidates, ReLU after the max)
    is feasible iff the network keeps the label: checked on the masks nearest the decision boundary."""
    from smugkit.backends import solve

    net, x, wins, label = _setup(1)
    masks = _all_masks(wins.count)
    if cap is not None:
        masks = masks[masks.sum(axis=1) <= cap]
    mg = _margins(net, x, label, wins, 0.0, masks)
    assert (mg >= 0).any() and (mg < 0).any()
    pos, neg = np.flatnonzero(mg >= 0), np.flatnonzero(mg < 0)
    picked = np.r_[pos[np.argsort(mg[pos])[:4]], neg[np.argsort(-mg[neg])[:4]]]
    for i in picked:
        p, m = full_network_problem(net, x, label, wins, 0.0, 0.0, max_ones=cap)
        p.add(m == masks[i])
        sol = solve(p, "highs", timeout=30)
        assert sol.status == ("optimal" if mg[i] >= 0 else "infeasible"), (masks[i], mg[i])


def test_fused_encoding_milp_optimum_matches_brute_force():
    from smugkit.backends import solve

    net, x, wins, label = _setup(5, window=4)
    masks = _all_masks(wins.count)
    best = int(masks[_margins(net, x, label, wins, 0.0, masks) >= 0].sum(axis=1).min())
    p, _ = full_network_problem(net, x, label, wins, 0.0, 0.0)
    assert any(v.name.startswith("p") for v in p.compile().variables)  # MaxPool chains are encoded
    sol = solve(p, "highs", timeout=60)
    assert best >= 1 and sol.status == "optimal" and sol.objective == best
    below = solve(
        full_network_problem(net, x, label, wins, 0.0, 0.0, max_ones=best - 1)[0], "highs", timeout=60
    )
    assert below.status == "infeasible"


@pytest.mark.parametrize("cap", [None, 1, 3])
def test_capped_and_pairwise_bounds_hold_on_sampled_masks(cap):
    net, x, wins, _ = _setup(3, window=1)
    forms: dict = {}
    sb = symbolic_bounds(net, x, wins, 0.0, forms, cap)
    rng = np.random.default_rng(4)
    n = wins.count
    masks = [np.zeros(n)]
    for _ in range(300):
        k = rng.integers(0, (cap if cap is not None else n) + 1)
        m = np.zeros(n)
        m[rng.choice(n, k, replace=False)] = 1
        masks.append(m)
    pools = [node for node in net.nodes if node.op_type == "MaxPool"]
    for m in masks:
        z = net.run(wins.apply(x, m, 0.0), list(sb))
        for t, (lo, hi) in sb.items():
            v = z[t].reshape(-1)
            assert np.all(v >= lo) and np.all(v <= hi), t
        for node in pools:  # the pool reads a ReLU; its argument's pairwise differences stay in bounds
            t = net.producer(node.inputs[0]).inputs[0]
            cols = pool_windows(net, node)
            dlo, dhi = pair_bounds(forms[t], cols, *sb[t])
            v = z[t].reshape(-1)[cols]
            diff = v[:, :, None] - v[:, None, :]
            assert np.all(diff >= dlo) and np.all(diff <= dhi)
    kept = np.zeros(n, bool)
    kept[rng.choice(n, n // 3, replace=False)] = True
    fixed = symbolic_bounds(net, x, wins, 0.0, max_ones=cap, kept=kept)
    for m in masks[1:60]:  # masks with the kept windows forced on stay within the bounds for them
        z = net.run(wins.apply(x, np.maximum(m, kept), 0.0), list(fixed))
        assert all(
            np.all(z[t].reshape(-1) >= lo) and np.all(z[t].reshape(-1) <= hi) for t, (lo, hi) in fixed.items()
        )
    if cap is not None:  # the cap tightens every bound
        wide = symbolic_bounds(net, x, wins, 0.0)
        assert all(np.sum(sb[t][1] - sb[t][0]) < np.sum(wide[t][1] - wide[t][0]) for t in sb)


def test_candidates_keep_the_maximum():
    rng = np.random.default_rng(5)
    values = rng.standard_normal((200, 4))  # 50 windows x 4 positions, 200 sampled "masks"
    lo, hi = values.min(axis=0) - 0.1, values.max(axis=0) + 0.1
    cols = np.arange(4)[None].repeat(1, 0)
    # pretend window positions 0..3 are inputs 0..3 with bounds from the samples; input 3 dominated by 0
    lo = np.array([1.0, -1.0, -2.0, -3.0])
    hi = np.array([2.0, 1.5, 0.5, 0.9])
    dlo = lo[:, None] - hi[None, :]
    dhi = hi[:, None] - lo[None, :]
    pos = candidates(cols, dlo[None], dhi[None], lo, hi, None)
    assert pos.tolist() == [[0, 1, -1, -1]]  # 2 and 3 never reach 1.0, the lower bound of input 0
    lo2 = np.array([-1.0, -1.0, -2.0, -3.0])
    hi2 = np.array([0.0, 1.5, -0.5, 0.9])
    d = (lo2[:, None] - hi2[None, :])[None], (hi2[:, None] - lo2[None, :])[None]
    assert candidates(cols, *d, lo2, hi2, 0.0).tolist() == [[1, 3, -1, -1]]  # dead ones go before a ReLU
    dead = np.array([-1.0, -2.0, -3.0, -1.5]), np.array([-0.5, -0.2, -0.1, -0.3])
    d = (dead[0][:, None] - dead[1][None, :])[None], (dead[1][:, None] - dead[0][None, :])[None]
    assert (candidates(cols, *d, *dead, 0.0)[0] >= 0).sum() == 1  # one input is always kept


def test_thinning_and_enumeration_prove_a_small_optimum():
    from smugkit.attribution.smug import explain

    net, x, wins, label = _setup(1)
    masks = _all_masks(wins.count)
    ok = _margins(net, x, label, wins, 0.0, masks) >= 0.0
    best = int(masks[ok].sum(axis=1).min())
    assert best >= 2
    thin = thin_mask(net, x, label, wins, 0.0, 0.0, False, np.ones(wins.count, int), np.inf)
    assert _margins(net, x, label, wins, 0.0, thin[None])[0] >= 0 and thin.sum() >= best
    e = explain(net, x, encoding="full", window=2, enumerate_bits=8, ig_steps=8, backend="highs", timeout=30)
    assert e.status == "optimal" and e.mask_size == best and e.lower_bound == best and e.certified
