"""Blur IG and Guided IG beside PAIR saliency's implementations (the methods' reference code, by their authors).

Both sides get their gradients from the same smugkit `Model` (the exact float64 ``ir`` provider), so the
columns compare the path methods themselves: seconds per explanation (best of ``--repeats``) for smugkit
on the same provider and on its default one, PAIR's seconds, the ratio smugkit (same provider) / PAIR, the
largest difference relative to PAIR's largest value, and the Pearson correlation. Defaults on both sides are
PAIR's: Blur IG max_sigma 50, 100 steps, grad_step 0.01; Guided IG 200 steps, fraction 0.25, max_dist 0.02,
black baseline; the logit of the predicted class. Models: the bundled digits CNN (1x28x28) and, with
``--models cnn28,scale``, the bench's 3x224x224 first-conv network (random weights).

PAIR saliency is a peer, not a dependency: install it only in this script's environment, e.g.
    python -m venv /tmp/peers && . /tmp/peers/bin/activate
    pip install -e . saliency==0.2.1 && python benchmarks/pair_path_methods.py
NumPy 2: saliency 0.2.1's Guided IG calls ``np.quantile(..., interpolation="lower")``, a keyword NumPy 2.4
removed (TypeError). This script therefore runs PAIR's Guided IG with that one keyword renamed to
``method=`` (NumPy's replacement, same meaning), inside PAIR's module only; ``--no-numpy2-shim`` runs it
unpatched and reports the failure. Blur IG needs no change.

Run: python benchmarks/pair_path_methods.py [--models cnn28,scale] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import smugkit
from smugkit import zoo
from smugkit.bench.models import scale_image, scale_model
from smugkit.model import Model
from smugkit.units import detect_layout

sys.path.insert(0, str(Path(__file__).parent))
from _peers import best_time, correlation


class _QuantileShim:
    """NumPy seen through PAIR's Guided IG module, with ``quantile(interpolation=...)`` spelled ``method=``."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def quantile(a, q, *args, interpolation=None, **kwargs):
        if interpolation is not None:
            kwargs["method"] = interpolation
        return np.quantile(a, q, *args, **kwargs)


def pair_runner(name: str, model: Model, x: np.ndarray, target: int):
    """A no-argument function running PAIR saliency's ``name`` on the model's ir gradients, in model shape."""
    import saliency.core as sal

    layout = detect_layout(model.network)
    image = layout.to_hwc(x)

    def call_model(batch, call_model_args=None, expected_keys=None):
        points = np.stack([layout.from_hwc(p) for p in np.asarray(batch)]).reshape((-1, *x.shape))
        grads = model.grad(points, target, kind="logit").reshape(points.shape)
        return {sal.INPUT_OUTPUT_GRADIENTS: np.stack([layout.to_hwc(g) for g in grads])}

    if name == "blur_ig":
        return lambda: layout.from_hwc(
            sal.BlurIG().GetMask(image, call_model, max_sigma=50, steps=100, grad_step=0.01, batch_size=100)
        )
    return lambda: layout.from_hwc(
        sal.GuidedIG().GetMask(
            image, call_model, x_baseline=np.zeros_like(image), x_steps=200, fraction=0.25, max_dist=0.02
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="cnn28")
    ap.add_argument("--methods", default="blur_ig,guided_ig")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-numpy2-shim", action="store_true", help="run PAIR's Guided IG unpatched")
    args = ap.parse_args(argv)
    try:
        import saliency.core.guided_ig as pair_guided
    except ImportError as e:
        print(f"PAIR saliency is not installed ({e}); see this script's docstring")
        return 1
    if not args.no_numpy2_shim and int(np.__version__.split(".")[0]) >= 2:
        pair_guided.np = _QuantileShim()
    models = {}
    if "cnn28" in args.models:
        models["cnn28"] = (str(zoo.model_path("digits_cnn28")), zoo.sample_inputs(28)[0][0][None])
    if "scale" in args.models:
        models["scale"] = (str(scale_model(Path(tempfile.mkdtemp()) / "scale.onnx")), scale_image(0))
    print(f"numpy {np.__version__}, numpy-2 shim for PAIR's Guided IG: {pair_guided.np is not np}")
    print(
        f"{'model':6} {'method':10} {'smugkit ir s':>12} {'default s':>10} {'PAIR s':>8} {'ratio':>6} "
        f"{'max rel diff':>12} {'corr':>6}"
    )
    for mname, (path, x) in models.items():
        exact = Model(path, gradients="ir")
        x = x.reshape(exact.input.shape)
        target = int(exact.predict(x))
        for name in args.methods.split(","):

            def ours(model, name=name, x=x, target=target):
                return smugkit.attribute(model, x, method=name, target=target, kind="logit")

            t_ir, a = best_time(lambda: ours(exact), args.repeats)  # noqa: B023  (called within the iteration)
            t_fast, _ = best_time(lambda: ours(path), args.repeats)  # noqa: B023
            try:
                t_pair, ref = best_time(pair_runner(name, exact, x, target), args.repeats)
            except TypeError as e:
                print(f"{mname:6} {name:10} PAIR saliency failed under numpy {np.__version__}: {e}")
                continue
            ref = np.asarray(ref).reshape(x.shape)
            diff = float(np.abs(a.values - ref).max() / max(np.abs(ref).max(), 1e-300))
            print(
                f"{mname:6} {name:10} {t_ir:12.3f} {t_fast:10.3f} {t_pair:8.3f} {t_ir / t_pair:6.2f} "
                f"{diff:12.2e} {correlation(a.values, ref):6.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
