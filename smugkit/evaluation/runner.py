"""Every method x metric on every item, resumable by item: one JSONL row per (item, method) as it finishes.

A method is a registry name or a preset label (``ig``, ``ig_bw``: IG from black, and from black and white
as in the SMUG paper); options per method label come as ``{label: {key: value}}``. Each row holds the
attribution's target (the predicted class), the true label when known, the method's time and, per metric,
its value and the small details a plot needs (curves), or the metric's error: a metric that fails on one map
is recorded and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from smugkit.errors import InputError
from smugkit.evaluation.data import Dataset
from smugkit.model import Model
from smugkit.records import plain
from smugkit.run import Job, JobStore, job_id, run_jobs

PRESETS: dict[str, tuple[str, dict]] = {
    "ig": ("integrated_gradients", {"baseline": "black"}),
    "ig_bw": ("integrated_gradients", {"baseline": "black_white"}),
}
DETAIL_KEYS = ("curve", "fractions", "random_auc", "reason", "best_threshold", "hit", "correlations", "box")


@dataclass(frozen=True)
class MethodSpec:
    """A method as the table names it: its label, the registry name and the options it runs with."""

    label: str
    name: str
    options: dict


def method_specs(
    labels: list[str], options: dict[str, dict] | None = None, presets: dict[str, tuple[str, dict]] = PRESETS
) -> list[MethodSpec]:
    """Resolve labels (registry names or ``presets``) with their options; unknown labels are typed errors."""
    from smugkit.attribution import METHODS

    options = options or {}
    unknown_opts = sorted(set(options) - set(labels))
    if unknown_opts:
        raise InputError(f"options given for methods not evaluated: {unknown_opts}")
    specs = []
    for label in labels:
        name, preset = presets.get(label, (label, {}))
        if name not in METHODS:
            raise InputError(
                f"unknown method {label!r}; known methods: {sorted(METHODS)}, presets: {sorted(presets)}"
            )
        specs.append(MethodSpec(label, name, {**preset, **options.get(label, {})}))
    return specs


def check_metrics(names: list[str], options: dict[str, dict] | None = None) -> None:
    """Typed errors for unknown metrics or options of metrics not evaluated (before anything runs)."""
    from smugkit.metrics import METRICS, get_metric

    for name in names:
        if name not in METRICS:
            raise InputError(f"unknown metric {name!r}; known metrics: {sorted(METRICS)}")
        get_metric(name, **(options or {}).get(name, {}))  # validates the options once, up front
    stray = sorted(set(options or {}) - set(names))
    if stray:
        raise InputError(f"options given for metrics not evaluated: {stray}")


def run_evaluation(
    model: Model,
    data: Dataset,
    methods: list[MethodSpec],
    metrics: list[str],
    out: str | Path,
    *,
    metric_options: dict[str, dict] | None = None,
    n_examples: int = 4,
    executor="serial",
    progress: bool = False,
) -> list[dict]:
    """Run and store every (item, method) row in ``out/results.jsonl``; finished rows are not run again,
    failed ones (a method that raised, a worker that died) are retried once per run.

    The maps of the first ``n_examples`` items are kept in ``out/maps/<method>/<item>.npy`` for the figure.
    """

    check_metrics(metrics, metric_options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = JobStore(out / "results.jsonl")
    # each job carries its own input, so a job sent to a worker process ships one item, not the data set
    jobs = [
        Job(
            job_id(i, m.label),
            (i, m, data.x[i], None if data.labels is None else int(data.labels[i]), data.truth(i)),
        )
        for i in range(len(data))
        for m in methods
    ]
    task = _EvalTask(model, tuple(metrics), metric_options or {}, str(out), n_examples)
    return run_jobs(
        jobs,
        partial(_evaluate_one, task),
        store,
        executor=executor,
        progress=progress,
        desc="evaluate",
        unit="map",
        header={"kind": "evaluate", "metrics": list(metrics), "methods": [m.label for m in methods]},
        rerun_failed=True,
    )


@dataclass(frozen=True)
class _EvalTask:
    """What every (item, method) job shares: a module-level value, so jobs can run in worker processes."""

    model: Model
    metrics: tuple[str, ...]
    metric_options: dict
    out: str
    n_examples: int


def _evaluate_one(task: _EvalTask, job: Job) -> dict:
    """One (item, method) row: the attribution, its time, and every metric's value or error."""
    i, spec, x, label, truth = job.payload
    model, out = task.model, Path(task.out)
    t0 = time.perf_counter()
    a = _attribute(model, x, spec)
    row = {
        "item": i,
        "method": spec.label,
        "target": a.target,
        "label": label,
        "method_s": time.perf_counter() - t0,
        "metrics": {},
        "details": {},
        "errors": {},
    }
    score_metrics(row, a, task.metrics, task.metric_options, model, x, truth)
    if i < task.n_examples:
        folder = out / "maps" / spec.label
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{i}.npy", np.asarray(a.values, dtype=np.float32))
    return plain(row)


def score_metrics(row: dict, a, metrics, options: dict, model, x, truth) -> None:
    """Fill ``row``'s metrics, details and errors: each metric's value on ``a``, or why it has none."""
    from smugkit.metrics import METRICS, evaluate

    for name in metrics:
        if METRICS[name].needs_truth and truth is None:
            row["errors"][name] = "the data has no ground truth"
            continue
        try:
            s = evaluate(a, metric=name, model=model, x=x, truth=truth, **options.get(name, {}))
        except Exception as e:  # noqa: BLE001 -- one metric failing on one map is a result; the others go on
            row["errors"][name] = f"{type(e).__name__}: {e}"
            continue
        row["metrics"][name] = s.value
        row["details"][name] = {k: v for k, v in s.details.items() if k in DETAIL_KEYS}


def _attribute(model: Model, x: np.ndarray, spec: MethodSpec):
    from smugkit.attribution import get_method

    return get_method(spec.name, **spec.options).attribute(model, x)


def _method_of(row: dict) -> str:
    """The method label of a result row; a failed job's row names it only in its job key ``[item, method]``."""
    if "method" in row:
        return row["method"]
    import json

    return str(json.loads(row["job"])[1])


def summarise(rows: list[dict], metrics: list[str]) -> list[dict]:
    """Per (method, metric): mean, 95% confidence half-width (Student t), count, undefined (NaN) count."""
    from scipy import stats

    from smugkit.metrics import METRICS

    methods = list(dict.fromkeys(_method_of(r) for r in rows if r))
    table = []
    for m in methods:
        mine = [r for r in rows if r and _method_of(r) == m]
        failed = sum(1 for r in mine if r.get("status") == "error")
        seconds = [r["method_s"] for r in mine if "method_s" in r]
        for name in metrics:
            vals = np.array(
                [np.nan if r.get("metrics", {}).get(name) is None else r["metrics"][name] for r in mine],
                dtype=np.float64,
            )
            ok = vals[np.isfinite(vals)]
            n = int(ok.size)
            half = float(stats.t.ppf(0.975, n - 1) * ok.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
            table.append(
                {
                    "method": m,
                    "metric": name,
                    "mean": float(ok.mean()) if n else float("nan"),
                    "ci95": half,
                    "n": n,
                    "undefined": int(vals.size - n),
                    "failed_items": failed,
                    "higher_is_better": METRICS[name].higher_is_better,
                    "method_s_mean": float(np.mean(seconds)) if seconds else float("nan"),
                }
            )
    return table


def write_table(table: list[dict], out: str | Path) -> dict[str, Path]:
    """``table.csv`` and ``table.json`` in ``out``, each with the schema version and the host's facts."""
    import csv
    import json

    from smugkit.run.records import csv_preamble, stamped

    out = Path(out)
    files = {"csv": out / "table.csv", "json": out / "table.json"}
    with files["csv"].open("w", newline="") as fh:
        fh.write(csv_preamble())
        w = csv.DictWriter(fh, fieldnames=list(table[0]) if table else ["method", "metric"])
        w.writeheader()
        w.writerows(table)
    files["json"].write_text(json.dumps(plain(stamped({"table": table})), indent=1))
    return files


def format_table(table: list[dict]) -> str:
    """The table as aligned text: one row per method, one column per metric (mean ± CI, n)."""
    metrics = list(dict.fromkeys(t["metric"] for t in table))
    methods = list(dict.fromkeys(t["method"] for t in table))
    cell: Callable[[dict], str] = lambda t: (
        "undefined" if not t["n"] else f"{t['mean']:.4g} ± {0 if np.isnan(t['ci95']) else t['ci95']:.2g}"
    )
    head = ["method"] + [f"{m} ({'↑' if _hib(table, m) else '↓'})" for m in metrics] + ["s/map"]
    rows = [head]
    for me in methods:
        mine = {t["metric"]: t for t in table if t["method"] == me}
        secs = next(iter(mine.values()))["method_s_mean"]
        rows.append([me] + [cell(mine[m]) for m in metrics] + [f"{secs:.3g}"])
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows)


def _hib(table: list[dict], metric: str) -> bool:
    return next(t["higher_is_better"] for t in table if t["metric"] == metric)
