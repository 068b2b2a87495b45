"""smugkit's metrics beside Quantus's on the PyTorch original of the bundled digits CNN: same inputs, same maps.

Model: digits_cnn28 (conv-relu-maxpool x2, dense; ``smugkit/zoo/train_digits.py``), smugkit on its ONNX
file, Quantus on the PyTorch module with the same weights (loaded from the ONNX initialisers). Items: the
first ``-n`` digits of the zoo test split; maps: the logit gradient (smugkit's ``gradient`` method; the
PyTorch gradient is checked to equal it), handed to both. Rows, one per metric both libraries have:

- deletion vs Quantus ``PixelFlipping`` (black = the image minimum = 0 here, 8 pixels a step): the curves
  are compared point by point. Definition difference: smugkit's curve starts at the unperturbed input and
  its area is over the removed fraction in [0, 1]; Quantus's starts after the first step and its area is
  ``np.trapz`` with dx = 1 step. The ``converted`` row adds the first interval and divides by the steps.
- pointing game (truth: the tightest box around the pixels above 0.3), smugkit's ``ties="any"`` being
  Quantus's rule (smugkit's default ``"share"`` differs only where several pixels share the maximum).
- localisation AUC vs Quantus ``AUC`` (the same box as truth): the ROC AUC of the map's pixel scores.
- sparseness (Gini): Quantus adds 1e-7 to every |value| (after dividing by the maximum) before the index.
- max-sensitivity: the same seeded uniform noise (radius 0.02) replayed into Quantus through its
  ``perturb_func``; Quantus re-explains with the PyTorch gradient, smugkit with its own.
- model randomisation (cascading, top-down, Spearman of |map|): the layers are the same, the draws are not:
  Quantus re-runs each layer's PyTorch ``reset_parameters`` (uniform with fan-in bounds, seed 42), smugkit
  draws Gaussians with each weight tensor's standard deviation, so per-layer values agree in size, not
  digit for digit.

Quantus is a peer, not a dependency; install it only in this script's environment, e.g.
    python -m venv /tmp/peers && . /tmp/peers/bin/activate
    pip install -e . quantus==0.6.0 torch==2.13.0 && python benchmarks/metrics_quantus.py
Run: python benchmarks/metrics_quantus.py [-n 20]
"""

from __future__ import annotations

import argparse
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

from smugkit import zoo
from smugkit.attribution import attribute
from smugkit.metrics import evaluate
from smugkit.metrics.robustness import noisy_inputs
from smugkit.model import Model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import torch_cnn28

STEP = 8  # pixels per deletion step (784 / 8 = 98 steps)
RADIUS, SAMPLES = 0.02, 10


def torch_gradient(net, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of the logit of class y[i] w.r.t. each input x[i] (float32, as Quantus runs it)."""
    import torch

    t = torch.tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    out = net(t)
    out[torch.arange(len(y)), torch.as_tensor(np.asarray(y, dtype=np.int64))].sum().backward()
    return t.grad.numpy().astype(np.float64)


def truth_box(img: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((img > 0.3).any(axis=1))
    cols = np.flatnonzero((img > 0.3).any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def main(argv: list[str] | None = None) -> int:
    import quantus

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=20, help="items of the test split (default 20)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")

    model = Model(zoo.model_path("digits_cnn28"))
    net = torch_cnn28()
    xs, _ = zoo.test_set(28)
    xs = xs[: args.n].astype(np.float64)  # (n, 1, 28, 28)
    targets = np.array([model.predict(x[None]) for x in xs])
    maps = [attribute(model, x[None], method="gradient", target=int(t)) for x, t in zip(xs, targets)]
    a_batch = np.stack([a.values.reshape(1, 28, 28) for a in maps])
    grad_gap = float(np.abs(torch_gradient(net, xs, targets) - a_batch).max())
    boxes = [truth_box(x[0]) for x in xs]
    s_batch = np.zeros_like(xs)
    for i, (r0, c0, r1, c1) in enumerate(boxes):
        s_batch[i, 0, r0:r1, c0:c1] = 1

    rows = []

    def row(name, ours, theirs, note):
        ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
        rows.append(
            (
                name,
                float(np.nanmean(ours)),
                float(np.nanmean(theirs)),
                float(np.nanmax(np.abs(ours - theirs))),
                note,
            )
        )

    # deletion / pixel flipping
    ours = [
        evaluate(a, metric="deletion", model=model, x=x[None], steps=784 // STEP, random_orders=0)
        for a, x in zip(maps, xs)
    ]
    pf = quantus.PixelFlipping(
        features_in_step=STEP, perturb_baseline="black", normalise=False, abs=False, disable_warnings=True
    )
    q_curves = np.asarray(
        pf(
            model=net,
            x_batch=xs.astype(np.float32),
            y_batch=targets,
            a_batch=a_batch.astype(np.float32),
            softmax=True,
            device="cpu",
        )
    )
    o_curves = np.array([s.details["curve"] for s in ours])
    rows.append(
        (
            "deletion curve (points)",
            float(o_curves[:, 1:].mean()),
            float(q_curves.mean()),
            float(np.abs(o_curves[:, 1:] - q_curves).max()),
            "same points; smugkit adds the start",
        )
    )
    q_auc = np.trapezoid(q_curves, dx=1, axis=1)
    row("deletion AUC (raw)", [s.value for s in ours], q_auc, "Quantus: dx = 1 step, no start point")
    steps = q_curves.shape[1]
    converted = (q_auc + (o_curves[:, 0] + q_curves[:, 0]) / 2) / steps
    row("deletion AUC (converted)", [s.value for s in ours], converted, "start interval added, / steps")

    # pointing game
    ours = [
        evaluate(a, metric="pointing_game", model=model, x=x[None], truth=b, ties="any").value
        for a, x, b in zip(maps, xs, boxes)
    ]
    q = quantus.PointingGame(abs=False, normalise=False, disable_warnings=True)(
        model=net, x_batch=xs.astype(np.float32), y_batch=targets, a_batch=a_batch, s_batch=s_batch
    )
    row("pointing game (ties=any)", ours, q, "same rule")

    # localisation AUC
    ours = [
        evaluate(a, metric="localisation_auc", model=model, x=x[None], truth=b).value
        for a, x, b in zip(maps, xs, boxes)
    ]
    q = quantus.AUC(abs=False, normalise=False, disable_warnings=True)(
        model=net, x_batch=xs.astype(np.float32), y_batch=targets, a_batch=a_batch, s_batch=s_batch
    )
    row("localisation AUC", ours, q, "same ROC AUC (ties half)")

    # sparseness
    ours = [evaluate(a, metric="sparseness").value for a in maps]
    q = quantus.Sparseness(disable_warnings=True)(
        model=net, x_batch=xs.astype(np.float32), y_batch=targets, a_batch=a_batch.copy()
    )
    row("sparseness (Gini)", ours, q, "Quantus adds 1e-7 to |a| / max|a|")

    # max-sensitivity with the same noise
    ours, theirs = [], []
    for a, x, t in zip(maps, xs, targets):
        ours.append(
            evaluate(
                a, metric="max_sensitivity", model=model, x=x[None], radius=RADIUS, samples=SAMPLES, seed=0
            ).value
        )
        noise = list(noisy_inputs(x[None], RADIUS, SAMPLES, 0) - x[None])

        def replay(arr, indices, indexed_axes=None, noise=noise, **kw):
            return arr + noise.pop(0).reshape(arr.shape).astype(arr.dtype)

        ms = quantus.MaxSensitivity(
            nr_samples=SAMPLES, perturb_func=replay, normalise=False, abs=False, disable_warnings=True
        )
        theirs += ms(
            model=net,
            x_batch=x[None].astype(np.float32),
            y_batch=np.array([t]),
            a_batch=a.values.reshape(1, 1, 28, 28),
            explain_func=lambda model, inputs, targets, **kw: torch_gradient(model, inputs, targets).astype(
                np.float32
            ),
        )
    row("max-sensitivity", ours, theirs, "same noise; float32 PyTorch gradient")

    # cascading model randomisation
    ours = [evaluate(a, metric="model_randomisation", model=model, x=x[None]) for a, x in zip(maps, xs)]
    mprt = quantus.MPRT(layer_order="top_down", seed=42, abs=True, normalise=True, disable_warnings=True)
    q = mprt(
        model=net,
        x_batch=xs.astype(np.float32),
        y_batch=targets,
        a_batch=a_batch.astype(np.float32),
        explain_func=lambda model, inputs, targets, **kw: torch_gradient(model, inputs, targets).astype(
            np.float32
        ),
    )
    layers = [k for k in q if k not in ("original", "orig")]
    o_layers = np.array([s.details["correlations"] for s in ours])  # top-down, like Quantus
    for j, name in enumerate(layers):
        rows.append(
            (
                f"randomisation {name}",
                float(o_layers[:, j].mean()),
                float(np.mean(q[name])),
                float("nan"),
                "different random draws",
            )
        )

    print(
        f"digits_cnn28, {len(xs)} test digits, gradient maps (smugkit vs PyTorch gradient: max |diff| {grad_gap:.1e})"
    )
    print(f"quantus {quantus.__version__}, python {platform.python_version()}")
    w = max(len(r[0]) for r in rows)
    print(f"{'metric'.ljust(w)}  {'smugkit':>9}  {'quantus':>9}  {'max|diff|':>9}  note")
    for name, o, t, d, note in rows:
        print(f"{name.ljust(w)}  {o:9.5f}  {t:9.5f}  {d:9.1e}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
