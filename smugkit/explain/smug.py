"""The SMUG pipeline: IG-ranked first-layer neurons -> minimal window mask -> certified saliency map.

Sahoo et al., ICLR 2021, "Scaling Symbolic Methods using Gradients for Neural Model Explanation".
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import smugkit
from smugkit.errors import InputError, ModelError
from smugkit.explain.certify import OnnxRunner, certify, softmax
from smugkit.explain.encoding import FirstLayerInstance, first_layer_instance, masked_input
from smugkit.explain.explanation import Explanation
from smugkit.explain.image import detect_layout, make_windows
from smugkit.explain.saliency import smug_base
from smugkit.ir import Network
from smugkit.ir.linearize import affine_rows

ENCODINGS = ("first_layer", "full")


def _network(model) -> Network:
    if isinstance(model, Network):
        return model
    from smugkit.frontends import load_model

    return load_model(model)


def _input(net: Network, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    shape = net.input.shape
    squeezed = tuple(d for d in shape if d != 1)
    if x.shape != shape and tuple(d for d in x.shape if d != 1) == squeezed:
        x = x.reshape(shape)  # e.g. (1, 28, 28) for a (1, 1, 28, 28) input
    if x.shape != shape:
        raise InputError(
            f"input of shape {list(x.shape)} does not match the model input {net.input.name!r} "
            f"of shape {list(shape)}"
        )
    if not np.all(np.isfinite(x)):
        raise InputError("input contains NaN or Inf values")
    return x


def probabilities(net: Network, x: np.ndarray) -> np.ndarray:
    """Class probabilities: softmax of the network's scores."""
    return softmax(net(x))


def rank_neurons(net: Network, x: np.ndarray, label: int, steps: int, gradients: str, seed: int):
    """IG of the label's probability on the first layer's post-activation tensor, as a flat score vector."""
    from smugkit.explain.ig import integrated_gradients

    fl = net.first_layer()
    res = integrated_gradients(
        net,
        x,
        target=label,
        tensor=fl.post,
        baseline="zeros",
        steps=steps,
        output="probability",
        provider=gradients,
        seed=seed,
    )
    return np.asarray(res.attributions, np.float64).reshape(-1), res


def explain(
    model,
    x,
    *,
    label: int | None = None,
    method: str = "smug",
    top_k: int = 100,
    gamma: float = 0.5,
    window: int = 1,
    mask_value: float = 0.0,
    encoding: str = "first_layer",
    delta: float = 0.0,
    score: str = "max",
    ig_steps: int = 200,
    gradients: str = "ir",
    backend: str | None = None,
    timeout: float = 60.0,
    num_solutions: int = 1,
    seed: int = 0,
    layout: str = "auto",
    strict: bool = False,
    certify_with_onnxruntime: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Explanation:
    """Explain the prediction of ``model`` on ``x`` with a minimal window mask (see module docstring).

    ``progress`` is called with a short message as each stage starts.
    """
    t_start = time.perf_counter()
    say = progress or (lambda msg: None)
    if method != "smug":
        raise InputError(f"unknown method {method!r}; available: 'smug'")
    if encoding not in ENCODINGS:
        raise InputError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    if not isinstance(top_k, int | np.integer) or top_k < 1:
        raise InputError(f"top_k must be a positive integer, got {top_k!r}")
    if not 0.0 <= gamma < 1.0:
        raise InputError(f"gamma must be in [0, 1), got {gamma}")
    if ig_steps < 1:
        raise InputError(f"ig_steps must be at least 1, got {ig_steps}")
    if num_solutions < 1:
        raise InputError(f"num_solutions must be at least 1, got {num_solutions}")
    from smugkit import backends

    backend = backend or backends.DEFAULT_BACKEND
    net = _network(model)
    x = _input(net, x)
    lay = detect_layout(net, layout)
    wins = make_windows(lay, window)
    fl = net.first_layer()
    probs = probabilities(net, x)
    if label is None:
        label = int(probs.argmax())
    if not 0 <= int(label) < probs.size:
        raise InputError(f"label {label} is out of range for a model with {probs.size} classes")
    label = int(label)

    say(f"Integrated Gradients on {fl.post!r} ({ig_steps} steps, label {label})")
    t = time.perf_counter()
    scores, ig = rank_neurons(net, x, label, ig_steps, gradients, seed)
    t_ig = time.perf_counter() - t
    k = min(int(top_k), scores.size)
    say(f"encoding {encoding}: top {k} neurons, {wins.count} mask bits")
    t = time.perf_counter()
    enc = encode(
        net,
        x,
        label,
        scores,
        top_k=k,
        gamma=gamma,
        windows=wins,
        mask_value=mask_value,
        encoding=encoding,
        delta=delta,
        strict=strict,
    )
    problem, mask_var, inst, kept, active, pre, C = (
        enc.problem,
        enc.mask_var,
        enc.instance,
        enc.kept,
        enc.active,
        enc.pre,
        enc.rows,
    )
    t_encode = time.perf_counter() - t

    say(f"solving with {backend} (budget {timeout:g}s)")
    t = time.perf_counter()
    # no incumbent: searches warm-start from a greedy mask (the full mask thinned while it stays feasible)
    sol = backends.solve(problem, backend=backend, timeout=timeout, num_solutions=num_solutions, seed=seed)
    t_solve = time.perf_counter() - t
    bits, status = _mask_from(sol, mask_var.name, wins.count, encoding)
    alternatives = [
        np.rint(np.asarray(a[mask_var.name])).astype(int).reshape(-1).tolist()
        for a in sol.alternatives
        if a.has_assignment
    ]

    # re-check the mask: exactly on the IR (float64) and on the real model (onnxruntime)
    say(f"certifying a mask of {int(bits.sum())} windows ({status}) with onnxruntime")
    t = time.perf_counter()
    xm = masked_input(x, bits, wins, mask_value)
    xi = masked_input(x, 1 - bits, wins, mask_value)
    thresholds = inst.thresholds if inst is not None else np.zeros(0)
    active = active if inst is not None else np.zeros(0, dtype=int)
    exact = _exact_check(net, fl.pre, xm, active, thresholds, label, delta, encoding, strict)
    cert = None
    if certify_with_onnxruntime:
        runner = OnnxRunner(net, [fl.pre, net.output.name])
        cert = certify(
            runner,
            fl.pre,
            net.output.name,
            x,
            xm,
            xi,
            active,
            thresholds,
            label,
            True,
            logit_delta=delta if encoding == "full" else None,
        ).to_dict()
    t_cert = time.perf_counter() - t

    pix = wins.layout.from_hw(np.arange(lay.height * lay.width).reshape(lay.height, lay.width)).reshape(-1)
    base = smug_base(C, scores[kept], pix, lay.height * lay.width, score).reshape(lay.height, lay.width)
    plane = wins.plane(bits)
    return Explanation(
        model=str(net.origin.source),
        label=label,
        probability=float(probs[label]),
        method=method,
        encoding=encoding,
        options={
            "top_k": int(top_k),
            "gamma": gamma,
            "window": window,
            "mask_value": mask_value,
            "encoding": encoding,
            "delta": delta,
            "score": score,
            "ig_steps": ig_steps,
            "gradients": gradients,
            "backend": backend,
            "timeout": timeout,
            "num_solutions": num_solutions,
            "seed": seed,
            "layout": lay.name,
            "strict": strict,
        },
        layout=lay.name,
        window=int(window),
        mask_bits=bits.astype(np.float64),
        mask_plane=plane,
        saliency_base=base,
        saliency=base * plane,
        image=lay.to_hwc(x),
        status=status,
        mask_size=int(bits.sum()),
        lower_bound=_finite(getattr(sol, "lower_bound", None)),
        neurons={
            "tensor": fl.pre,
            "kept": kept.tolist(),
            "ig": scores[kept].tolist(),
            "activations": pre[kept].tolist(),
            "constrained": active.tolist(),
            "thresholds": thresholds.tolist(),
        },
        solution=sol.to_dict(),
        certificate=cert,
        exact_check=exact,
        alternatives=alternatives,
        ig={
            "steps": ig_steps,
            "completeness_error": _finite(getattr(ig, "completeness_error", None)),
            "provider": gradients,
        },
        timings={
            "ig": t_ig,
            "encode": t_encode,
            "solve": t_solve,
            "certify": t_cert,
            "total": time.perf_counter() - t_start,
        },
        versions=_versions(sol),
    )


@dataclass
class Encoded:
    """A SMUG problem ready for a backend, with what is needed to check and score its answer."""

    problem: object  # dsl.Problem
    mask_var: object  # dsl.Var of the window bits
    instance: FirstLayerInstance | None  # the first-layer system as sparse data (None for "full")
    kept: np.ndarray  # top-k neurons (flat indices into the pre-activation tensor)
    active: np.ndarray  # the kept neurons that are active, hence constrained
    pre: np.ndarray  # first-layer pre-activations on the input (flat)
    rows: object  # sparse affine rows of the kept neurons over the input
    offset: np.ndarray  # their constant terms: pre[kept] = rows @ x + offset


def encode(
    net: Network,
    x: np.ndarray,
    label: int,
    scores: np.ndarray,
    *,
    top_k: int,
    gamma: float,
    windows,
    mask_value: float = 0.0,
    encoding: str = "first_layer",
    delta: float = 0.0,
    strict: bool = False,
) -> Encoded:
    """Keep the top-k neurons by score and build the chosen encoding as a DSL problem."""
    fl = net.first_layer()
    pre = net.run(x, [fl.pre])[fl.pre].reshape(-1)
    kept = np.argsort(-np.asarray(scores), kind="stable")[: min(int(top_k), scores.size)]
    pos = np.flatnonzero(pre[kept] > 0)
    C, off = affine_rows(net, fl.pre, kept)
    if encoding == "first_layer":
        inst = first_layer_instance(
            net, x, kept[pos], gamma, windows, mask_value, strict, rows=(C[pos], off[pos])
        )
        problem, mask_var = _first_layer_problem(inst)
    else:
        from smugkit.explain.full import full_network_problem

        inst = None
        problem, mask_var = full_network_problem(net, x, label, windows, mask_value, delta, strict)
    return Encoded(problem, mask_var, inst, kept, kept[pos], pre, C, off)


def _first_layer_problem(inst: FirstLayerInstance):
    from smugkit.dsl import Problem

    # presolve: windows with no coefficient can only cost (their upper bound becomes 0);
    # rows that every mask satisfies say nothing
    ub = np.ones(inst.n_bits)
    ub[inst.useless_bits()] = 0.0
    p = Problem("smug_first_layer")
    m = p.var("m", inst.n_bits, "binary", ub=ub)
    needed = ~inst.implied_rows()
    if needed.any():
        A, rhs = inst.A[needed], inst.rhs[needed]
        p.add(A @ m > rhs if inst.strict else A @ m >= rhs)
    p.minimize(m.sum())
    return p, m


def _mask_from(sol, name: str, n: int, encoding: str) -> tuple[np.ndarray, str]:
    """The solver's mask, or the always-feasible full mask when a first-layer solve found none."""
    a = getattr(sol, "assignment", None) or {}
    if name in a and a[name] is not None:
        return np.rint(np.asarray(a[name], dtype=np.float64)).reshape(-1).astype(int), sol.status
    if encoding == "first_layer" and sol.status in ("unknown", "feasible"):
        return np.ones(n, dtype=int), "feasible"
    raise ModelError(
        f"no mask found: solver status {sol.status!r}"
        + (" (the label cannot be kept with this delta)" if sol.status == "infeasible" else "")
    )


def _exact_check(net, pre_name, xm, neurons, thresholds, label, delta, encoding, strict) -> dict:
    z = net.run(xm, [pre_name, net.output.name])
    margins = z[pre_name].reshape(-1)[neurons] - thresholds
    ok = np.all(margins > 0) if strict else np.all(margins >= 0)
    out = {"neurons_hold": bool(ok), "min_margin": float(margins.min()) if margins.size else 0.0}
    logits = z[net.output.name].reshape(-1)
    others = np.delete(logits, label)
    out["logit_margin"] = float(logits[label] - others.max()) if others.size else 0.0
    out["holds"] = out["neurons_hold"] if encoding == "first_layer" else out["logit_margin"] >= delta
    return out


def _finite(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _versions(sol) -> dict:
    import onnx
    import onnxruntime

    return {
        "smugkit": smugkit.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": sol.to_dict().get("backend_version"),
    }
