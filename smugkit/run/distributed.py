"""Dask and Ray executors (the ``[dist]`` extra, imported only when one is used).

With no address each starts a local cluster of ``workers`` processes, each keeping to ``cores // workers``
threads as the local pool's do (`smugkit.threads`), and stops it on `close`; with an address it joins the
running scheduler (Dask: ``tcp://host:8786``; Ray: ``auto`` or ``ray://host:10001``), whose workers keep the
``SMUGKIT_THREADS`` they were started with. A job whose worker died is retried once by the scheduler, then
recorded as a failed row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from smugkit.errors import InputError, SmugkitError
from smugkit.run.jobs import Job
from smugkit.run.pool import default_workers
from smugkit.threads import per_worker, thread_env

CONNECT_TIMEOUT = 10.0  # seconds to reach a given scheduler before giving up


def _missing(package: str) -> SmugkitError:
    return SmugkitError(f"the {package} executor needs {package}: pip install 'smugkit[dist]'")


def _lost(exc: BaseException) -> dict:
    return {"status": "error", "error": f"worker lost: {type(exc).__name__}: {exc}"}


class DaskExecutor:
    """Jobs on a dask.distributed cluster: the one at ``address``, or a `LocalCluster` of ``workers``
    processes (threads of this process with ``processes=False``)."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        retries: int = 1,
        timeout: float = CONNECT_TIMEOUT,
        processes: bool = True,
    ) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as e:
            raise _missing("dask") from e
        self.cluster = None
        self.retries = retries
        if address:
            try:
                self.client = Client(address, timeout=timeout)
            except (OSError, TimeoutError) as e:
                raise InputError(f"dask executor: cannot reach the scheduler at {address!r}: {e}") from e
        else:
            n = default_workers() if workers is None else workers
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"dask executor: workers must be a positive integer, got {workers!r}")
            env = {"env": thread_env(per_worker(n))} if processes else {}  # as the local pool's workers
            self.cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None, **env
            )
            self.client = Client(self.cluster)

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        """Submit every job, yield each as it completes."""
        from dask.distributed import as_completed

        futures = {
            self.client.submit(
                call, job, key=f"smugkit-{id(self)}-{n}", pure=False, retries=self.retries
            ): job
            for n, job in enumerate(jobs)
        }
        try:
            for fut in as_completed(futures):
                job = futures.pop(fut)
                try:
                    yield job, fut.result()
                except Exception as exc:  # noqa: BLE001 -- a worker died more often than retried
                    yield job, _lost(exc)
        finally:
            if futures:
                self.client.cancel(list(futures))

    def close(self) -> None:
        """Disconnect; stop the local cluster when this executor started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class RayExecutor:
    """Jobs on Ray: the cluster at ``address``, or a local one with ``workers`` CPUs."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, retries: int = 1) -> None:
        try:
            import ray
        except ImportError as e:
            raise _missing("ray") from e
        self.ray = ray
        self.retries = retries
        self.started = not ray.is_initialized()
        if self.started:
            opts = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if not address:
                opts["num_cpus"] = n = default_workers() if workers is None else int(workers)
                opts["runtime_env"] = {"env_vars": thread_env(per_worker(n))}  # as the local pool's workers
            try:
                ray.init(address=address or None, **opts)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise InputError(f"ray executor: cannot start or reach Ray at {address!r}: {e}") from e

    def map(self, call: Callable[[Job], dict], jobs: Sequence[Job]) -> Iterator[tuple[Job, dict]]:
        """Submit every job as a task (one CPU each), yield each as it completes."""
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=self.retries)(_apply)
        refs = {remote.remote(call, job): job for job in jobs}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                job = refs.pop(done[0])
                try:
                    yield job, ray.get(done[0])
                except Exception as exc:  # noqa: BLE001 -- a worker died more often than retried
                    yield job, _lost(exc)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Shut Ray down when this executor started it."""
        if self.started:
            self.ray.shutdown()


def _apply(call: Callable[[Job], dict], job: Job) -> dict:
    return call(job)
