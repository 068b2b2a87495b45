"""The metrics inside `smugkit evaluate`: ground-truth masks from the data, and a resumed run's table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smugkit import zoo
from smugkit.cli import main
from smugkit.errors import InputError
from smugkit.evaluation import evaluate_methods, load_data
from smugkit.evaluation import runner as runner_module
from smugkit.model import Model

METRICS = ["deletion", "insertion", "pointing_game", "saliency_metric", "mask_size"]
OPTIONS = {"deletion": {"steps": 8, "random_orders": 1}, "insertion": {"steps": 8, "random_orders": 0}}


@pytest.fixture(scope="module")
def model():
    return Model(zoo.model_path("digits_cnn8"))


def _data_file(tmp_path, model):
    x, y = zoo.test_set(8)
    x, y = x[:4], y[:4]
    masks = x[:, 0] > 0.3  # the digit's strokes as its region
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y, masks=masks)
    return path


def _stable(table):
    return [{k: v for k, v in t.items() if k != "method_s_mean"} for t in table]


def _rows(log) -> list[dict]:
    """The (item, method) rows of a results log, without each run's ``#run`` header (schema, host facts)."""
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    return [r for r in rows if not r["job"].startswith("#")]


def test_an_interrupted_run_resumes_to_the_same_table(model, tmp_path, monkeypatch):
    data = load_data(_data_file(tmp_path, model), model.network)
    assert data.truth(2).shape == (8, 8) and data.truth(2).dtype == bool
    whole = evaluate_methods(
        model, data, ["gradient"], METRICS, tmp_path / "a", metric_options=OPTIONS, pictures=False
    )
    assert {t["metric"]: t["n"] for t in whole["table"]} == dict.fromkeys(METRICS, 4)
    real, calls = runner_module._attribute, []

    def stop_at_third(*a):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(runner_module, "_attribute", stop_at_third)
    with pytest.raises(KeyboardInterrupt):
        evaluate_methods(model, data, ["gradient"], METRICS, tmp_path / "b", metric_options=OPTIONS)
    assert len(_rows(tmp_path / "b" / "results.jsonl")) == 2
    monkeypatch.setattr(runner_module, "_attribute", real)
    resumed = evaluate_methods(
        model, data, ["gradient"], METRICS, tmp_path / "b", metric_options=OPTIONS, pictures=False
    )
    assert _stable(resumed["table"]) == _stable(whole["table"])
    rows = _rows(tmp_path / "b" / "results.jsonl")
    assert [r["item"] for r in rows] == [0, 1, 2, 3]
    assert "random_auc" in rows[0]["details"]["deletion"] and "curve" in rows[0]["details"]["insertion"]


def test_masks_of_the_wrong_shape_are_refused(model, tmp_path):
    x = np.zeros((3, 1, 8, 8))
    np.savez(tmp_path / "bad.npz", x=x, masks=np.zeros((3, 7, 7), bool))
    with pytest.raises(
        InputError, match=r"masks must have shape \[3, 8, 8\] \(the image grid\) or \[3, 1, 1, 8, 8\]"
    ):
        load_data(tmp_path / "bad.npz", model.network)


def test_cli_lists_the_metrics_and_evaluates_them_on_a_zoo_model(model, tmp_path, capsys):
    assert main(["metrics"]) == 0
    listed = capsys.readouterr().out
    for name in [
        "saliency_metric",
        "insertion",
        "deletion",
        "sparsity",
        "mask_size",
        "pointing_game",
        "completeness",
        "soundness",
        "model_randomisation",
        "model_perturbation",
        "max_sensitivity",
        "topk_intersection",
    ]:
        assert f"\n{name}  (" in "\n" + listed
    argv = ["--quiet", "evaluate", "--model", "digits_cnn8", "--data", str(_data_file(tmp_path, model))]
    argv += ["--methods", "ig", "--metrics", "pointing_game,completeness,sparsity", "-n", "2"]
    argv += ["--out", str(tmp_path / "ev"), "--no-pictures"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pointing_game (↑)" in out and "ig " in out
    rows = _rows(tmp_path / "ev" / "results.jsonl")
    assert all(
        not r["errors"] and set(r["metrics"]) == {"pointing_game", "completeness", "sparsity"} for r in rows
    )
