"""Every JSON, JSONL and CSV output carries the schema version and the host's facts once per run; bench
medians leave out runs that did not run."""

from __future__ import annotations

import json

import numpy as np

from smugkit import zoo
from smugkit.attribution import attribute
from smugkit.attribution.base import Attribution
from smugkit.attribution.smug import Explanation, explain
from smugkit.bench import SUITES, run_bench
from smugkit.bench.report import format_table, medians
from smugkit.errors import SolverUnavailable
from smugkit.evaluation import evaluate_methods, load_data
from smugkit.model import Model
from smugkit.run.records import SCHEMA_VERSION, host_facts
from tests.run.batch_helpers import FAST, inputs, tiny_model

FACTS = {"smugkit", "python", "os", "cpus"}


def _stamped(record: dict) -> None:
    assert record["schema"] == SCHEMA_VERSION and FACTS <= set(record["host"])


def _csv(path) -> list[str]:
    lines = path.read_text().splitlines()
    assert (
        lines[0].startswith(f"# schema={SCHEMA_VERSION} smugkit=")
        and "cpus=" in lines[0]
        and "os=" in lines[0]
    )
    return lines[1:]


def _header(log) -> dict:
    heads = [json.loads(x) for x in log.read_text().splitlines() if x.startswith('{"job": "#run')]
    assert len(heads) == 1 and heads[0]["schema"] == SCHEMA_VERSION and FACTS <= set(heads[0])
    return heads[0]


def test_host_facts():
    f = host_facts()
    assert f["cpus"] >= 1 and f["python"].count(".") == 2 and f["os"]


def test_saved_explanations_and_attributions_are_stamped_and_load_back(tmp_path):
    model, x = tiny_model(tmp_path), inputs(1)[0]
    e = explain(model, x, **FAST)
    e.save(tmp_path / "e", pictures=False)
    _stamped(json.loads((tmp_path / "e" / "explanation.json").read_text()))
    assert Explanation.load(tmp_path / "e").mask_size == e.mask_size
    a = attribute(Model(model), x, method="gradient")
    a.save(tmp_path / "a")
    a.save(tmp_path / "one.json")
    for path in (tmp_path / "a" / "attribution.json", tmp_path / "one.json"):
        _stamped(json.loads(path.read_text()))
        np.testing.assert_allclose(Attribution.load(path).values, a.values)


def test_evaluate_outputs_are_stamped(tmp_path):
    model = Model(zoo.model_path("digits_cnn8"))
    data = load_data(None, model.network, model_name="digits_cnn8", n=2)
    evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    _stamped(json.loads((tmp_path / "table.json").read_text()))
    assert _csv(tmp_path / "table.csv")[0].startswith("method,metric,")
    assert _header(tmp_path / "results.jsonl")["kind"] == "evaluate"


def _gone(p, timeout, seed):
    raise SolverUnavailable("backend 'gone' needs a package that is not installed")


def _crash(p, timeout, seed):
    raise RuntimeError("solver exploded")


def test_bench_outputs_are_stamped_and_medians_leave_out_failed_runs(tmp_path):
    res = run_bench(
        SUITES["smoke"][:1], ["highs", "gone", "crash"], timeout=20, out=tmp_path, progress=False,
        solvers={"gone": _gone, "crash": _crash},
    )  # fmt: skip
    by = {r["backend"]: r for r in res.rows}
    assert by["gone"]["status"] == "unavailable" and by["crash"]["status"] == "error"
    summary = json.loads((tmp_path / "summary.json").read_text())
    _stamped(summary)
    assert _csv(tmp_path / "runs.csv")[0].startswith("instance,model,")
    assert _header(tmp_path / "runs.jsonl")["kind"] == "bench"
    m = {e["backend"]: e for e in summary["medians"]}
    assert m["highs"]["failed"] == 0 and m["highs"]["median_solve_s"] == by["highs"]["wall_s"]
    for b in ("gone", "crash"):
        assert (m[b]["runs"], m[b]["failed"], m[b]["optimal"]) == (1, 1, 0)
        assert m[b]["median_solve_s"] is None and m[b]["median_build_s"] is None


def test_medians_of_rows_with_failures():
    row = {"instance": "i1", "build_s": 1.0, "certified": True}
    rows = [
        {**row, "backend": "reference", "status": "optimal", "wall_s": 8.0},
        {**row, "backend": "highs", "status": "optimal", "wall_s": 2.0},
        {**row, "instance": "i2", "backend": "highs", "status": "error", "wall_s": 0.001},
        {**row, "instance": "i2", "backend": "reference", "status": "unavailable", "wall_s": 0.001},
        {**row, "backend": "z3", "status": "unavailable", "wall_s": 0.002},
    ]
    t = {e["backend"]: e for e in medians(rows)}
    assert (t["highs"]["runs"], t["highs"]["failed"], t["highs"]["median_solve_s"]) == (2, 1, 2.0)
    assert t["highs"]["speedup_vs_reference"] == 4.0  # not 8 / 0.001 nor a median with the failed run
    assert "speedup_vs_reference" not in t["z3"] and t["z3"]["median_solve_s"] is None
    text = format_table(list(t.values()))
    assert "median solve s" in text and "failed" in text and "left out" in text
    z3 = next(line for line in text.splitlines() if line.startswith("z3"))
    assert z3.split()[1:4] == ["1", "1", "0"] and " - " in z3
