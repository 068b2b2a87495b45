"""explain_many / attribute_many: one folder per item, rows as they finish, resume, failures that stay local,
the local process pool, and the command line's batch mode with its exit codes."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from smugkit.attribution.smug import Explanation, explain
from smugkit.cli import main
from smugkit.errors import InputError
from smugkit.run import Job, JobStore, run_jobs
from smugkit.run.batch import attribute_many, explain_many, read_results
from smugkit.run.pool import PoolExecutor
from tests.run.batch_helpers import FAST, double, flaky, inputs, tiny_model


def _item_rows(out):
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return [r for r in rows if not r["job"].startswith("#")], [r for r in rows if r["job"].startswith("#")]


def test_explain_many_matches_one_by_one_and_records_the_run(tmp_path):
    model, x = tiny_model(tmp_path), inputs(2)
    bad = np.full_like(x[0], np.nan)  # read fine, fails inside explain: a failed row, retried once
    out = tmp_path / "out"
    result = explain_many(model, [*x, bad], out, executor="serial", pictures=False, **FAST)
    assert (result.ok, result.failed) == (2, 1)
    for i in range(2):
        alone = explain(model, x[i], **FAST)
        saved = Explanation.load(out / f"item-{i:04d}")
        np.testing.assert_array_equal(saved.mask_bits, alone.mask_bits)
        assert result.rows[i]["mask_size"] == alone.mask_size and result.rows[i]["label"] == alone.label
    failed = result.rows[2]
    assert failed["status"] == "error" and "NaN" in failed["error"] and failed["attempt"] == 2
    items, headers = _item_rows(out)
    assert [r["attempt"] for r in items if r["item"] == "item-0002"] == [1, 2]
    assert len(headers) == 1 and headers[0]["schema"] == 1
    assert {"smugkit", "python", "os", "cpus"} <= set(headers[0])
    lines = (out / "summary.csv").read_text().splitlines()
    assert lines[0].startswith("# schema=1 ") and "cpus=" in lines[0]
    table = list(csv.DictReader(lines[1:]))
    assert [r["status"] for r in table] == ["ok", "ok", "error"]
    assert [int(r["mask_size"]) for r in table[:2]] == [r["mask_size"] for r in result.rows[:2]]


def test_interrupted_run_keeps_finished_items_and_resumes(tmp_path):
    model, x = tiny_model(tmp_path), inputs(4)
    out = tmp_path / "out"
    seen = []

    def stop_after_two(row):
        seen.append(row["item"])
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C after the second item finished

    with pytest.raises(KeyboardInterrupt):
        from smugkit.run.batch import run_batch

        run_batch("attribute", model, x, out, options={"method": "gradient"}, executor="serial", pictures=False,
                  on_row=stop_after_two)  # fmt: skip
    assert [r["item"] for r in read_results(out)] == ["item-0000", "item-0001"]
    assert (out / "summary.csv").exists()  # written on the way out
    result = attribute_many(model, x, out, method="gradient", executor="serial", pictures=False)
    assert result.ok == 4
    items, headers = _item_rows(out)
    assert [r["item"] for r in items] == ["item-0000", "item-0001", "item-0002", "item-0003"]  # each ran once
    assert len(headers) == 2  # one header per run
    values = np.load(out / "item-0002" / "attribution.npy")
    assert values.shape == x[2].shape


def test_pool_runs_jobs_in_workers_and_contains_failures(tmp_path):
    jobs = [Job(str(i), p) for i, p in enumerate([1, -1, 2, -2, 3])]
    store = JobStore(tmp_path / "log.jsonl")
    rows = run_jobs(jobs, flaky, store, executor=PoolExecutor(workers=2))
    by = {r["job"]: r for r in rows}
    assert [by[str(i)]["value"] for i in (0, 2, 4)] == [2, 4, 6]
    assert by["1"]["status"] == "error" and "this item is broken" in by["1"]["error"]
    assert by["3"]["status"] == "error" and "worker process died" in by["3"]["error"]
    assert "twice" in by["3"]["error"]  # retried once, alone in a fresh pool
    again = list(PoolExecutor(workers=2).map(double, [Job("a", 5)]))
    assert again[0][1]["value"] == 10
    with pytest.raises(InputError, match="cannot be sent to a worker process"):
        list(PoolExecutor(workers=2).map(lambda job: {}, [Job("a", 5)]))


def test_explain_many_on_a_local_pool_equals_serial(tmp_path):
    model, x = tiny_model(tmp_path), inputs(4)
    pool = explain_many(model, x, tmp_path / "pool", executor="local:2", pictures=False, **FAST)
    serial = explain_many(model, x, tmp_path / "serial", executor="serial", pictures=False, **FAST)
    assert pool.ok == 4
    assert [r["mask_size"] for r in pool.rows] == [r["mask_size"] for r in serial.rows]
    assert {r["worker"] for r in pool.rows}.isdisjoint({r["worker"] for r in serial.rows})


def test_cli_batch_exit_codes(tmp_path, capsys):
    model, x = tiny_model(tmp_path), inputs(2)
    np.savez(tmp_path / "good.npz", x=x)
    args = [
        "--quiet",
        "explain",
        model,
        "--executor",
        "serial",
        "--top-k",
        "8",
        "--ig-steps",
        "20",
        "--no-pictures",
    ]
    assert main([*args[:3], str(tmp_path / "good.npz"), *args[3:], "--out", str(tmp_path / "a")]) == 0
    assert "2 items: 2 ok, 0 failed" in capsys.readouterr().out
    folder = tmp_path / "mixed"
    folder.mkdir()
    np.save(folder / "one.npy", x[0])
    (folder / "readme.txt").write_text("not an input")
    assert main([*args[:3], str(folder), *args[3:], "--out", str(tmp_path / "b")]) == 1
    captured = capsys.readouterr()
    assert "1 ok, 1 failed" in captured.out and "readme" in captured.err
    assert main([*args[:3], str(tmp_path / "nothing-*.npy"), *args[3:]]) == 2
    assert "matches no files" in capsys.readouterr().err
    assert main(["attribute", model, str(tmp_path / "good.npz"), "--executor", "nope"]) == 2
    assert "unknown executor" in capsys.readouterr().err


def test_evaluate_runs_on_the_local_pool(tmp_path):
    from smugkit import zoo
    from smugkit.evaluation import evaluate_methods, load_data
    from smugkit.model import Model

    model = Model(zoo.model_path("digits_cnn8"))
    data = load_data(None, model.network, model_name="digits_cnn8", n=3)
    run = {"pictures": False, "methods": ["gradient"], "metrics": ["sparseness"]}
    pool = evaluate_methods(model, data, out=tmp_path / "p", executor=PoolExecutor(workers=2), **run)
    serial = evaluate_methods(model, data, out=tmp_path / "s", **run)
    assert [r["metrics"] for r in pool["rows"]] == [r["metrics"] for r in serial["rows"]]
