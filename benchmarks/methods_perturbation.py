"""Perturbation methods: time per explanation and model calls, beside Captum where it has the method.

Models: the bundled digits CNN (1x28x28) and the 3x224x224 first-conv network with random weights (the
bench's ``scale`` model); Captum runs on the PyTorch original of each with the ONNX weights (see
``benchmarks/methods.py``). Pairs, with the same number of model evaluations and the same batch size
(Captum's ``perturbations_per_eval`` = smugkit's ``internal_batch_size``):

- occlusion (patch p, stride p/2, fill 0, logit)      vs Captum ``Occlusion`` (window C x p x p, same strides)
- occlusion tiles (patch = stride = p)                vs Captum ``FeatureAblation`` on the same p x p tiles
- lime (SLIC superpixels, n samples, probability)     vs Captum ``Lime`` on smugkit's superpixels
- kernel_shap (same superpixels, n samples, fill 0)   vs Captum ``KernelShap`` (baselines 0)
- rise, sobol, hsic: smugkit alone (Captum has none of them; see benchmarks/gsa_xplique.py for Xplique)

Columns: seconds per explanation (best of ``--repeats``), model calls (points evaluated), Captum's seconds
and calls, the ratio smugkit / Captum, and the Pearson correlation of the two attributions.

Captum is a peer, not a dependency; install it only in this script's environment, e.g.
    python3 -m venv --system-site-packages /tmp/peers && . /tmp/peers/bin/activate
    pip install -e . captum torch==2.13.0 scikit-learn && python benchmarks/methods_perturbation.py
Without captum the smugkit columns alone are printed.

Run: python benchmarks/methods_perturbation.py [--models cnn28,scale] [--repeats 3] [--batch 256] [--json F]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # this checkout's smugkit, and benchmarks/_peers.py

from _peers import best_time, correlation, torch_cnn28, torch_scale

import smugkit
from smugkit import zoo
from smugkit.bench.models import scale_image, scale_model
from smugkit.model import Model


def cases(side: int, n_samples: int) -> list[tuple[str, str, dict]]:
    """(row label, smugkit method, options) for an image of ``side`` pixels."""
    patch = 4 if side <= 32 else 16
    return [
        ("occlusion", "occlusion", {"patch": patch, "stride": patch // 2, "kind": "logit"}),
        ("occlusion_tiles", "occlusion", {"patch": patch, "stride": patch, "kind": "logit"}),
        ("lime", "lime", {"n_samples": n_samples}),
        ("kernel_shap", "kernel_shap", {"n_samples": n_samples}),
        ("rise", "rise", {"n_masks": 2000}),
        ("sobol", "sobol", {}),
        ("hsic", "hsic", {}),
    ]


def captum_run(label: str, module, x: np.ndarray, target: int, opts: dict, att, batch: int):
    """A no-argument Captum run matching smugkit's row ``label`` (or None), and its call counter."""
    import torch
    from captum import attr

    calls = {"points": 0}
    module._forward_pre_hooks.clear()
    module.register_forward_pre_hook(
        lambda _m, inp: calls.__setitem__("points", calls["points"] + inp[0].shape[0])
    )
    probs = torch.nn.Sequential(module, torch.nn.Softmax(dim=-1)).eval()
    xt = torch.tensor(x, dtype=torch.float32)
    c = x.shape[1]
    seg = att.diagnostics.get("segments")
    mask = None if seg is None else torch.tensor(np.asarray(seg)[None, None], dtype=torch.long).expand_as(xt)
    if label == "occlusion":
        p, s = opts["patch"], opts["stride"]

        def run():
            return attr.Occlusion(module).attribute(
                xt,
                target=target,
                sliding_window_shapes=(c, p, p),
                strides=(c, s, s),
                baselines=0.0,
                perturbations_per_eval=batch,
            )
    elif label == "occlusion_tiles":
        p = opts["patch"]
        h, w = x.shape[-2:]
        tiles = (np.arange(h)[:, None] // p) * (-(-w // p)) + np.arange(w)[None] // p
        fmask = torch.tensor(tiles[None, None], dtype=torch.long).expand_as(xt)

        def run():
            return attr.FeatureAblation(module).attribute(
                xt, target=target, feature_mask=fmask, baselines=0.0, perturbations_per_eval=batch
            )
    elif label == "lime":

        def run():
            return attr.Lime(probs).attribute(
                xt,
                target=target,
                n_samples=opts["n_samples"],
                feature_mask=mask,
                perturbations_per_eval=batch,
            )
    elif label == "kernel_shap":

        def run():
            return attr.KernelShap(probs).attribute(
                xt,
                target=target,
                n_samples=opts["n_samples"],
                feature_mask=mask,
                baselines=0.0,
                perturbations_per_eval=batch,
            )
    else:
        return None, calls

    def timed():
        with torch.no_grad():
            return run().detach().numpy()

    return timed, calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="cnn28,scale")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256, help="points per model call, both libraries")
    ap.add_argument("--samples", type=int, default=500, help="LIME / KernelSHAP samples")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    try:
        import captum

        have_captum = captum.__version__
    except ImportError:
        have_captum = None
    if have_captum:
        import torch

        torch.set_grad_enabled(False)
    tmp = Path(tempfile.mkdtemp())
    models = {}
    if "cnn28" in args.models:
        models["cnn28"] = (str(zoo.model_path("digits_cnn28")), zoo.sample_inputs(28)[0][0][None])
    if "scale" in args.models:
        models["scale"] = (str(scale_model(tmp / "scale.onnx")), scale_image(0).reshape(1, 3, 224, 224))
    print(f"python {platform.python_version()}, captum {have_captum or 'not installed'}, batch {args.batch}")
    head = f"{'model':6} {'method':16} {'smugkit s':>10} {'calls':>7} {'captum s':>9} {'calls':>7} {'ratio':>6} {'corr':>6}"
    print(head)
    rows = []
    for mname, (path, x) in models.items():
        module = None
        if have_captum:
            module = torch_cnn28() if mname == "cnn28" else torch_scale(Path(path))
        model = Model(path)
        shaped = x.reshape(model.input.shape)
        target = int(model.predict(shaped))
        smugkit.attribute(model, x, method="occlusion", target=target, patch=x.shape[-1])  # warm the session
        for label, method, opts in cases(x.shape[-1], args.samples):
            opts = {**opts, "internal_batch_size": args.batch}

            def ours(method=method, opts=opts, model=model, x=x, target=target):
                return smugkit.attribute(model, x, method=method, target=target, **opts)

            t, att = best_time(ours, args.repeats)
            row = {
                "model": mname,
                "method": label,
                "smugkit_s": t,
                "smugkit_calls": att.diagnostics["model_calls"],
            }
            if module is not None:
                run, counter = captum_run(label, module, x, target, opts, att, args.batch)
                if run is not None:
                    run()
                    counter["points"] = 0
                    tc, ref = best_time(run, args.repeats)
                    row.update(
                        captum_s=tc,
                        captum_calls=counter["points"] // args.repeats,
                        ratio=t / tc,
                        correlation=correlation(att.values, ref),
                    )
            rows.append(row)

            def f(v, spec):
                return format(v, spec) if isinstance(v, int | float) else "-"

            print(
                f"{mname:6} {label:16} {t:10.3f} {row['smugkit_calls']:7d} {f(row.get('captum_s'), '9.3f'):>9} "
                f"{f(row.get('captum_calls'), '7d'):>7} {f(row.get('ratio'), '6.2f'):>6} "
                f"{f(row.get('correlation'), '6.3f'):>6}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
