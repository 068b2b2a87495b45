"""Evaluation figures (matplotlib, the ``[viz]`` extra): metric bars, insertion/deletion curves, example maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smugkit.errors import SmugkitError


def _figure(**kw):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise SmugkitError("evaluation plots need matplotlib: pip install 'smugkit[viz]'") from e
    return Figure(**kw)


def metric_bars(table: list[dict], path: str | Path) -> Path:
    """One panel per metric: the mean per method with its 95% interval."""
    metrics = list(dict.fromkeys(t["metric"] for t in table))
    fig = _figure(figsize=(3.2 * max(1, len(metrics)), 3.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(metrics)), squeeze=False)[0]
    for ax, m in zip(axes, metrics):
        rows = [t for t in table if t["metric"] == m]
        means = [t["mean"] for t in rows]
        err = [0.0 if not np.isfinite(t["ci95"]) else t["ci95"] for t in rows]
        ax.bar(range(len(rows)), means, yerr=err, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(rows)), [t["method"] for t in rows], rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{m} ({'higher' if rows[0]['higher_is_better'] else 'lower'} is better)", fontsize=9)
    fig.savefig(path, dpi=110)
    return Path(path)


def curves(rows: list[dict], metric: str, path: str | Path) -> Path | None:
    """The mean curve of ``metric`` (e.g. insertion) per method, when its rows recorded curves."""
    by_method: dict[str, list] = {}
    fractions = None
    for r in rows:
        d = (r or {}).get("details", {}).get(metric, {})
        if "curve" in d:
            by_method.setdefault(r["method"], []).append(d["curve"])
            fractions = d.get("fractions", fractions)
    if not by_method:
        return None
    fig = _figure(figsize=(4.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for m, cs in by_method.items():
        n = min(len(c) for c in cs)
        mean = np.mean([c[:n] for c in cs], axis=0)
        xs = np.asarray(fractions[:n]) if fractions is not None else np.linspace(0, 1, n)
        ax.plot(xs, mean, label=f"{m} (n={len(cs)})")
    ax.set_xlabel("fraction of pixels")
    ax.set_ylabel("probability of the target")
    ax.set_title(metric)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)
    return Path(path)


def example_grid(images: list[np.ndarray], maps: dict[str, list[np.ndarray]], path: str | Path) -> Path:
    """Rows: example inputs ``(H, W, C)``; columns: the input, then each method's map ``(H, W)``."""
    methods = list(maps)
    rows, cols = len(images), 1 + len(methods)
    fig = _figure(figsize=(1.6 * cols, 1.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, img in enumerate(images):
        grey = img[:, :, 0] if img.shape[2] == 1 else img[:, :, :3]
        axes[i, 0].imshow(grey, cmap="gray" if grey.ndim == 2 else None)
        for j, m in enumerate(methods, start=1):
            s = maps[m][i]
            top = np.abs(s).max() or 1.0
            axes[i, j].imshow(s, cmap="RdBu_r", vmin=-top, vmax=top)
            if i == 0:
                axes[i, j].set_title(m, fontsize=7)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.savefig(path, dpi=110)
    return Path(path)
