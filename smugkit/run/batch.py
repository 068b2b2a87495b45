"""Many inputs, one model: `explain_many` and `attribute_many` on any executor, resumable per item.

Each item's result goes to ``out/<item id>/`` (explanation.json or attribution.json/.npy, and pictures); its
row is appended to ``out/results.jsonl`` (fsynced) the moment it finishes, so an interrupted run loses no
finished item and a rerun skips them; ``out/summary.csv`` is rewritten at the end of every run (also an
interrupted one). The log's first row of every run holds the schema version and the host's facts.

Work is shipped as jobs of (model, item): the model travels as its file path (local executors) or its bytes
(Dask/Ray, whose workers may be on other machines; their results come back and are written here); each worker
loads a model once and reuses it. An item
that raises is a failed row with its error and is retried once (a rerun retries failed items again); an
item that could not be read is a failed row at once.
"""

from __future__ import annotations

import csv
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from smugkit.errors import InputError
from smugkit.run.items import Item, as_items
from smugkit.run.jobs import Job, _call
from smugkit.run.records import SCHEMA_VERSION, run_header, worker_tag
from smugkit.run.store import JobStore
from smugkit.threads import threads

RESULTS = "results.jsonl"
SUMMARY = "summary.csv"

_MODELS: dict[tuple, Any] = {}  # in each worker process: loaded models by (key, gradients), reused per job


@dataclass(frozen=True)
class ModelRef:
    """How a job names its model: a path, ONNX bytes or a loaded object, with a key to cache it under."""

    key: str
    source: Any
    input_shapes: dict | None = None
    batch_size: int = 1

    @classmethod
    def of(cls, model, *, ship_bytes: bool, input_shapes=None, batch_size: int = 1) -> ModelRef:
        """A reference to ``model``: its bytes when ``ship_bytes`` (remote workers), else its path."""
        if isinstance(model, str | Path):
            path = Path(model).resolve()
            if not path.is_file():
                raise InputError(f"model file not found: {model}")
            if not ship_bytes:
                return cls(f"path:{path}:{path.stat().st_mtime_ns}", str(path), input_shapes, batch_size)
            model = path.read_bytes()
        if isinstance(model, bytes):
            return cls(f"sha256:{hashlib.sha256(model).hexdigest()}", model, input_shapes, batch_size)
        return cls(f"object:{uuid.uuid4().hex}", model, input_shapes, batch_size)

    def load(self, gradients: str):
        """The `Model` (loaded once per worker process and key)."""
        from smugkit.model import Model

        k = (self.key, gradients)
        if k not in _MODELS:
            from_file = isinstance(self.source, str | bytes)
            shapes = {"input_shapes": self.input_shapes, "batch_size": self.batch_size} if from_file else {}
            _MODELS[k] = Model(self.source, gradients=gradients, **shapes)
        return _MODELS[k]


@dataclass(frozen=True)
class Task:
    """What to do with every item: ``kind`` (explain | attribute), its options, where to write."""

    kind: str
    model: ModelRef
    out: str
    options: dict = field(default_factory=dict)
    pictures: bool = True
    target: int | None = None  # the class to explain for every item (default: each item's prediction)
    ship_results: bool = False  # workers send the result back and this process writes it (no shared disk)


def _item_payload(item: Item) -> dict:
    return {"x": item.x, "label": item.label, "source": item.source, "error": item.error}


def run_item(task: Task, job: Job) -> dict:
    """One item of a batch, in a worker: load (or reuse) the model, run, save the files, return the row."""
    t0, c0 = time.perf_counter(), time.process_time()
    p = job.payload
    base = {
        "item": job.id, "source": p["source"], "true_label": p["label"], "worker": worker_tag(),
        "threads": threads(),
    }  # fmt: skip
    if p["error"] is not None:
        return {**base, "status": "error", "error": p["error"], "input_error": True}
    row, result, image = (_explain if task.kind == "explain" else _attribute)(task, p["x"])
    if task.ship_results:
        row = {**row, "_result": result.to_dict(), "_image": image}
    else:
        save_result(result, Path(task.out) / job.id, task.pictures, image)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0  # cpu: every thread of the worker
    return {**base, "status": "ok", **row, "seconds": seconds, "cpu_s": cpu}


def save_result(result, folder: Path, pictures: bool, image: np.ndarray | None = None) -> None:
    """Write an item's `Explanation` or `Attribution` (with its pictures) to its folder."""
    from smugkit.attribution.smug import Explanation

    if isinstance(result, Explanation):
        result.save(folder, pictures=pictures)
    else:
        result.save(folder, image=image, pictures=pictures)


def _save_shipped(task: Task, row: dict) -> dict:
    """A row whose result came back from a remote worker: write the result here, keep the row small."""
    if "_result" not in row:
        return row
    from smugkit.attribution.base import Attribution
    from smugkit.attribution.smug import Explanation

    row = dict(row)
    record, image = row.pop("_result"), row.pop("_image", None)
    result = (Explanation if task.kind == "explain" else Attribution).from_dict(record)
    save_result(result, Path(task.out) / row["item"], task.pictures, image)
    return row


def _explain(task: Task, x: np.ndarray):
    from smugkit.attribution.smug import SmugConfig, explain

    cfg = SmugConfig.make(None, **task.options)
    e = explain(task.model.load(cfg.gradients), x, cfg, label=task.target)
    return (
        {
            "label": e.label,
            "probability": e.probability,
            "mask_size": e.mask_size,
            "windows": int(e.mask_bits.size),
            "solve_status": e.status,
            "lower_bound": e.lower_bound,
            "certified": e.certified,
            "backend": e.solution.get("backend"),
            "solve_s": e.timings.get("solve"),
            "total_s": e.timings.get("total"),
        },
        e,
        None,
    )


def _attribute(task: Task, x: np.ndarray):
    from smugkit.attribution import get_method

    opts = dict(task.options)
    method = opts.pop("method")
    gradients = opts.pop("gradients", "ir")
    model = task.model.load(gradients)
    a = get_method(method, **opts).attribute(model, x, target=task.target)
    image = None
    if task.pictures and a.tensor == model.input.name:
        from smugkit.units import detect_layout

        try:
            image = detect_layout(model.network).to_hwc(np.asarray(x).reshape(model.input.shape))
        except InputError:  # not an image: the record and the values only
            image = None
    v = np.asarray(a.values, dtype=np.float64).reshape(-1)
    return (
        {
            "label": a.target,
            "method": a.method,
            "sum": float(v.sum()),
            "max_abs": float(np.abs(v).max()) if v.size else 0.0,
            "total_s": a.timings.get("total"),
        },
        a,
        image,
    )


@dataclass
class BatchResult:
    """The rows of a batch run, in input order, with where they are; ``failed`` counts error rows."""

    out: Path
    kind: str
    rows: list[dict]
    files: dict[str, Path]

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if r.get("status") != "ok")

    @property
    def ok(self) -> int:
        return len(self.rows) - self.failed

    def results(self) -> list:
        """The saved `Explanation` / `Attribution` of every successful item, in input order."""
        if self.kind == "explain":
            from smugkit.attribution.smug import Explanation as cls
        else:
            from smugkit.attribution.base import Attribution as cls
        return [cls.load(self.out / r["item"]) for r in self.rows if r.get("status") == "ok"]

    def plot_grid(self, **options):
        """The successful results drawn in one figure (see `smugkit.plot_grid`)."""
        from smugkit.attribution.panel import plot_grid

        return plot_grid(self.results(), **options)

    def __repr__(self) -> str:
        return f"BatchResult({self.kind}: {self.ok} ok, {self.failed} failed, out={str(self.out)!r})"


def run_batch(
    task_kind: str,
    model,
    inputs,
    out: str | Path,
    *,
    options: dict,
    target: int | None = None,
    executor="local",
    workers: int | None = None,
    pictures: bool = True,
    progress: bool = False,
    read: dict | None = None,
    model_options: dict | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> BatchResult:
    """The runner behind `explain_many` and `attribute_many` (see the module docstring)."""
    from smugkit.frontends import load_model
    from smugkit.run.executors import parse_executor

    out = Path(out)
    mo = model_options or {}
    net = load_model(model, **mo) if isinstance(model, str | Path | bytes) else _network(model)
    items = as_items(inputs, net, **(read or {}))
    ex = parse_executor(executor, workers) if isinstance(executor, str) else executor
    remote = ex.name in ("dask", "ray")  # workers that may be on other machines, with no shared disk
    ref = ModelRef.of(model, ship_bytes=remote, **mo)
    task = Task(task_kind, ref, str(out.resolve()), dict(options), pictures, target, ship_results=remote)
    store = JobStore(out / RESULTS)
    store.append(*_split(run_header(kind=task_kind, executor=ex.name, items=len(items))))
    jobs = [Job(it.id, _item_payload(it)) for it in items]
    todo = [j for j in jobs if (store.get(j.id) or {}).get("status") != "ok"]
    call = partial(_call, partial(run_item, task), "row")
    bar = _bar(len(jobs), len(jobs) - len(todo), progress, task_kind)
    try:
        for job in [
            j for j in todo if j.payload["error"] is not None
        ]:  # unreadable: recorded here, not shipped
            store.append(job.id, {**run_item(task, job), "attempt": 1, "schema": SCHEMA_VERSION})
            bar.update(1)
        todo = [j for j in todo if j.payload["error"] is None]
        for attempt in (1, 2):
            for job, row in ex.map(call, todo):
                row = _save_shipped(
                    task, {"item": job.id, **row, "attempt": attempt, "schema": SCHEMA_VERSION}
                )
                store.append(job.id, row)
                if on_row is not None:
                    on_row(row)
                if row.get("status") == "ok" or row.get("input_error") or attempt == 2:
                    bar.update(1)
                _postfix(bar, store, jobs)
            todo = [j for j in todo if _retry(store.get(j.id))]
            if not todo:
                break
    finally:
        bar.close()
        close = getattr(ex, "close", None)
        if close is not None:
            close()
        rows = [store.get(j.id) or {"item": j.id, "status": "not run"} for j in jobs]
        files = {"results": store.path, "summary": write_summary(out / SUMMARY, rows)}
    return BatchResult(out, task_kind, rows, files)


def _network(model):
    from smugkit.model import Model

    return Model.of(model).network


def _split(header: dict) -> tuple[str, dict]:
    return header["job"], {k: v for k, v in header.items() if k != "job"}


def _retry(row: dict | None) -> bool:
    return row is not None and row.get("status") != "ok" and not row.get("input_error")


def _bar(total: int, done: int, enabled: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, disable=not enabled, desc=desc, unit="item", dynamic_ncols=True)


def _postfix(bar, store: JobStore, jobs: list[Job]) -> None:
    if bar.disable:
        return
    rows = [store.get(j.id) for j in jobs]
    ok = sum(1 for r in rows if r and r.get("status") == "ok")
    failed = sum(1 for r in rows if r and r.get("status") != "ok")
    bar.set_postfix(ok=ok, failed=failed, refresh=False)


SUMMARY_COLUMNS = (
    "item", "status", "label", "true_label", "probability", "mask_size", "windows", "solve_status",
    "certified", "method", "sum", "solve_s", "total_s", "attempt", "worker", "error",
)  # fmt: skip


def write_summary(path: Path, rows: list[dict]) -> Path:
    """``summary.csv``: one line per item; a first ``#`` line carries the schema version and host facts."""
    from smugkit.run.records import csv_preamble

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        fh.write(csv_preamble())
        w = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in SUMMARY_COLUMNS})
    return path


def read_results(out: str | Path) -> list[dict]:
    """The latest row of every item in ``out/results.jsonl`` (run headers left out)."""
    store = JobStore(Path(out) / RESULTS)
    return [r for k, r in store.rows.items() if not k.startswith("#")]


def explain_many(
    model,
    inputs: Iterable | str | Path | np.ndarray,
    out: str | Path,
    config=None,
    *,
    label: int | None = None,
    executor="local",
    workers: int | None = None,
    pictures: bool = True,
    progress: bool = False,
    **options,
) -> BatchResult:
    """SMUG explanations of many inputs, one folder each under ``out`` (see the module docstring).

    ``inputs``: a folder, a glob, a ``.npy``/``.npz`` of N inputs, an array (N, ...) or an iterable of
    arrays/paths. ``executor``: ``"local"`` (a process pool, ``workers`` processes), ``"local:2"``,
    ``"dask"``, ``"dask=tcp://host:8786"``, ``"ray"``, ``"serial"`` or an executor object.
    """
    from dataclasses import asdict

    from smugkit.attribution.smug import SmugConfig

    cfg = SmugConfig.make(config, **options)  # a bad option fails here, not once per item
    return run_batch(
        "explain", model, inputs, out, options=asdict(cfg), target=label, executor=executor, workers=workers,
        pictures=pictures, progress=progress,
    )  # fmt: skip


def attribute_many(
    model,
    inputs: Iterable | str | Path | np.ndarray,
    out: str | Path,
    *,
    method: str = "integrated_gradients",
    target: int | None = None,
    gradients: str = "ir",
    executor="local",
    workers: int | None = None,
    pictures: bool = True,
    progress: bool = False,
    **options,
) -> BatchResult:
    """Attributions of many inputs with a registered method, one folder each under ``out``."""
    from smugkit.attribution import get_method

    get_method(method, **options)  # a bad method or option fails here, not once per item
    return run_batch(
        "attribute", model, inputs, out, options={"method": method, "gradients": gradients, **options},
        target=target, executor=executor, workers=workers, pictures=pictures, progress=progress,
    )  # fmt: skip
