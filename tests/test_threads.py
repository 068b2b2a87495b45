"""The per-process thread setting: parsed from SMUGKIT_THREADS, split over pool workers, obeyed by onnxruntime
sessions, HiGHS solves and BLAS in worker processes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from smugkit import threads as th
from smugkit.errors import InputError
from smugkit.run import Job
from smugkit.run.pool import PoolExecutor
from tests.run.batch_helpers import FAST, inputs, thread_setting, tiny_model


@pytest.fixture
def no_setting(monkeypatch):
    monkeypatch.delenv(th.ENV, raising=False)
    for k in th.BLAS_ENV:
        monkeypatch.delenv(k, raising=False)


def test_setting_is_parsed_and_checked(monkeypatch, no_setting):
    assert th.threads() is None
    monkeypatch.setenv(th.ENV, "3")
    assert th.threads() == 3
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv(th.ENV, bad)
        with pytest.raises(InputError, match="SMUGKIT_THREADS must be a positive integer"):
            th.threads()
    with pytest.raises(InputError, match="threads must be a positive integer"):
        th.set_threads(0)


def test_workers_share_the_cores(monkeypatch, no_setting):
    monkeypatch.setattr(th, "cores", lambda: 4)
    assert th.per_worker(1) is None  # one process alone keeps every library's default
    assert th.per_worker(2) == 2
    assert th.per_worker(3) == 1
    assert th.per_worker(8) == 1
    assert PoolExecutor(workers=2).threads == 2
    assert PoolExecutor(workers=1).threads is None
    assert PoolExecutor(workers=2, threads=None).threads is None
    with pytest.raises(InputError, match="threads must be a positive integer"):
        PoolExecutor(workers=2, threads=0)
    monkeypatch.setenv(th.ENV, "3")  # an explicit setting wins
    assert th.per_worker(2) == 3
    assert th.thread_env(1) == {th.ENV: "1", **{k: "1" for k in th.BLAS_ENV}}
    assert th.thread_env(None) == {}


def _tiny_onnx() -> bytes:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 2])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]).SerializeToString()


def test_sessions_keep_to_the_setting(monkeypatch, no_setting):
    from smugkit.runtime.session import make_session

    monkeypatch.setenv(th.ENV, "1")
    opts = make_session(_tiny_onnx()).get_session_options()
    assert (opts.intra_op_num_threads, opts.inter_op_num_threads) == (1, 1)
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.delenv(th.ENV)
    assert make_session(_tiny_onnx()).get_session_options().intra_op_num_threads == 0  # onnxruntime's default


def test_highs_solves_after_the_setting_changes(monkeypatch, tmp_path, no_setting):
    """HiGHS refuses a ``threads`` option other than its scheduler's; the backend restarts the scheduler."""
    from smugkit.attribution.smug import explain

    model, x = tiny_model(tmp_path), inputs(1)[0]
    sizes = []
    for setting in (None, "1", None, "2"):
        if setting is None:
            monkeypatch.delenv(th.ENV, raising=False)
        else:
            monkeypatch.setenv(th.ENV, setting)
        e = explain(model, x, backend="highs", **FAST)
        assert e.status == "optimal"
        sizes.append(e.mask_size)
    assert len(set(sizes)) == 1


def test_pool_workers_run_under_the_setting(monkeypatch, tmp_path, no_setting):
    monkeypatch.setattr(th, "cores", lambda: 2)
    jobs = [Job(str(i), i) for i in range(4)]
    rows = [row for _, row in PoolExecutor(workers=2).map(thread_setting, jobs)]
    assert [r["threads"] for r in rows] == [1] * 4
    assert all(b == 1 for r in rows for b in r["blas"])
    rows = [row for _, row in PoolExecutor(workers=1).map(thread_setting, jobs[:1])]
    assert rows[0]["threads"] is None


def test_batch_rows_record_the_setting(monkeypatch, tmp_path, no_setting):
    from smugkit.run.batch import explain_many

    monkeypatch.setattr(th, "cores", lambda: 2)
    out = explain_many(
        tiny_model(tmp_path), inputs(2), tmp_path / "o", executor="local:2", pictures=False, **FAST
    )
    assert out.ok == 2 and [r["threads"] for r in out.rows] == [1, 1]
    assert np.isfinite([r["mask_size"] for r in out.rows]).all()


@pytest.mark.slow  # starts a Dask LocalCluster and a local Ray: 30-60 s
@pytest.mark.parametrize("spec", ["dask:2", "ray:2"])
def test_local_cluster_workers_run_under_the_setting(spec, monkeypatch, no_setting):
    from smugkit.run.executors import parse_executor

    pytest.importorskip(spec.split(":")[0])
    monkeypatch.setattr(th, "cores", lambda: 2)
    ex = parse_executor(spec)
    try:
        rows = [row for _, row in ex.map(thread_setting, [Job(str(i), i) for i in range(2)])]
    finally:
        ex.close()
    assert [r["threads"] for r in rows] == [1, 1]
    assert all(b == 1 for r in rows for b in r["blas"])
