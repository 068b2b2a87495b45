"""Time per explanation and model calls for every attribution method, beside Captum where it has the method.

Models: the bundled digits CNN (1x28x28, conv-relu-maxpool x2, dense) and a 3x224x224 input through a
7x7/2 64-channel conv + ReLU + global average pool + dense head (the bench's ``scale`` model, random weights).
Captum runs on the PyTorch original of each (the same weights, loaded from the ONNX initialisers), with the
same number of steps / samples / patches, on the same input and target. Columns: seconds per explanation
(best of ``--repeats``), model calls (points evaluated: forward points and gradient points), Captum's
seconds and calls, the time ratio smugkit / Captum, and the Pearson correlation of the two attributions.

Captum is a peer, not a dependency: install it only in this script's environment, e.g.
    python -m venv /tmp/peers && . /tmp/peers/bin/activate
    pip install -e . captum torch==2.13.0 && python benchmarks/methods.py
Without captum the smugkit columns alone are printed.

Run: python benchmarks/methods.py [--models cnn28,scale] [--methods a,b] [--repeats N] [--gradients ir]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

import smugkit
from smugkit import zoo
from smugkit.attribution import METHODS
from smugkit.bench.models import scale_image, scale_model
from smugkit.model import Model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import best_time, correlation, torch_cnn28, torch_scale

# smugkit options per method, chosen so that Captum's counterpart does the same amount of work
OPTIONS = {
    "gradient": {"kind": "logit"},
    "gradient_x_input": {"kind": "logit"},
    "integrated_gradients": {"n_steps": 50, "kind": "logit"},
    "smoothgrad": {"n_samples": 50, "stdevs": 0.15, "kind": "probability"},  # Captum's row runs on softmax
    "smoothgrad_sq": {"n_samples": 50, "stdevs": 0.15, "kind": "probability"},
    "vargrad": {"n_samples": 50, "stdevs": 0.15, "kind": "probability"},
    "blur_ig": {},
    "guided_ig": {},
    "geometric_ig": {},
    "occlusion": {"patch": 4, "stride": 2, "kind": "logit"},
    "rise": {"n_masks": 2000},
    "lime": {"n_samples": 500},
    "kernel_shap": {"n_samples": 500},
    "sobol": {},
    "hsic": {},
    "meaningful_perturbation": {"n_iter": 300},
    "local_smooth": {"n_iter": 100},
    "smug_base": {"top_k": 100, "ig_steps": 50},
    "smug": {"top_k": 100, "ig_steps": 50, "window": 2, "backend": "highs", "timeout": 30.0},
}
SCALE_SKIP = {"smug"}  # a 3136-bit solve times the solver, not the method; see benchmarks/backends.py


def captum_runner(name: str, module, x: np.ndarray, target: int, options: dict, grid: np.ndarray | None):
    """A no-argument function running Captum's counterpart of ``name``, and its call counter (or None)."""
    import torch
    from captum import attr

    calls = {"points": 0}

    def count(_mod, inputs):
        calls["points"] += int(inputs[0].shape[0])

    module._forward_pre_hooks.clear()
    module.register_forward_pre_hook(count)
    probs = torch.nn.Sequential(module, torch.nn.Softmax(dim=-1)).eval()
    xt = torch.tensor(x, dtype=torch.float32)
    mask = None if grid is None else torch.tensor(grid.reshape((1, 1, *grid.shape)), dtype=torch.long)
    n = options.get("n_samples")
    std = options.get("stdevs", 0.15)
    table = {
        "gradient": lambda: attr.Saliency(module).attribute(xt, target=target, abs=False),
        "gradient_x_input": lambda: attr.InputXGradient(module).attribute(xt, target=target),
        "integrated_gradients": lambda: attr.IntegratedGradients(module).attribute(
            xt, target=target, n_steps=options["n_steps"], method="riemann_middle"
        ),
        "smoothgrad": lambda: attr.NoiseTunnel(attr.Saliency(probs)).attribute(
            xt, target=target, nt_type="smoothgrad", nt_samples=n, stdevs=std, abs=False
        ),
        "smoothgrad_sq": lambda: attr.NoiseTunnel(attr.Saliency(probs)).attribute(
            xt, target=target, nt_type="smoothgrad_sq", nt_samples=n, stdevs=std, abs=False
        ),
        "vargrad": lambda: attr.NoiseTunnel(attr.Saliency(probs)).attribute(
            xt, target=target, nt_type="vargrad", nt_samples=n, stdevs=std, abs=False
        ),
        "occlusion": lambda: attr.Occlusion(module).attribute(
            xt,
            target=target,
            sliding_window_shapes=(x.shape[1], options["patch"], options["patch"]),
            strides=(x.shape[1], options["stride"], options["stride"]),
            baselines=0.0,
        ),
        "lime": lambda: attr.Lime(probs).attribute(xt, target=target, n_samples=n, feature_mask=mask),
        "kernel_shap": lambda: attr.KernelShap(probs).attribute(
            xt, target=target, n_samples=n, feature_mask=mask, baselines=0.0
        ),
    }
    if name not in table or name in ("lime", "kernel_shap") and mask is None:
        return None, calls

    def run():
        with torch.enable_grad():
            return table[name]().detach().numpy()

    return run, calls


def superpixel_grid(a) -> np.ndarray | None:
    """The superpixel id per pixel that smugkit's LIME/KernelSHAP used, if it recorded one."""
    seg = a.diagnostics.get("segments") if isinstance(a.diagnostics, dict) else None
    return None if seg is None else np.asarray(seg, dtype=np.int64)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="cnn28,scale")
    ap.add_argument("--methods", default=",".join(m for m in OPTIONS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--gradients", default="onnx", help="smugkit's gradient provider (onnx: the fastest; ir, fd)"
    )
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    try:
        import captum  # noqa: F401

        have_captum = True
    except ImportError:
        have_captum = False
    tmp = Path(tempfile.mkdtemp())
    models = {}
    if "cnn28" in args.models:
        models["cnn28"] = (str(zoo.model_path("digits_cnn28")), zoo.sample_inputs(28)[0][0][None])
    if "scale" in args.models:
        path = scale_model(tmp / "scale.onnx")
        models["scale"] = (str(path), scale_image(0)[None])
    rows = []
    print(f"python {platform.python_version()}, captum {'yes' if have_captum else 'not installed'}")
    print(
        f"{'model':6} {'method':24} {'smugkit s':>10} {'calls':>8} {'captum s':>9} {'calls':>8} "
        f"{'ratio':>6} {'corr':>6}"
    )
    for mname, (path, x) in models.items():
        module = None
        if have_captum:
            module = torch_cnn28() if mname == "cnn28" else torch_scale(Path(path))
        for name in args.methods.split(","):
            if name not in METHODS or mname == "scale" and name in SCALE_SKIP:
                continue
            opts = {k: v for k, v in OPTIONS.get(name, {}).items()}
            known = {f for f in METHODS[name].Options.__dataclass_fields__}
            opts = {k: v for k, v in opts.items() if k in known}
            model = Model(path, gradients=args.gradients)
            target = int(model.predict(x.reshape(model.input.shape)))
            model.scores(x.reshape(model.input.shape))  # warm caches (sessions, compiled graphs)
            model.calls.clear()

            def ours(model=model, x=x, name=name, target=target, opts=opts):
                return smugkit.attribute(model, x, method=name, target=target, **opts)

            t, a = best_time(ours, args.repeats)
            calls = sum(model.calls.values()) // args.repeats
            row = {"model": mname, "method": name, "smugkit_s": t, "smugkit_calls": calls, "options": opts}
            if module is not None:
                run, counter = captum_runner(name, module, x, target, opts, superpixel_grid(a))
                if run is not None:
                    run()  # warm-up
                    counter["points"] = 0
                    tc, ref = best_time(run, args.repeats)
                    row.update(
                        captum_s=tc,
                        captum_calls=counter["points"] // args.repeats,
                        ratio=t / tc,
                        correlation=correlation(a.values, ref),
                    )
            rows.append(row)

            def f(v, spec):
                return format(v, spec) if isinstance(v, int | float) else "-"

            print(
                f"{mname:6} {name:24} {t:10.3f} {calls:8d} {f(row.get('captum_s'), '9.3f'):>9} "
                f"{f(row.get('captum_calls'), '8d'):>8} {f(row.get('ratio'), '6.2f'):>6} "
                f"{f(row.get('correlation'), '6.3f'):>6}",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
