"""Bench outputs: runs.csv, summary.json, a table of medians, and PNG plots (time vs bits, cactus)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from smugkit.run.records import csv_preamble, stamped

COLUMNS = [
    "instance",
    "model",
    "sample",
    "top_k",
    "gamma",
    "window",
    "encoding",
    "bits",
    "constraints",
    "nnz",
    "backend",
    "backend_version",
    "strategy",
    "repeat",
    "build_s",
    "encode_s",
    "solve_s",
    "wall_s",
    "status",
    "objective",
    "lower_bound",
    "calls",
    "mask_size",
    "exact_ok",
    "certified",
    "keeps_label",
    "reason",
]


#: statuses of runs that did not solve anything: left out of every median and speed-up
NOT_RUN = ("skipped", "error", "unavailable")


def medians(rows: list[dict]) -> list[dict]:
    """Per backend: runs, failed runs, solved to optimality, median times, and speed-up against `reference`.

    Medians and speed-ups are over the runs that ran (``NOT_RUN`` rows -- a missing solver, a crash -- are
    counted in ``failed`` and left out; time-outs stay, at the budget). ``median_solve_s`` is the median wall
    time of the backend call. ``speedup_vs_reference`` compares medians over the shared instances (where the
    reference timed out it is a lower bound); ``speedup_where_reference_optimal`` is the median of
    per-instance ratios over the instances the reference solved to optimality.
    """
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    ref = {
        r["instance"]: r["wall_s"]
        for r in rows
        if r["backend"] == "reference" and r.get("status") not in NOT_RUN
    }
    ref_optimal = {
        r["instance"] for r in rows if r["backend"] == "reference" and r.get("status") == "optimal"
    }
    table = []
    for b in backends:
        tried = [r for r in rows if r["backend"] == b and r.get("status") != "skipped"]
        if not tried:
            continue
        mine = [r for r in tried if r.get("status") not in NOT_RUN]
        entry = {
            "backend": b,
            "runs": len(tried),
            "failed": len(tried) - len(mine),
            "optimal": sum(r.get("status") == "optimal" for r in mine),
            "unproven": sum(r.get("status") == "optimal_unproven" for r in mine),
            "certified": sum(bool(r.get("certified")) for r in mine),
            "median_build_s": _median([r["build_s"] for r in mine]),
            "median_solve_s": _median([r["wall_s"] for r in mine]),
            "median_encode_s": _median([r.get("encode_s") for r in mine]),
        }
        common = [r for r in mine if r["instance"] in ref]
        if common and b != "reference":
            entry["speedup_vs_reference"] = float(
                np.median([ref[r["instance"]] for r in common])
                / max(np.median([r["wall_s"] for r in common]), 1e-9)
            )
            solved = [r for r in common if r["instance"] in ref_optimal]
            if solved:
                entry["speedup_where_reference_optimal"] = float(
                    np.median([ref[r["instance"]] / max(r["wall_s"], 1e-9) for r in solved])
                )
                entry["reference_optimal_instances"] = len(solved)
        table.append(entry)
    return table


def _median(values):
    v = [x for x in values if x is not None]
    return float(np.median(v)) if v else None


def format_table(table: list[dict]) -> str:
    """The medians as text; a last line says what the time columns hold."""
    lines = [
        (
            f"{'backend':<22} {'runs':>5} {'failed':>6} {'optimal':>8} {'unproven':>8} {'certified':>9} "
            f"{'median build s':>14} {'median solve s':>14} {'x ref':>8} {'x ref where ref optimal':>24}"
        )
    ]
    for e in table:
        sp = e.get("speedup_vs_reference")
        so = e.get("speedup_where_reference_optimal")
        so_txt = f"{so:.1f} (n={e['reference_optimal_instances']})" if so is not None else "-"
        label = e["backend"] + (" (baseline)" if e["backend"] == "reference" else "")
        lines.append(
            f"{label:<22} {e['runs']:>5} {e.get('failed', 0):>6} {e['optimal']:>8} {e.get('unproven', 0):>8} "
            f"{e['certified']:>9} {_num(e['median_build_s']):>14} {_num(e['median_solve_s']):>14} "
            f"{(f'{sp:.1f}' if sp is not None else '-'):>8} {so_txt:>24}"
        )
    lines.append(
        "(medians over the runs that ran, failed ones (missing solver, crash) left out; build s: encoding the "
        "instance, solve s: wall time of the backend call, time-outs at the budget)"
    )
    return "\n".join(lines)


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def write_reports(result, out: Path) -> dict:
    """Write CSV, JSON and plots; print the medians and any disagreement."""
    files = {"csv": out / "runs.csv", "json": out / "summary.json"}
    with files["csv"].open("w", newline="") as fh:
        fh.write(csv_preamble())
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(result.rows)
    table = medians(result.rows)
    files["json"].write_text(
        json.dumps(
            stamped({"medians": table, "disagreements": result.disagreements, "runs": result.rows}),
            indent=1,
            default=str,
        )
    )
    print(format_table(table))
    for d in result.disagreements:
        print(f"!!! DISAGREEMENT on {d['instance']}: {d['kind']} {d.get('optima', d.get('backend'))}")
    files.update(_plots(result.rows, out))
    return files


def _plots(rows: list[dict], out: Path) -> dict:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not installed: no plots; pip install 'smugkit[viz]')")
        return {}
    files = {}
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for b in backends:
        pts = [(r["bits"], r["wall_s"]) for r in rows if r["backend"] == b and r.get("status") not in NOT_RUN]
        if pts:
            x, y = zip(*pts)
            ax.scatter(x, y, label=b, s=14)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="mask bits",
        ylabel="solve wall time (s)",
        title="SMUG solve time vs mask size",
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    files["time_vs_bits"] = out / "time_vs_bits.png"
    fig.savefig(files["time_vs_bits"], dpi=110)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for b in backends:
        t = sorted(r["wall_s"] for r in rows if r["backend"] == b and r.get("status") == "optimal")
        if t:
            ax.step(t, np.arange(1, len(t) + 1), where="post", label=b)
    ax.set(xscale="log", xlabel="time (s)", ylabel="instances solved to optimality", title="cactus plot")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    files["cactus"] = out / "cactus.png"
    fig.savefig(files["cactus"], dpi=110)
    return files
