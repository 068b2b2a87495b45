"""Sobol, HSIC and RISE beside Xplique (TensorFlow): time per explanation on the digits CNN and a 224x224 net.

Xplique is the authors' reference implementation of Sobol attribution (Fel et al. 2021) and HSIC attribution
(Novello et al. 2022), and has RISE. It needs TensorFlow, so it runs on Keras copies of the 28x28 CNN and of
the bench's 3x224x224 first-conv model with the ONNX weights (checked against onnxruntime before timing). Both sides explain the target's logit with the
same grid, number of designs / masks and batch size; model calls are fixed by the designs:
Sobol ``N (D + 2)``, HSIC ``N``, RISE ``N``. Columns: seconds per explanation (best of ``--repeats``), model
calls, Xplique's seconds, the ratio smugkit / Xplique and the Pearson correlation of the two maps (Sobol and
HSIC share the design only up to the sampler, RISE not at all: low correlations there are sampling noise).

Xplique is a peer, not a dependency; install it only in this script's environment, e.g.
    python3 -m venv --system-site-packages /tmp/gsa && . /tmp/gsa/bin/activate
    pip install -e . xplique tensorflow && python benchmarks/gsa_xplique.py
Without xplique the smugkit columns alone are printed.

Run: python benchmarks/gsa_xplique.py [--models cnn28,scale] [--repeats 3] [--batch 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's smugkit, and benchmarks/_peers.py
from _peers import best_time, correlation

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


def keras_scale(path):
    """The bench's 224x224 ``scale`` model (Conv 7x7/2 + ReLU + global average pool + MatMul) in Keras."""
    import keras
    from keras import layers

    w = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    net = keras.Sequential(
        [
            keras.Input((224, 224, 3)),
            layers.ZeroPadding2D(3),
            layers.Conv2D(w["W"].shape[0], 7, strides=2, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(w["D"].shape[1], use_bias=False),
        ]
    )
    net.layers[1].set_weights([w["W"].transpose(2, 3, 1, 0), w["b"]])
    net.layers[3].set_weights([w["D"]])
    return net


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="cnn28,scale")
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
    models = {}
    if "cnn28" in args.models:
        models["cnn28"] = (zoo.model_path("digits_cnn28"), zoo.sample_inputs(28)[0][0][None], keras_cnn28)
    if "scale" in args.models:
        from smugkit.bench.models import scale_image, scale_model

        path = scale_model(Path(tempfile.mkdtemp()) / "scale.onnx")
        models["scale"] = (path, scale_image(0), lambda: keras_scale(path))
    print(f"python {platform.python_version()}, xplique {have or 'not installed'}, batch {b}")
    print(
        f"{'model':6} {'method':8} {'smugkit s':>10} {'calls':>7} {'xplique s':>10} {'ratio':>6} {'corr':>6}"
    )
    for mname, (path, x, make_keras) in models.items():
        model = Model(str(path))
        x = x.reshape(model.input.shape)
        target = int(model.predict(x))
        h, w = x.shape[-2:]
        keras_model = None
        if have:
            keras_model = make_keras()
            xh = x.transpose(0, 2, 3, 1).astype(np.float32)  # NCHW -> NHWC
            ref = np.asarray(model.scores(x)).reshape(-1)
            got = np.asarray(keras_model(xh)).reshape(-1)
            assert np.allclose(got, ref, atol=1e-4), (got, ref)
            onehot = np.eye(got.size, dtype=np.float32)[[target]]
        for name, opts, make in rows:
            opts = {**opts, "kind": "logit", "internal_batch_size": b}

            def ours(name=name, opts=opts, model=model, x=x, target=target):
                return smugkit.attribute(model, x, method=name, target=target, **opts)

            ours()
            t, att = best_time(ours, args.repeats)
            line = f"{mname:6} {name:8} {t:10.3f} {att.diagnostics['model_calls']:7d}"
            if keras_model is not None:
                explainer = make(keras_model)
                explainer.explain(xh, onehot)  # warm-up (graph tracing)
                tx, theirs = best_time(
                    lambda e=explainer, xh=xh, onehot=onehot: np.asarray(e.explain(xh, onehot)), args.repeats
                )
                corr = correlation(att.values[0, 0], np.asarray(theirs).reshape(h, w))
                line += f" {tx:10.3f} {t / tx:6.2f} {'-' if corr is None else format(corr, '6.3f')}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
