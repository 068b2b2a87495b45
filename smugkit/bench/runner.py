"""Run suites on backends with one budget each, re-check every mask, flag disagreements, resume runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

import numpy as np

from smugkit.attribution.smug.certify import certify, model_runner
from smugkit.bench.suites import InstanceSpec
from smugkit.errors import InputError, SolverUnavailable
from smugkit.records import plain
from smugkit.run import Job, JobStore, job_id, run_jobs
from smugkit.runtime.session import OutputRunner
from smugkit.text.bench import TEXT_MODELS, text_instance
from smugkit.units import detect_layout, make_tokens, make_windows

Solver = Callable[["Prepared", float, int], dict]  # returns a Solution-shaped dict (Solution.to_dict keys)


@dataclass
class Prepared:
    """An instance encoded once, shared by every backend run."""

    spec: InstanceSpec
    net: object
    x: np.ndarray
    label: int
    windows: object
    encoded: object  # smug.Encoded
    build_time: float  # encoding time (IG excluded)

    @property
    def size(self) -> dict:
        inst = self.encoded.instance
        if inst is not None:
            return {"bits": self.windows.count, "constraints": int(inst.A.shape[0]), "nnz": int(inst.A.nnz)}
        return {"bits": self.windows.count, "constraints": None, "nnz": None}


def _model_and_input(spec: InstanceSpec, cache: Path):
    from smugkit import zoo
    from smugkit.bench.models import scale_image, scale_model
    from smugkit.frontends import load_model

    if spec.model == "scale":
        return load_model(scale_model(cache / "scale_first_layer.onnx")), scale_image(spec.sample)
    if spec.model in TEXT_MODELS:
        return text_instance(spec.model, spec.sample)
    if spec.model in zoo.list_models():
        net = load_model(zoo.model_path(spec.model))
        images, _ = zoo.model_samples(spec.model)
        return net, images[spec.sample].reshape(net.input.shape)
    path = Path(spec.model)
    if not path.is_file():
        raise InputError(f"instance model {spec.model!r} is neither a bundled model, 'scale', nor a file")
    raise InputError(
        f"instance model {spec.model!r}: file models need an input; use a bundled model or 'scale'"
    )


@lru_cache(maxsize=32)
def _ig_scores(model: str, sample: int, cache: str) -> tuple:
    from smugkit.attribution.smug import rank_neurons
    from smugkit.model import Model

    net, x = _model_and_input(InstanceSpec(model, sample), Path(cache))
    wrapped = Model(net, gradients="ir")
    label = int(wrapped.predict(x))
    scores, _ = rank_neurons(wrapped, x, label, steps=200, seed=0)
    return net, x, label, scores


def prepare(spec: InstanceSpec, cache: Path) -> Prepared:
    """Load the model, rank neurons by IG (cached per model and input) and encode the instance."""
    from smugkit.attribution.smug import encode

    net, x, label, scores = _ig_scores(spec.model, spec.sample, str(cache))
    wins = (
        make_tokens(x.shape) if spec.model in TEXT_MODELS else make_windows(detect_layout(net), spec.window)
    )
    t = time.perf_counter()
    enc = encode(
        net,
        x,
        label,
        scores,
        top_k=spec.top_k,
        gamma=spec.gamma,
        windows=wins,
        encoding=spec.encoding,
        delta=spec.delta,
    )
    return Prepared(spec, net, x, label, wins, enc, time.perf_counter() - t)


def backend_solver(name: str) -> Solver:
    """A solver callable for ``backend[@strategy][+prover]`` or ``reference``.

    ``highs+z3`` is the hybrid: HiGHS finds the optimum K*, z3 proves ``sum(m) <= K*-1`` infeasible exactly.
    """
    if name == "reference":
        return _reference
    from smugkit.backends.registry import backend_names, get_backend, prover_names, split_hybrid

    spec, prover = split_hybrid(name)
    backend, _, strategy = spec.partition("@") if not spec.startswith("portfolio") else (spec, "", "")
    if backend not in backend_names() and not backend.startswith("portfolio:"):
        raise InputError(
            f"bench backend {name!r}: unknown backend {backend!r}; known: reference, {backend_names()}"
        )
    strategies = get_backend(backend).capabilities.strategies
    if strategy and strategy not in strategies:
        raise InputError(
            f"bench backend {name!r}: {backend} has no strategy {strategy!r}; choose from {strategies}"
        )
    if prover and prover not in get_backend(backend).choices().get("certify", ()):
        raise InputError(
            f"bench backend {name!r}: '+prover' certifies a MILP (highs, scip) optimum with one of "
            f"{prover_names()}"
        )
    options = {"certify": prover} if prover else {}

    def run(p: Prepared, timeout: float, seed: int) -> dict:
        from smugkit import backends

        sol = backends.solve(
            p.encoded.problem,
            backend=backend,
            timeout=timeout,
            seed=seed,
            strategy=strategy or None,
            **options,
        )
        d = sol.to_dict()
        d["mask"] = _bits(sol.assignment, p.encoded.mask_var.name) if sol.assignment else None
        return d

    return run


def _bits(assignment, name):
    v = assignment.get(name) if assignment else None
    return None if v is None else np.rint(np.asarray(v, np.float64)).reshape(-1)


def _reference(p: Prepared, timeout: float, seed: int) -> dict:
    from smugkit.bench.reference import solve_reference

    enc = p.encoded
    if enc.instance is None:
        return {"status": "skipped", "message": "the reference encoding covers the first-layer variant only"}
    pos = np.flatnonzero(np.isin(enc.kept, enc.active))
    d = solve_reference(
        enc.rows[pos],
        enc.offset[pos],
        p.x,
        p.windows.ids().reshape(-1),
        p.windows.count,
        enc.instance.thresholds,
        0.0,
        timeout,
    )
    d["mask"] = (d.pop("assignment") or {}).get("m")
    return d


def check_mask(p: Prepared, bits: np.ndarray, runner: OutputRunner) -> dict:
    """Re-check a mask exactly on the IR encoding and with onnxruntime on the real model."""
    enc = p.encoded
    fl = p.net.first_layer()
    xm = p.windows.apply(p.x, bits, 0.0)
    xi = p.windows.apply(p.x, 1 - bits, 0.0)
    if enc.instance is not None:
        exact = enc.instance.feasible(bits)
        cert = certify(
            runner, fl.pre, p.net.output.name, p.x, xm, xi, enc.active, enc.instance.thresholds, p.label, True
        )
    else:
        logits = p.net(xm).reshape(-1)
        exact = bool(logits[p.label] - np.delete(logits, p.label).max() >= p.spec.delta)
        cert = certify(
            runner,
            fl.pre,
            p.net.output.name,
            p.x,
            xm,
            xi,
            np.zeros(0, int),
            np.zeros(0),
            p.label,
            True,
            logit_delta=p.spec.delta,
        )
    return {"exact_ok": bool(exact), "certified": cert.holds, "keeps_label": cert.keeps_label}


@dataclass
class BenchResult:
    rows: list[dict] = field(default_factory=list)
    disagreements: list[dict] = field(default_factory=list)
    files: dict = field(default_factory=dict)


def _job_id(row: dict) -> str:
    """A run's key in ``runs.jsonl``: instance, backend and repeat (the fields every row carries)."""
    return job_id(row["instance"], row["backend"], row["repeat"])


def run_bench(
    specs: list[InstanceSpec],
    backends: list[str],
    *,
    timeout: float = 60.0,
    repeat: int = 1,
    out: str | Path = "bench-out",
    seed: int = 0,
    solvers: dict[str, Solver] | None = None,
    progress: bool = True,
    executor="serial",
) -> BenchResult:
    """Run every instance on every backend; rows go to ``out/runs.jsonl`` as they finish (resumable).

    ``executor`` runs the (instance, backend, repeat) jobs as `smugkit.run` does for explain and evaluate:
    ``"serial"`` (the default: runs do not share the cores, so their times compare), ``"local:N"``, Dask, Ray
    or an executor object. Injected ``solvers`` must then be module-level functions (they are pickled).
    """
    from smugkit.bench.report import write_reports

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = JobStore(out / "runs.jsonl", key=_job_id)
    solvers = dict(solvers or {})
    for b in backends:
        if b not in solvers:  # injected solvers need no name check
            backend_solver(b)
    jobs = [Job(job_id(s.id, b, r), (s, b, r)) for s in specs for b in backends for r in range(repeat)]
    task = _BenchTask(str(out.resolve()), timeout, seed, tuple(solvers.items()))
    # a crashing solver is a row made by _run_row; an instance that cannot be prepared stops the run
    rows = run_jobs(
        jobs, partial(_bench_one, task), store, executor=executor, errors="raise", progress=progress,
        desc="bench", unit="run",
        header={"kind": "bench", "backends": list(backends), "timeout": timeout, "repeat": repeat},
    )  # fmt: skip
    result = BenchResult(rows=rows, disagreements=find_disagreements(rows))
    result.files = write_reports(result, out)
    return result


@dataclass(frozen=True)
class _BenchTask:
    """What every bench job shares (module-level, so jobs can run in worker processes)."""

    out: str
    timeout: float
    seed: int
    solvers: tuple  # (name, injected solver) pairs; other backends are built by name in the worker


_PREPARED: dict[tuple, Prepared] = {}  # in each process: the last encoded instance (one kept in memory)
_SOLVERS: dict[str, Solver] = {}  # in each process: backend solvers by name


def _bench_one(task: _BenchTask, job: Job) -> dict:
    """One (instance, backend, repeat) run: the instance is encoded once per process and reused."""
    spec, b, r = job.payload
    key = (task.out, spec.id)
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = prepare(spec, Path(task.out))
    solver = dict(task.solvers).get(b)
    if solver is None:
        solver = _SOLVERS.get(b) or _SOLVERS.setdefault(b, backend_solver(b))
    return plain(_run_row(_PREPARED[key], b, r, solver, task.timeout, task.seed, {}))


def _run_row(
    p: Prepared, b: str, r: int, solver: Solver, timeout: float, seed: int, runners: dict[int, OutputRunner]
) -> dict:
    """One backend run on one prepared instance, its mask re-checked: a row of ``runs.jsonl``."""
    spec = p.spec
    row = {
        "instance": spec.id,
        **spec.to_dict(),
        **p.size,
        "backend": b,
        "repeat": r,
        "build_s": p.build_time,
    }
    t = time.perf_counter()
    try:
        d = solver(p, timeout, seed + r)
    except SolverUnavailable as e:  # not installed here: a row that says so, left out of the medians
        d = {"status": "unavailable", "message": str(e)}
    except Exception as e:  # noqa: BLE001 -- a crashing backend is a result, not the end of the run
        d = {"status": "error", "message": f"{type(e).__name__}: {e}"}
    row["wall_s"] = time.perf_counter() - t
    row.update({k: d.get(k) for k in ("status", "objective", "lower_bound", "backend_version", "strategy")})
    row["calls"] = d.get("solver_calls")
    row["reason"] = d.get("message") or None
    row["solve_s"] = d.get("solve_time", row["wall_s"])
    row["encode_s"] = d.get("build_time")
    mask = d.get("mask")
    if mask is not None and row["status"] in ("optimal", "optimal_unproven", "feasible"):
        runner = runners.setdefault(
            id(p.net), model_runner(p.net, [p.net.first_layer().pre, p.net.output.name])
        )
        row.update(check_mask(p, np.asarray(mask, dtype=float), runner))
        row["mask_size"] = int(np.asarray(mask).sum())
    return row


def find_disagreements(rows: list[dict]) -> list[dict]:
    """Instances where backends that proved optimality report different optima, or a mask fails its check."""
    bad = []
    by_instance: dict[str, dict[str, float]] = {}
    for row in rows:
        if row.get("status") == "optimal" and row.get("objective") is not None:
            by_instance.setdefault(row["instance"], {})[row["backend"]] = float(row["objective"])
        if row.get("status") in ("optimal", "optimal_unproven", "feasible") and row.get("exact_ok") is False:
            bad.append({"instance": row["instance"], "kind": "invalid mask", "backend": row["backend"]})
    for inst, optima in by_instance.items():
        if len(set(optima.values())) > 1:
            bad.append({"instance": inst, "kind": "different optima", "optima": optima})
    return bad
