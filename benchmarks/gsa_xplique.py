"""Sobol, HSIC and RISE beside Xplique (TensorFlow) on the bundled digits CNN: time per explanation.

Xplique is the authors' reference implementation of Sobol attribution (Fel et al. 2021) and HSIC attribution
(Novello et al. 2022), and has RISE. It needs TensorFlow, so it runs on a Keras copy of the 28x28 CNN with the
ONNX weights (checked against onnxruntime before timing). Both sides explain the target's logit with the
same grid, number of designs / masks and batch size; model calls are fixed by the designs:
Sobol ``N (D + 2)``, HSIC ``N``, RISE ``N``. Columns: seconds per explanation (best of ``--repeats``), model
calls, Xplique's seconds, the ratio smugkit / Xplique and the Pearson correlation of the two maps (Sobol and
HSIC share the design only up to the sampler, RISE not at all: low correlations there are sampling noise).

Xplique is a peer, not a dependency; install it only in this script's environment, e.g.
    python3 -m venv --system-site-packages /tmp/gsa && . /tmp/gsa/bin/activate
    pip install -e . xplique tensorflow && python benchmarks/gsa_xplique.py
Without xplique the smugkit columns alone are printed.

Run: python benchmarks/gsa_xplique.py [--repeats 3] [--batch 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # this checkout's smugkit

import smugkit
from smugkit import zoo
from smugkit.model import Model


def keras_cnn28():
    """The bundled CNN as a Keras model (channels last) with its ONNX weights."""
    import keras
    from keras import layers

    w = {
        i.name: numpy_helper.to_array(i)
        for i in onnx.load(str(zoo.model_path("digits_cnn28"))).graph.initializer
    }
    net = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.ZeroPadding2D(2),
            layers.Conv2D(16, 5, strides=2, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Permute((3, 1, 2)),  # flatten in PyTorch's channel-first order
            layers.Flatten(),
            layers.Dense(10),
        ]
    )
    net.layers[1].set_weights([w["0.weight"].transpose(2, 3, 1, 0), w["0.bias"]])
    net.layers[3].set_weights([w["3.weight"].transpose(2, 3, 1, 0), w["3.bias"]])
    net.layers[7].set_weights([w["7.weight"].T, w["7.bias"]])
    return net


def best_time(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def correlation(a, b) -> float | None:
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import xplique
        from xplique.attributions import HsicAttributionMethod, Rise, SobolAttributionMethod

        have = xplique.__version__
    except ImportError:
        have = None
    x = zoo.sample_inputs(28)[0][0][None]  # (1, 1, 28, 28)
    model = Model(zoo.model_path("digits_cnn28"))
    target = int(model.predict(x.reshape(model.input.shape)))
    b = args.batch
    rows = [
        ("sobol", {"grid_size": 8, "n_design": 32}, lambda m: SobolAttributionMethod(m, 8, 32, batch_size=b)),
        ("hsic", {"grid_size": 8, "n_design": 500}, lambda m: HsicAttributionMethod(m, 8, 500, batch_size=b)),
        (
            "rise",
            {"n_masks": 2000, "grid_size": 7, "p": 0.5},
            lambda m: Rise(m, nb_samples=2000, grid_size=7, preservation_probability=0.5, batch_size=b),
        ),
    ]
    keras_model = None
    if have:
        keras_model = keras_cnn28()
        xh = x.reshape(1, 28, 28, 1).astype(np.float32)
        ref = np.asarray(model.scores(x.reshape(model.input.shape))).reshape(-1)
        got = np.asarray(keras_model(xh)).reshape(-1)
        assert np.allclose(got, ref, atol=1e-4), (got, ref)
        onehot = np.eye(10, dtype=np.float32)[[target]]
    print(f"python {platform.python_version()}, xplique {have or 'not installed'}, batch {b}")
    print(f"{'method':8} {'smugkit s':>10} {'calls':>7} {'xplique s':>10} {'ratio':>6} {'corr':>6}")
    for name, opts, make in rows:
        opts = {**opts, "kind": "logit", "internal_batch_size": b}

        def ours(name=name, opts=opts):
            return smugkit.attribute(model, x, method=name, target=target, **opts)

        ours()
        t, att = best_time(ours, args.repeats)
        line = f"{name:8} {t:10.3f} {att.diagnostics['model_calls']:7d}"
        if keras_model is not None:
            explainer = make(keras_model)
            explainer.explain(xh, onehot)  # warm-up (graph tracing)
            tx, theirs = best_time(
                lambda explainer=explainer: np.asarray(explainer.explain(xh, onehot)), args.repeats
            )
            corr = correlation(att.values.reshape(28, 28), np.asarray(theirs).reshape(28, 28))
            line += f" {tx:10.3f} {t / tx:6.2f} {corr if corr is None else format(corr, '6.3f')}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
