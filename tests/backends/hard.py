"""Hard 0/1 instances shared by the budget tests and `benchmarks/overshoot.py`."""

from __future__ import annotations

import numpy as np

from smugkit.attribution.smug.pipeline import encode
from smugkit.dsl import Problem
from smugkit.frontends import load_model
from smugkit.units import detect_layout, make_windows
from smugkit.zoo import model_path, sample_inputs


def dense_rows(n: int = 150, k: int = 80, seed: int = 0) -> np.ndarray:
    """``k`` dense rows over ``n`` mask bits, each with a positive total (the full mask satisfies them all)."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(k, n)) * rng.uniform(0.1, 1, size=n)
    C[C.sum(axis=1) < 0] *= -1
    return C


def dense_problem(n: int = 150, k: int = 80, seed: int = 0) -> Problem:
    """k dense rows over n mask bits: each kept neuron needs 80% of its full-mask activation (no backend
    proves the optimum of the default size within seconds)."""
    C = dense_rows(n, k, seed)
    p = Problem("dense")
    m = p.binary("m", n)
    p.add(C @ m >= 0.8 * C.sum(axis=1))
    p.minimize(m.sum())
    return p


def full_cnn_problem() -> Problem:
    """The whole-network encoding (label must win by 0) of bundled digit #0 on digits_cnn28, 1x1 windows."""
    net = load_model(model_path("digits_cnn28"))
    x = sample_inputs(28)[0][0][None]
    label = int(np.argmax(net(x)))
    wins = make_windows(detect_layout(net), 1)
    scores = np.ones(int(np.prod(net.tensors[net.first_layer().pre].shape)))
    return encode(
        net,
        x,
        label,
        scores,
        top_k=100,
        gamma=0.5,
        windows=wins,
        mask_value=0.0,
        encoding="full",
        delta=0.0,
        strict=False,
    ).problem
