"""The SMUG pipeline: IG-ranked first-layer neurons -> minimal window mask -> certified saliency map.

Sahoo et al., ICLR 2021, "Scaling Symbolic Methods using Gradients for Neural Model Explanation".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from smugkit.attribution.smug.certify import certify, model_runner
from smugkit.attribution.smug.config import SmugConfig
from smugkit.attribution.smug.encoding import FirstLayerInstance, first_layer_instance
from smugkit.attribution.smug.enumerate import live_units, smallest_mask
from smugkit.attribution.smug.explanation import Explanation
from smugkit.attribution.smug.full import full_network_problem
from smugkit.attribution.smug.saliency import smug_base
from smugkit.attribution.smug.thin import margins as thin_margins
from smugkit.attribution.smug.thin import thin_mask
from smugkit.backends.results import join_messages
from smugkit.dsl.solution import Solution
from smugkit.errors import InputError, ModelError
from smugkit.ir import Network
from smugkit.ir.linearize import affine_rows
from smugkit.model import Model
from smugkit.model.targets import model_input
from smugkit.records import finite, versions
from smugkit.units import MaskUnits, detect_layout, make_windows


def rank_neurons(model: Model, x: np.ndarray, label: int, steps: int, seed: int):
    """IG of the label's probability on the first layer's post-activation tensor, as a flat score vector."""
    from smugkit.attribution.integrated_gradients import integrated_gradients

    fl = model.network.first_layer()
    res = integrated_gradients(
        model,
        x,
        target=label,
        tensor=fl.post,
        baseline="zeros",
        steps=steps,
        kind="probability",
        seed=seed,
    )
    return np.asarray(res.attributions, np.float64).reshape(-1), res


def ranked_base(
    model: Model,
    x: np.ndarray,
    label: int,
    top_k: int,
    steps: int,
    seed: int,
    score: str,
    unit_of,
    count: int,
):
    """SMUG_BASE without a solver: IG ranks the first layer, the top-k neurons' scores are spread over the
    ``count`` units their receptive fields touch (``unit_of``: the unit of each input element).
    Returns the base per unit, the kept neurons and the IG result."""
    scores, ig = rank_neurons(model, x, label, steps, seed)
    kept = np.argsort(-scores, kind="stable")[: min(top_k, scores.size)]
    rows, _ = affine_rows(model.network, model.network.first_layer().pre, kept)
    return smug_base(rows, scores[kept], unit_of, count, score), kept, ig


def explain(
    model,
    x,
    config: SmugConfig | None = None,
    *,
    label: int | None = None,
    target: int | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> Explanation:
    """Explain the prediction of ``model`` on ``x`` with a minimal window mask (see module docstring).

    ``model`` is a `Model`, a `Network` or an ONNX file; options are `SmugConfig` fields, given as a config
    and/or keywords; ``label`` (or its synonym ``target``, as in every attribution method) defaults to the
    predicted class; ``progress`` is called with a short message as each stage starts.
    """
    if target is not None:
        if label is not None and label != target:
            raise InputError(f"label={label} and target={target} disagree; give one of them")
        label = target
    t_start = time.perf_counter()
    say = progress or (lambda msg: None)
    cfg = SmugConfig.make(config, **options)
    from smugkit import backends

    backend = cfg.backend or backends.DEFAULT_BACKEND
    model = _model_for(model, x, cfg.gradients)
    net = model.network
    x = model_input(net, x)
    lay = detect_layout(net, cfg.layout)
    wins = make_windows(lay, cfg.window)
    fl = net.first_layer()
    probs = model.probs(x).reshape(-1)
    if label is None:
        label = int(probs.argmax())
    if not 0 <= int(label) < probs.size:
        raise InputError(f"label {label} is out of range for a model with {probs.size} classes")
    label = int(label)
    encoding, ig_steps = cfg.encoding, cfg.ig_steps

    say(f"Integrated Gradients on {fl.post!r} ({ig_steps} steps, label {label})")
    t = time.perf_counter()
    scores, ig = rank_neurons(model, x, label, ig_steps, cfg.seed)
    t_ig = time.perf_counter() - t
    r = solve_and_check(model, x, label, scores, wins, cfg, backend, say)
    sol, bits, kept = r.solution, r.bits, r.encoding.kept

    pix = wins.layout.from_hw(np.arange(lay.height * lay.width).reshape(lay.height, lay.width)).reshape(-1)
    base = smug_base(r.encoding.rows, scores[kept], pix, lay.height * lay.width, cfg.score).reshape(
        lay.height, lay.width
    )
    plane = wins.plane(bits)
    return Explanation(
        model=model.source,
        label=label,
        probability=float(probs[label]),
        method="smug",
        encoding=encoding,
        options=replace(cfg, backend=backend, layout=lay.name).record(),
        layout=lay.name,
        window=int(cfg.window),
        mask_bits=bits.astype(np.float64),
        mask_plane=plane,
        saliency_base=base,
        saliency=base * plane,
        image=lay.to_hwc(x),
        status=r.status,
        mask_size=int(bits.sum()),
        lower_bound=finite(getattr(sol, "lower_bound", None)),
        neurons={
            "tensor": fl.pre,
            "kept": kept.tolist(),
            "ig": scores[kept].tolist(),
            "activations": r.encoding.pre[kept].tolist(),
            "constrained": r.active.tolist(),
            "thresholds": r.thresholds.tolist(),
        },
        solution=sol.to_dict(),
        certificate=r.certificate,
        exact_check=r.exact,
        alternatives=r.alternatives,
        ig={
            "steps": ig_steps,
            "completeness_error": finite(getattr(ig, "completeness_error", None)),
            "provider": getattr(model.provider, "describe", lambda: cfg.gradients)(),
        },
        timings={
            "ig": t_ig,
            **r.timings,
            "total": time.perf_counter() - t_start,
        },
        versions=versions(backend=sol.to_dict().get("backend_version")),
        notes=r.notes,
    )


@dataclass
class Solved:
    """SMUG's solve-and-check stage on any mask units (image windows, text tokens): the encoding, the
    solver's answer, the mask with its status, its exact and onnxruntime checks, and the reader's notes."""

    encoding: Encoded
    solution: Solution
    bits: np.ndarray  # one 0/1 per unit
    status: str
    alternatives: list[list[int]]
    thresholds: np.ndarray  # of the constrained neurons (empty for the full encoding)
    active: np.ndarray  # the constrained neurons
    exact: dict
    certificate: dict | None
    notes: list[str]
    timings: dict[str, float]  # encode, solve, certify


def solve_and_check(
    model: Model,
    x: np.ndarray,
    label: int,
    scores: np.ndarray,
    units: MaskUnits,
    cfg: SmugConfig,
    backend: str,
    say: Callable[[str], None],
) -> Solved:
    """Encode the top-k neurons (or the whole network) over ``units``, solve within the budget (the
    full encoding starts from a valid mask, so a time-out is `feasible`), re-check the mask exactly on the IR
    and on the real model (onnxruntime), and say what a reader must know about the answer."""
    from smugkit import backends

    net = model.network
    fl = net.first_layer()
    unit = units.kind or "unit"
    k = min(int(cfg.top_k), scores.size)
    say(f"encoding {cfg.encoding}: top {k} neurons, {units.count} mask bits")
    t = time.perf_counter()
    enc = encode(
        net,
        x,
        label,
        scores,
        top_k=k,
        gamma=cfg.gamma,
        windows=units,
        mask_value=cfg.mask_value,
        encoding=cfg.encoding,
        delta=cfg.delta,
        strict=cfg.strict,
    )
    t_encode = time.perf_counter() - t

    say(f"solving with {backend} (budget {cfg.timeout:g}s)")
    few = live_units(x, units, cfg.mask_value).size <= cfg.enumerate_bits
    t_solve_start = time.perf_counter()
    t = t_solve_start - t_encode  # the budget covers building the encoding too (a full CNN's takes ~0.5 s)
    # no incumbent: searches warm-start from a greedy mask (the full mask thinned while it stays feasible)
    name = enc.mask_var.name
    problem, fallback, sol, least = enc.problem, None, None, 0
    if cfg.encoding == "full" and few and cfg.num_solutions == 1:
        sol = _enumerated(net, x, label, units, cfg, t + 0.5 * cfg.timeout, name)
    if cfg.encoding == "full" and sol is None:  # a valid mask before the solve: a time-out is `feasible`
        fallback = full_incumbent(net, x, label, scores, cfg, units, backend, t + 0.2 * cfg.timeout)
        if fallback is not None:
            if cfg.enumerate_bits:
                sol, least = _smaller_by_enumeration(net, x, label, units, cfg, fallback, t, name)
            if sol is None and time.perf_counter() - t > 0.75 * cfg.timeout:  # no time left for a MILP
                sol = _unproved(fallback, name, cfg, t, least)
            elif sol is None and fallback.any():  # the MILP looks below the fallback: sum(m) < |fallback|
                problem, mask_var = full_network_problem(
                    net,
                    x,
                    label,
                    units,
                    cfg.mask_value,
                    cfg.delta,
                    cfg.strict,
                    max_ones=int(fallback.sum()) - 1,
                )
                name = mask_var.name
    if sol is None:
        sol = backends.solve(
            problem,
            backend=backend,
            timeout=max(cfg.timeout - (time.perf_counter() - t), 0.05 * cfg.timeout),
            num_solutions=cfg.num_solutions,
            seed=cfg.seed,
            incumbent=None if fallback is None else {name: fallback},
        )
    if fallback is not None and sol.status == "infeasible":  # no mask smaller than the fallback exists
        msg = f"{sol.backend}: no mask of at most {int(fallback.sum()) - 1} {unit}s keeps the label"
        sol = _proved(fallback, name, cfg, t, msg, sol)
    elif fallback is not None and sol.status != "optimal" and least and sol.backend != "forward":
        sol.lower_bound = max(sol.lower_bound or 0, least)
        sol.message = join_messages(sol.message, f"every mask of fewer than {least} {unit}s loses the label")
    t_solve = time.perf_counter() - t_solve_start
    bits, status = _mask_from(sol, name, units.count, cfg.encoding, fallback)
    alternatives = [
        np.rint(np.asarray(a[name])).astype(int).reshape(-1).tolist()
        for a in sol.alternatives
        if a.has_assignment
    ]

    say(f"certifying a mask of {int(bits.sum())} {unit}s ({status}) with onnxruntime")
    t = time.perf_counter()
    xm = units.apply(x, bits, cfg.mask_value)
    xi = units.apply(x, 1 - bits, cfg.mask_value)
    first_layer = enc.instance is not None
    thresholds = enc.instance.thresholds if first_layer else np.zeros(0)
    active = enc.active if first_layer else np.zeros(0, dtype=int)
    exact = _exact_check(net, fl.pre, xm, active, thresholds, label, cfg.delta, cfg.encoding, cfg.strict)
    cert = None
    if cfg.certify_with_onnxruntime:
        cert = certify(
            model_runner(net, [fl.pre, net.output.name]),
            fl.pre,
            net.output.name,
            x,
            xm,
            xi,
            active,
            thresholds,
            label,
            True,
            logit_delta=cfg.delta if cfg.encoding == "full" else None,
        ).to_dict()
    t_cert = time.perf_counter() - t
    blank = int(model.probs(units.apply(x, np.zeros(units.count), cfg.mask_value)).reshape(-1).argmax())
    notes = honesty_notes(
        bits,
        label,
        blank,
        scores[enc.kept],
        active.size,
        cfg.encoding,
        fallback=not _from_solver(sol, name, bits) or (sol.backend == "forward" and status != "optimal"),
        unit=unit,
    ) + bound_note(sol)
    return Solved(
        enc,
        sol,
        bits,
        status,
        alternatives,
        thresholds,
        active,
        exact,
        cert,
        notes,
        {"encode": t_encode, "solve": t_solve, "certify": t_cert},
    )


def honesty_notes(
    bits: np.ndarray,
    label: int,
    blank_label: int,
    kept_scores: np.ndarray,
    constrained: int,
    encoding: str,
    fallback: bool = False,
    unit: str = "window",
) -> list[str]:
    """What a reader must know before trusting a mask: an empty or trivial answer, and what was proved."""
    notes = []
    if fallback:
        notes.append(
            "the solver found no smaller mask within its budget: this is a fallback mask (the full mask, or for "
            "the full encoding the first-layer SMUG mask when it keeps the label, thinned window by window while "
            "it keeps it), valid but not proven minimal"
        )
    if blank_label == label:
        notes.append(
            f"the model predicts label {label} also on the fully masked input (every {unit} at the mask "
            f"value): a mask that keeps this label says little about the input"
        )
    if int(np.sum(bits)) == 0:
        notes.append(f"the mask is empty: the constraints hold with every {unit} masked")
    zero = int(np.count_nonzero(kept_scores == 0))
    if zero:
        notes.append(
            f"{zero} of the {kept_scores.size} top-k neurons have an IG score of 0 (picked by tie order, "
            f"not by relevance); {kept_scores.size - zero} were ranked for real"
        )
    if encoding == "full":
        notes.append("the certificate covers the label's logit margin on the masked input (whole network)")
    else:
        notes.append(
            f"the certificate covers the {constrained} constrained first-layer neurons only (those kept and "
            f"active on the input), not the label"
        )
    return notes


def bound_note(sol) -> list[str]:
    """Where the lower bound comes from when the solver proved none itself (`backends/relaxation.py`)."""
    msg = getattr(sol, "message", "") or ""
    for part in msg.split("; "):
        if part.startswith("lower bound from "):
            source = part.removeprefix("lower bound from ").split(" (")[0]
            return [f"the lower bound comes from {source}, computed after the solver stopped at its budget"]
    return []


_MODELS: dict[tuple, Model] = {}


def _model_for(model, x, gradients: str) -> Model:
    """A `Model` with the asked gradient provider; models loaded from a file are kept (up to 4), so the
    network, its provider's emitted graphs and sessions are reused by the next explanation of the same file."""
    key = None
    if isinstance(model, str | Path) and Path(model).is_file():
        st = Path(model).stat()
        key = (str(Path(model).resolve()), st.st_mtime_ns, st.st_size, gradients)
        if key in _MODELS:
            return _MODELS[key]
    m = Model.of(model, example=x)
    if m.gradients != gradients:
        m = Model(m.network, gradients=gradients)
    if key is not None:
        while len(_MODELS) >= 4:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[key] = m
    return m


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
    windows: MaskUnits,
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


def _enumerated(net, x, label, wins, cfg: SmugConfig, deadline: float, name: str):
    """A `Solution` proved optimal by enumerating masks by size, or None when the deadline came first."""

    t = time.perf_counter()
    bits, k = smallest_mask(net, x, label, wins, cfg.mask_value, cfg.delta, cfg.strict, deadline)
    if bits is None:
        return None
    return Solution(
        status="optimal",
        assignment={name: bits.astype(np.int64)},
        objective=float(bits.sum()),
        lower_bound=float(bits.sum()),
        solve_time=round(time.perf_counter() - t, 6),
        backend="enumeration",
        strategy="by-size",
        options={"enumerate_bits": cfg.enumerate_bits},
        seed=cfg.seed,
        message=f"every mask of fewer than {k} {wins.kind}s loses the label (float64 IR); this one keeps it",
        exact_check=None,
    )


def _smaller_by_enumeration(net, x, label: int, wins: MaskUnits, cfg: SmugConfig, fallback, t0: float, name):
    """Prove ``fallback`` optimal, or find the optimum, by enumerating every smaller mask by size (one batched
    float64 IR forward per 2048 masks): until 90% of the budget when the count should fit in it, else for a
    tenth of the budget, for a lower bound. Returns (a proved `Solution` or None, the size below which every
    mask was ruled out)."""
    s = int(np.sum(fallback))
    if s == 0:
        return _proved(fallback, name, cfg, t0, "the empty mask keeps the label"), 0
    count = sum(math.comb(live_units(x, wins, cfg.mask_value).size, k) for k in range(s))
    probe = np.zeros((min(256, count), wins.count), dtype=int)
    tp = time.perf_counter()
    thin_margins(net, x, label, wins, cfg.mask_value, probe)
    rate = (time.perf_counter() - tp) / probe.shape[0]
    end = t0 + 0.9 * cfg.timeout
    fits = time.perf_counter() + count * rate < end  # then the MILP would only repeat the work
    deadline = end if fits else min(time.perf_counter() + 0.1 * cfg.timeout, end)
    bits, least = smallest_mask(
        net, x, label, wins, cfg.mask_value, cfg.delta, cfg.strict, deadline, max_size=s - 1
    )
    msg = f"every mask of fewer than {least} {wins.kind}s loses the label (enumerated, float64 IR)"
    if bits is not None:
        return _proved(bits, name, cfg, t0, msg + "; this one keeps it"), least
    if least >= s:
        return _proved(fallback, name, cfg, t0, msg + "; this mask (found by forward passes) keeps it"), least
    return None, least


def _unproved(bits, name: str, cfg: SmugConfig, t0: float, least: int):
    """A `Solution` for the valid mask ``bits`` when the budget ends before any solver runs."""

    return Solution(
        status="feasible",
        assignment={name: np.asarray(bits, np.int64)},
        objective=float(np.sum(bits)),
        lower_bound=float(least) if least else None,
        solve_time=round(time.perf_counter() - t0, 6),
        backend="forward",
        seed=cfg.seed,
        message=f"every mask of fewer than {least} windows loses the label (enumerated, float64 IR); "
        "the budget ended before a smaller mask was found or ruled out",
    )


def _proved(bits, name: str, cfg: SmugConfig, t0: float, message: str, sol=None):
    """A `Solution` saying ``bits`` is optimal: no smaller mask keeps the label (``sol``: the solve that
    proved it, whose record is kept)."""
    from dataclasses import replace as _replace

    n = float(bits.sum())
    fields = {"assignment": {name: np.asarray(bits, np.int64)}, "objective": n, "lower_bound": n}
    if sol is not None:
        return _replace(sol, status="optimal", message=message, **fields)
    return Solution(
        status="optimal",
        solve_time=round(time.perf_counter() - t0, 6),
        backend="forward",
        seed=cfg.seed,
        message=message,
        **fields,
    )


def full_incumbent(
    net: Network,
    x,
    label: int,
    scores,
    cfg: SmugConfig,
    wins: MaskUnits,
    backend: str,
    thin_until: float | None = None,
):
    """The smaller of the first-layer SMUG mask and the full mask that keeps ``label`` ahead by ``delta``
    (checked on the IR in float64; onnxruntime certifies the final mask), or None when neither does. With
    ``thin_until`` (a `time.perf_counter` deadline) each is thinned first (`thin.thin_mask`)."""
    from smugkit import backends

    def keeps(bits) -> bool:
        z = net.run(wins.apply(x, bits, cfg.mask_value), [net.output.name])[net.output.name].reshape(-1)
        m = z[label] - np.delete(z, label).max() if z.size > 1 else np.inf
        return bool(m > cfg.delta if cfg.strict else m >= cfg.delta)

    found = [np.ones(wins.count, dtype=int)] if keeps(np.ones(wins.count, dtype=int)) else []
    try:
        enc = encode(
            net,
            x,
            label,
            scores,
            top_k=min(cfg.top_k, scores.size),
            gamma=cfg.gamma,
            windows=wins,
            mask_value=cfg.mask_value,
            strict=cfg.strict,
        )
        sol = backends.solve(enc.problem, backend=backend, timeout=min(5.0, 0.1 * cfg.timeout), seed=cfg.seed)
        bits, _ = _mask_from(sol, enc.mask_var.name, wins.count, "first_layer")
        if keeps(bits):
            found.append(bits)
    except (ModelError, InputError):
        pass
    if thin_until is not None:
        args = (net, x, label, wins, cfg.mask_value, cfg.delta, cfg.strict)
        found = [thin_mask(*args, b, thin_until) for b in found]
    return min(found, key=lambda b: int(b.sum())) if found else None


def _from_solver(sol, name: str, bits: np.ndarray) -> bool:
    """Whether ``bits`` is the solver's own mask (not a fallback)."""
    a = (getattr(sol, "assignment", None) or {}).get(name)
    return a is not None and np.array_equal(np.rint(np.asarray(a, np.float64)).reshape(-1), bits)


def _mask_from(sol, name: str, n: int, encoding: str, fallback=None) -> tuple[np.ndarray, str]:
    """The solver's mask, or the always-feasible full mask when a first-layer solve found none, or the
    ``fallback`` mask of a full-network solve when it is smaller than the solver's (or there is none)."""
    a = getattr(sol, "assignment", None) or {}
    if name in a and a[name] is not None:
        bits = np.rint(np.asarray(a[name], dtype=np.float64)).reshape(-1).astype(int)
        if fallback is not None and fallback.sum() < bits.sum():
            return np.asarray(fallback, int), "feasible"
        return bits, sol.status
    if fallback is not None and sol.status != "infeasible":
        return np.asarray(fallback, int), "feasible"
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
