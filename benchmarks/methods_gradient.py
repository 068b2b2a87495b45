"""The gradient family beside Captum: time per explanation, model calls, time ratio and agreement.

Methods: gradient, gradient x input, Integrated Gradients, SmoothGrad, SmoothGrad-squared, VarGrad (Captum
has each, with the same number of steps / samples), and Blur IG, Guided IG, geometrically-guided IG (smugkit
only; PAIR saliency's Blur IG and Guided IG are compared in ``benchmarks/pair_path_methods.py``). Models: the
bundled digits CNN (1x28x28) and the bench's ``scale`` network (3x224x224 -> 7x7/2 conv with 64 channels,
random weights); Captum runs on the PyTorch original of each with the same weights (loaded from the ONNX
initialisers), on the same input and target, attributing the logit on both sides. Columns: smugkit's
gradient provider, seconds per explanation (best of ``--repeats``, after a warm-up), model calls (points
evaluated, forward and gradient), Captum's seconds and calls, the ratio smugkit / Captum (target: <= 2),
and the Pearson correlation of the two attributions (SmoothGrad-type rows use different noise draws, so
theirs is below 1 by sampling alone).

Captum is a peer, not a dependency: install it only in this script's environment, e.g.
    python -m venv /tmp/peers && . /tmp/peers/bin/activate
    pip install -e . captum torch==2.13.0 && python benchmarks/methods_gradient.py
Without captum (or torch) the smugkit columns alone are printed.

Run: python benchmarks/methods_gradient.py [--models cnn28,scale] [--methods a,b] [--repeats N]
     [--gradients onnx,ir] [--json FILE]
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
from smugkit.bench.models import scale_image, scale_model
from smugkit.model import Model

sys.path.insert(0, str(Path(__file__).parent))
from _peers import best_time, correlation, torch_cnn28, torch_scale

N_STEPS, N_SAMPLES, STDEVS = 50, 50, 0.15
OPTIONS = {  # the same work as Captum's counterpart below: steps, samples, noise, logit target
    "gradient": {"kind": "logit"},
    "gradient_x_input": {"kind": "logit"},
    "integrated_gradients": {"n_steps": N_STEPS, "kind": "logit", "rule": "riemann_mid"},
    "smoothgrad": {"n_samples": N_SAMPLES, "stdevs": STDEVS, "kind": "logit"},
    "smoothgrad_sq": {"n_samples": N_SAMPLES, "stdevs": STDEVS, "kind": "logit"},
    "vargrad": {"n_samples": N_SAMPLES, "stdevs": STDEVS, "kind": "logit"},
    "blur_ig": {"kind": "logit"},
    "guided_ig": {"kind": "logit"},
    "geometric_ig": {"kind": "logit"},
}


def captum_runner(name: str, module, x: np.ndarray, target: int):
    """A no-argument function running Captum's counterpart of ``name`` (or None), and its call counter."""
    import torch
    from captum import attr

    calls = {"points": 0}
    module._forward_pre_hooks.clear()
    module.register_forward_pre_hook(
        lambda _m, inputs: calls.__setitem__("points", calls["points"] + len(inputs[0]))
    )
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)

    def tunnel(kind):
        return lambda: attr.NoiseTunnel(attr.Saliency(module)).attribute(
            xt, target=target, nt_type=kind, nt_samples=N_SAMPLES, stdevs=STDEVS, abs=False
        )

    table = {
        "gradient": lambda: attr.Saliency(module).attribute(xt, target=target, abs=False),
        "gradient_x_input": lambda: attr.InputXGradient(module).attribute(xt, target=target),
        "integrated_gradients": lambda: attr.IntegratedGradients(module).attribute(
            xt, target=target, n_steps=N_STEPS, method="riemann_middle"
        ),
        "smoothgrad": tunnel("smoothgrad"),
        "smoothgrad_sq": tunnel("smoothgrad_sq"),
        "vargrad": tunnel("vargrad"),
    }
    if name not in table:
        return None, calls

    def run():
        with torch.enable_grad():
            return table[name]().detach().numpy()

    return run, calls


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="cnn28,scale")
    ap.add_argument("--methods", default=",".join(OPTIONS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gradients", default="onnx", help="smugkit gradient providers to time, comma-separated")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    try:
        import captum  # noqa: F401
        import torch  # noqa: F401

        have_captum = True
    except ImportError:
        have_captum = False
    models = {}
    if "cnn28" in args.models:
        models["cnn28"] = (str(zoo.model_path("digits_cnn28")), zoo.sample_inputs(28)[0][0][None])
    if "scale" in args.models:
        models["scale"] = (str(scale_model(Path(tempfile.mkdtemp()) / "scale.onnx")), scale_image(0))
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, captum {'yes' if have_captum else 'no'}"
    )
    print(
        f"{'model':6} {'method':21} {'grads':5} {'smugkit s':>10} {'calls':>6} {'captum s':>9} {'calls':>6} "
        f"{'ratio':>6} {'corr':>6}"
    )
    rows = []
    for mname, (path, x) in models.items():
        module = (torch_cnn28() if mname == "cnn28" else torch_scale(Path(path))) if have_captum else None
        for name in args.methods.split(","):
            for provider in args.gradients.split(","):
                model = Model(path, gradients=provider)
                xm = x.reshape(model.input.shape)
                target = int(model.predict(xm))
                opts = OPTIONS[name]

                def ours(model=model, xm=xm, name=name, target=target, opts=opts):
                    return smugkit.attribute(model, xm, method=name, target=target, **opts)

                ours()  # warm-up: sessions, compiled gradient graphs
                model.calls.clear()
                t, a = best_time(ours, args.repeats)
                calls = sum(model.calls.values()) // args.repeats
                row = {
                    "model": mname,
                    "method": name,
                    "gradients": provider,
                    "smugkit_s": t,
                    "smugkit_calls": calls,
                }
                if module is not None:
                    run, counter = captum_runner(name, module, x, target)
                    if run is not None:
                        run()
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
                    f"{mname:6} {name:21} {provider:5} {t:10.4f} {calls:6d} {f(row.get('captum_s'), '9.4f'):>9} "
                    f"{f(row.get('captum_calls'), '6d'):>6} {f(row.get('ratio'), '6.2f'):>6} "
                    f"{f(row.get('correlation'), '6.3f'):>6}",
                    flush=True,
                )
    worst = max((r["ratio"] for r in rows if "ratio" in r), default=None)
    if worst is not None:
        print(f"largest ratio smugkit / Captum: {worst:.2f} (target <= 2)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
