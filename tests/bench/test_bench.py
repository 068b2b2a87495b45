"""The bench harness on the smoke suite: reports, agreement checking, resuming."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smugkit.bench import SUITES, load_suite, run_bench
from smugkit.bench.runner import backend_solver
from smugkit.cli import main
from smugkit.errors import InputError


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    result = run_bench(SUITES["smoke"], ["highs", "z3", "reference"], timeout=30, out=out, progress=False)
    return out, result


def test_smoke_suite_reports(smoke):
    out, result = smoke
    assert len(result.rows) == 3 * len(SUITES["smoke"])
    assert not result.disagreements
    for name in ("runs.csv", "summary.json", "time_vs_bits.png", "cactus.png", "runs.jsonl"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert {m["backend"] for m in summary["medians"]} == {"highs", "z3", "reference"}
    highs = next(m for m in summary["medians"] if m["backend"] == "highs")
    assert highs["reference_optimal_instances"] == len(SUITES["smoke"])
    assert highs["speedup_where_reference_optimal"] > 0 and highs["speedup_vs_reference"] > 0
    for row in result.rows:
        assert row["status"] == "optimal", row
        assert row["exact_ok"] and row["certified"]
    optima = {}
    for row in result.rows:
        optima.setdefault(row["instance"], set()).add(row["objective"])
    assert all(len(v) == 1 for v in optima.values())


def test_wrong_backend_is_flagged(smoke, tmp_path):
    _out, _ = smoke
    honest = backend_solver("highs")

    def liar(p, timeout, seed):
        d = honest(p, timeout, seed)
        d["objective"] = d["objective"] + 1  # claims a different optimum
        return d

    def cheat(p, timeout, seed):
        d = honest(p, timeout, seed)
        d["mask"] = np.zeros_like(d["mask"])  # an infeasible mask passed off as optimal
        return d

    spec = SUITES["smoke"][:1]
    result = run_bench(
        spec,
        ["highs", "liar", "cheat"],
        timeout=30,
        out=tmp_path,
        progress=False,
        solvers={"liar": liar, "cheat": cheat},
    )
    kinds = {(d["kind"], d.get("backend")) for d in result.disagreements}
    assert ("different optima", None) in kinds and ("invalid mask", "cheat") in kinds


def test_resume_skips_finished_runs(smoke):
    out, result = smoke
    runs = _runs(out / "runs.jsonl")

    def must_not_run(p, timeout, seed):
        raise AssertionError("a finished run was run again")

    again = run_bench(
        SUITES["smoke"],
        ["highs", "z3", "reference"],
        timeout=30,
        out=out,
        progress=False,
        solvers={"highs": must_not_run, "z3": must_not_run, "reference": must_not_run},
    )
    assert _runs(out / "runs.jsonl") == runs  # only a new run header was added
    assert len(again.rows) == len(result.rows)


def _runs(log) -> list[str]:
    """The rows of a runs.jsonl that are runs (not a run's ``#run`` header)."""
    return [line for line in log.read_text().splitlines() if not line.startswith('{"job": "#')]


def test_crashing_backend_becomes_a_row(tmp_path):
    def crash(p, timeout, seed):
        raise RuntimeError("solver exploded")

    result = run_bench(
        SUITES["smoke"][:1], ["crash"], timeout=5, out=tmp_path, progress=False, solvers={"crash": crash}
    )
    assert result.rows[0]["status"] == "error" and "exploded" in result.rows[0]["reason"]


def test_suite_files_and_errors(tmp_path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps([{"model": "digits_mlp8", "sample": 2, "top_k": 5, "window": 2}]))
    assert load_suite(str(path))[0].sample == 2
    with pytest.raises(InputError, match="unknown suite"):
        load_suite("nosuch")
    path.write_text(json.dumps([{"modell": "x"}]))
    with pytest.raises(InputError, match="expected a JSON list"):
        load_suite(str(path))


def test_cli_bench(tmp_path, capsys):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps([{"model": "digits_mlp8", "sample": 1, "top_k": 5, "window": 2}]))
    assert (
        main(
            [
                "--quiet",
                "bench",
                "--suite",
                str(path),
                "--backends",
                "highs,highs+z3,cvc5",
                "--timeout",
                "20",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "highs" in out and "cvc5" in out and (tmp_path / "o" / "runs.csv").exists()
    rows = [json.loads(line) for line in _runs(tmp_path / "o" / "runs.jsonl")]
    hybrid = [r for r in rows if r["backend"] == "highs+z3"]
    assert len(hybrid) == 1 and hybrid[0]["status"] == "optimal"
    assert len({r["objective"] for r in rows}) == 1  # all three agree on the optimum


def test_reference_is_killed_at_the_deadline(monkeypatch):
    # z3's Optimize can ignore its timeout; the baseline must still come back, as unknown, on time
    import time

    import scipy.sparse as sp

    from smugkit.bench import reference

    budget, hang = 0.2, 60.0
    monkeypatch.setattr(reference, "_solve_here", lambda *a: time.sleep(hang))
    t = time.perf_counter()
    d = reference.solve_reference(
        sp.csr_matrix(np.ones((1, 2))), np.zeros(1), np.ones(2), np.arange(2), 2, np.ones(1), 0.0, budget
    )
    # killed at budget + grace; 5 s of slack for fork and kill on a loaded machine, far below the hang
    assert time.perf_counter() - t < budget + reference.DEADLINE_GRACE + 5.0 < hang
    assert d["status"] == "unknown" and d["assignment"] is None and "deadline" in d["message"]


@pytest.mark.parametrize(
    "name,match",
    [
        ("nosuch", "unknown backend 'nosuch'"),
        ("z3@nosuch", "no strategy 'nosuch'"),
        ("highs+nosuch", "prover"),
        ("z3+cvc5", "prover"),
    ],
)
def test_bad_backend_names_are_rejected_before_running(name, match):
    with pytest.raises(InputError, match=match):
        backend_solver(name)


def test_cli_bench_on_the_local_pool(tmp_path, capsys):
    """Bench runs are jobs of the same runner as explain and evaluate: on two workers, the same optima."""
    path = tmp_path / "suite.json"
    path.write_text(json.dumps([{"model": "digits_mlp8", "sample": 1, "top_k": 5, "window": 2}]))
    argv = ["--quiet", "bench", "--suite", str(path), "--backends", "highs,z3", "--timeout", "20"]
    assert main([*argv, "--out", str(tmp_path / "o"), "--executor", "local:2"]) == 0
    assert "median solve s" in capsys.readouterr().out
    rows = [json.loads(line) for line in _runs(tmp_path / "o" / "runs.jsonl")]
    assert sorted(r["backend"] for r in rows) == ["highs", "z3"]
    assert {r["status"] for r in rows} == {"optimal"} and len({r["objective"] for r in rows}) == 1
    head = json.loads((tmp_path / "o" / "runs.jsonl").read_text().splitlines()[0])
    assert head["executor"] == "local" and head["kind"] == "bench"
