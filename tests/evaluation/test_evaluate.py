"""`smugkit evaluate`: methods x metrics over data, resumable by item, as a table with intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smugkit import zoo
from smugkit.cli import main
from smugkit.errors import InputError
from smugkit.evaluation import evaluate_methods, load_data
from smugkit.evaluation.runner import summarise
from smugkit.model import Model


@pytest.fixture(scope="module")
def model():
    return Model(zoo.model_path("digits_cnn8"))


def test_table_has_a_mean_and_interval_per_method_and_metric(model, tmp_path):
    data = load_data(None, model.network, model_name="digits_cnn8", n=4)
    res = evaluate_methods(model, data, ["gradient", "integrated_gradients"], ["sparseness"], tmp_path)
    assert [(t["method"], t["metric"], t["n"]) for t in res["table"]] == [
        ("gradient", "sparseness", 4),
        ("integrated_gradients", "sparseness", 4),
    ]
    rows = [r for r in res["rows"] if r["method"] == "gradient"]
    vals = np.array([r["metrics"]["sparseness"] for r in rows])
    t = res["table"][0]
    assert t["mean"] == pytest.approx(vals.mean())
    assert t["ci95"] == pytest.approx(3.182446 * vals.std(ddof=1) / 2, rel=1e-5)  # t(0.975, 3)
    assert {p.name for p in tmp_path.iterdir()} >= {"results.jsonl", "table.csv", "table.json", "metrics.png"}
    assert all(r["label"] == int(y) for r, y in zip(rows, data.labels))


def test_a_rerun_resumes_and_runs_only_new_items(model, tmp_path, monkeypatch):
    data = load_data(None, model.network, model_name="digits_cnn8", n=3)
    first = evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    calls = []
    from smugkit.evaluation import runner

    real = runner._attribute
    monkeypatch.setattr(runner, "_attribute", lambda *a: calls.append(a) or real(*a))
    more = load_data(None, model.network, model_name="digits_cnn8", n=5)
    second = evaluate_methods(model, more, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    assert len(calls) == 2  # items 3 and 4 only
    assert second["rows"][:3] == first["rows"]
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    rows = [r for r in rows if not r["job"].startswith("#")]  # each run's header: schema and host facts
    assert len(rows) == 5 and all(r["method"] == "gradient" for r in rows)


def test_undefined_values_are_counted_not_averaged(model, tmp_path):
    data = load_data(None, model.network, model_name="digits_cnn8", n=2)
    res = evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    rows = [dict(r) for r in res["rows"]]
    rows[0] = {**rows[0], "metrics": {"sparseness": None}}
    t = summarise(rows, ["sparseness"])[0]
    assert t["n"] == 1 and t["undefined"] == 1 and np.isnan(t["ci95"])


def test_bad_requests_are_typed_errors_before_anything_runs(model, tmp_path):
    data = load_data(None, model.network, model_name="digits_cnn8", n=1)
    with pytest.raises(InputError, match="unknown method 'nope'.*presets"):
        evaluate_methods(model, data, ["nope"], ["sparseness"], tmp_path)
    with pytest.raises(InputError, match="unknown metric 'nope'"):
        evaluate_methods(model, data, ["gradient"], ["nope"], tmp_path)
    with pytest.raises(InputError, match="options given for methods not evaluated"):
        evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, method_options={"smug": {}})
    assert not (tmp_path / "results.jsonl").exists()


def test_data_files_are_read_and_checked(model, tmp_path):
    x = np.random.default_rng(0).random((3, 1, 8, 8))
    np.savez(tmp_path / "d.npz", x=x, y=np.array([1, 2, 3]), boxes=np.array([[0, 0, 4, 4]] * 3))
    d = load_data(tmp_path / "d.npz", model.network)
    assert len(d) == 3 and d.truth(1) == (0, 0, 4, 4) and list(d.labels) == [1, 2, 3]
    np.savez(tmp_path / "bad.npz", x=x, boxes=np.zeros((3, 3)))
    with pytest.raises(InputError, match=r"boxes must have shape \[3, 4\]"):
        load_data(tmp_path / "bad.npz", model.network)
    np.save(tmp_path / "wrong.npy", np.zeros((2, 5, 5)))
    with pytest.raises(
        InputError, match=r"items of shape \[5, 5\] do not fit the model input \[1, 1, 8, 8\]"
    ):
        load_data(tmp_path / "wrong.npy", model.network)
    with pytest.raises(InputError, match="no data given"):
        load_data(None, model.network)


def test_cli_evaluate_writes_the_table_and_resumes(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "ev"
    argv = ["--quiet", "evaluate", "--model", "digits_cnn8", "--methods", "gradient,smug_base"]
    argv += [
        "--metrics",
        "sparseness",
        "-n",
        "2",
        "--method-option",
        "smug_base.ig_steps=8",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "2 items from zoo:digits_cnn8" in first and "smug_base" in first
    assert (out / "examples.png").is_file()
    table = (out / "table.csv").read_text()
    assert main(argv) == 0 and (out / "table.csv").read_text() == table
    assert main(["evaluate", "--model", "digits_cnn8", "--metric-option", "oops=1", "--out", str(out)]) == 2
    assert "is not NAME.KEY=VALUE" in capsys.readouterr().err


def test_ig_presets_make_valid_methods_with_their_baselines():
    from smugkit.attribution import get_method
    from smugkit.evaluation import method_specs

    specs = method_specs(["ig", "ig_bw"])
    assert [(s.name, s.options) for s in specs] == [
        ("integrated_gradients", {"baseline": "black"}),
        ("integrated_gradients", {"baseline": "black_white"}),
    ]
    assert [get_method(s.name, **s.options).options.baseline for s in specs] == ["black", "black_white"]


def test_failed_jobs_are_counted_in_the_table():
    from smugkit.evaluation.runner import summarise

    rows = [
        {"job": '[0, "ig"]', "method": "ig", "status": "ok", "metrics": {"sparseness": 0.5}, "method_s": 1.0},
        {"job": '[1, "ig"]', "status": "error", "error": "InputError: boom"},
    ]
    (row,) = summarise(rows, ["sparseness"])
    assert row["method"] == "ig" and row["n"] == 1 and row["failed_items"] == 1 and row["mean"] == 0.5


def test_a_rerun_retries_failed_jobs_once(model, tmp_path, monkeypatch):
    from smugkit.evaluation import runner

    data = load_data(None, model.network, model_name="digits_cnn8", n=3)
    real, calls, broken = runner._attribute, [], {1}

    def flaky(m, x, spec):
        item = next(i for i in range(len(data)) if np.array_equal(data.x[i], x))
        calls.append(item)
        if item in broken:
            raise RuntimeError(f"item {item} is broken")
        return real(m, x, spec)

    monkeypatch.setattr(runner, "_attribute", flaky)
    first = evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    assert [r.get("status") for r in first["rows"]] == [None, "error", None] and calls == [0, 1, 2]
    calls.clear()
    again = evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    assert calls == [1] and again["rows"][1]["status"] == "error"  # retried once, finished items skipped
    calls.clear()
    broken.clear()
    fixed = evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    assert calls == [1] and "status" not in fixed["rows"][1]
    assert fixed["rows"][1]["metrics"]["sparseness"] is not None and fixed["table"][0]["n"] == 3
    calls.clear()
    evaluate_methods(model, data, ["gradient"], ["sparseness"], tmp_path, pictures=False)
    assert calls == []  # nothing failed: nothing runs
