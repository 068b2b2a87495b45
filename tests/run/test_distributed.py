"""The Dask and Ray executors on local clusters of 2 workers give the serial results; an unreachable
scheduler is a clear error. Skipped when the [dist] extra is not installed."""

from __future__ import annotations

import pytest

from smugkit.errors import InputError
from smugkit.run.batch import explain_many
from smugkit.run.executors import parse_executor
from tests.run.batch_helpers import FAST, inputs, tiny_model


def _same_as_serial(tmp_path, executor, processes: bool = True) -> None:
    model, x = tiny_model(tmp_path), inputs(3)
    dist = explain_many(model, x, tmp_path / "dist", executor=executor, pictures=False, **FAST)
    serial = explain_many(model, x, tmp_path / "serial", executor="serial", pictures=False, **FAST)
    assert dist.failed == 0
    # the results came back from the workers and were written here
    assert [e.mask_size for e in dist.results()] == [r["mask_size"] for r in serial.rows]
    assert [r["mask_size"] for r in dist.rows] == [r["mask_size"] for r in serial.rows]
    if processes:  # the work ran in the cluster's worker processes
        assert {r["worker"] for r in dist.rows}.isdisjoint({r["worker"] for r in serial.rows})


def test_dask_local_cluster_in_process(tmp_path):
    pytest.importorskip("dask.distributed")
    from smugkit.run.distributed import DaskExecutor

    _same_as_serial(tmp_path, DaskExecutor(workers=2, processes=False), processes=False)


@pytest.mark.slow  # two worker processes start and import smugkit: 20-30 s on a loaded machine
def test_dask_local_cluster_of_processes(tmp_path):
    pytest.importorskip("dask.distributed")
    _same_as_serial(tmp_path, "dask:2")


def test_dask_unreachable_scheduler_is_an_input_error():
    pytest.importorskip("dask.distributed")
    from smugkit.run.distributed import DaskExecutor

    with pytest.raises(InputError, match="cannot reach the scheduler at 'tcp://127.0.0.1:9'"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=1.0)


@pytest.mark.slow  # starting Ray takes 15-20 s
def test_ray_local_cluster(tmp_path):
    pytest.importorskip("ray")
    _same_as_serial(tmp_path, "ray:2")


def test_executor_specs():
    assert parse_executor("local:3").workers == 3
    with pytest.raises(InputError, match="takes no address"):
        parse_executor("serial:tcp://h:1")
    with pytest.raises(InputError, match="unknown executor"):
        parse_executor("spark")
