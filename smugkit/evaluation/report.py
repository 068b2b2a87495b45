"""One evaluation from start to end: run (resumably), summarise, write the table and the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smugkit.evaluation.data import Dataset
from smugkit.evaluation.runner import method_specs, run_evaluation, summarise, write_table
from smugkit.model import Model


def evaluate_methods(
    model: Model,
    data: Dataset,
    methods: list[str],
    metrics: list[str],
    out: str | Path,
    *,
    method_options: dict[str, dict] | None = None,
    metric_options: dict[str, dict] | None = None,
    n_examples: int = 4,
    pictures: bool = True,
    progress: bool = False,
    executor="serial",
) -> dict:
    """Every method x metric on ``data``; returns the rows, the table and the files written in ``out``."""
    specs = method_specs(methods, method_options)
    rows = run_evaluation(
        model,
        data,
        specs,
        metrics,
        out,
        metric_options=metric_options,
        n_examples=n_examples,
        progress=progress,
        executor=executor,
    )
    table = summarise(rows, metrics)
    out = Path(out)
    files = {"results": out / "results.jsonl", **write_table(table, out)}
    if pictures:
        files.update(_figures(model, data, rows, table, [s.label for s in specs], metrics, out, n_examples))
    return {"rows": rows, "table": table, "files": files}


def _figures(model, data, rows, table, labels, metrics, out: Path, n_examples: int) -> dict[str, Path]:
    from smugkit.evaluation import plots
    from smugkit.units import detect_layout

    files = {"bars": plots.metric_bars(table, out / "metrics.png")}
    for name in metrics:
        p = plots.curves(rows, name, out / f"curve_{name}.png")
        if p is not None:
            files[f"curve_{name}"] = p
    try:
        layout = detect_layout(model.network)
    except Exception:  # noqa: BLE001 -- a non-image input has no example grid
        return files
    k = min(n_examples, len(data))
    maps = {}
    for label in labels:
        paths = [out / "maps" / label / f"{i}.npy" for i in range(k)]
        if all(p.is_file() for p in paths):
            maps[label] = [layout.to_hwc(np.load(p)).sum(axis=-1) for p in paths]
    if maps and k:
        images = [layout.to_hwc(data.x[i]) for i in range(k)]
        files["examples"] = plots.example_grid(images, maps, out / "examples.png")
    return files
