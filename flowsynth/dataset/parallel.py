"""Run independent tasks on many cores or a cluster: one small interface, several engines.

An executor runs ``fn(task)`` for every task and yields the results in order of completion.
Tasks are whole chunks of samples (tens of samples each) that write their own files and return
only small records, so the engine's per-task cost (~0 for joblib/loky once started, ~11 ms for a
Dask future) is negligible, and no big array crosses a process boundary.

Engines are imported lazily, inside the executors: ``import flowsynth`` imports neither joblib
nor dask.

- ``"serial"``: in this process (``workers=1``).
- ``"loky"`` (alias ``"joblib"``): joblib's loky process pool on this machine (the default).
- ``"dask"``: one Dask task per chunk, on the cluster at ``scheduler`` (an address such as
  ``tcp://10.0.0.5:8786``) or, without one, on a local cluster of ``workers`` processes.
  A ``dask.distributed.Client`` may be passed instead of a name.
- ``"ray"``: one Ray task per chunk, on the cluster at ``scheduler`` (``auto``, or an address such
  as ``ray://10.0.0.5:10001``) or, without one, on a local Ray instance of ``workers`` CPUs that
  logs only errors (the progress bar stays whole). If Ray is already initialised in this process,
  its cluster is used as it is and left running.

Dask's Nanny exports ``MALLOC_TRIM_THRESHOLD_=65536`` to its workers by default
(``distributed.nanny.pre-spawn-environ``), which made numpy-heavy rendering 2.5-4x slower. The
local clusters made here drop it; for clusters you start yourself, remove it before the workers
start (see ``docs/generation.md``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("serial", "loky", "joblib", "dask", "ray")
MALLOC_TRIM_KEY = "MALLOC_TRIM_THRESHOLD_"


class Executor(Protocol):
    """Runs tasks and yields their results as they complete.

    ``worker_threads`` is the number of threads each task may use for OpenCV (``None``: leave
    the process default alone).
    """

    worker_threads: int | None

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``fn(task)`` for every task, yielded in order of completion."""
        ...


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class SerialExecutor:
    """Runs every task in this process, one after the other."""

    worker_threads: int | None = None

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``fn(task)`` for every task, in order."""
        for task in tasks:
            yield fn(task)


class JoblibExecutor:
    """joblib's loky process pool: ``workers`` processes on this machine."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        # Each worker process gets its share of the cores for OpenCV's own thread pool.
        self.worker_threads = max(1, available_cores() // workers)

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``fn(task)`` for every task in the pool; results in order of completion."""
        from joblib import Parallel, delayed

        # Tasks carry no big arrays: nothing to memory-map.
        parallel = Parallel(
            n_jobs=self.workers,
            backend="loky",
            return_as="generator_unordered",
            batch_size=1,
            max_nbytes=None,
        )
        # Closing the generator early (an error, Ctrl-C) stops the pool's pending tasks.
        with contextlib.closing(parallel(delayed(fn)(task) for task in tasks)) as results:
            yield from results


class DaskExecutor:
    """One Dask task per item on a ``distributed.Client``'s cluster."""

    def __init__(self, client: Any, *, worker_threads: int | None = None) -> None:
        self.client = client
        self.worker_threads = worker_threads

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``fn(task)`` for every task on the cluster; results in order of completion."""
        from distributed import as_completed

        futures = self.client.map(fn, list(tasks), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            self.client.cancel([f for f in futures if not f.done()])


class RayExecutor:
    """One Ray task (one CPU) per item on the Ray cluster this process is connected to."""

    def __init__(self, *, worker_threads: int | None = None) -> None:
        self.worker_threads = worker_threads

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``fn(task)`` for every task on the cluster; results in order of completion."""
        import ray

        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        pending = [remote.remote(task) for task in tasks]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for ref in pending:  # an error or Ctrl-C: stop what has not run
                ray.cancel(ref)


#: ``ray.init`` logging options for a local instance. ``log_to_driver=False`` keeps the workers'
#: output away, but the driver's ``ray`` logger still prints "Started a local Ray instance." (INFO)
#: and a note on token authentication (WARNING) into the progress bar; errors still show.
RAY_LOCAL_LOGGING: dict[str, Any] = {"configure_logging": True, "logging_level": logging.ERROR}


@contextlib.contextmanager
def _ray(workers: int, address: str | None) -> Iterator[RayExecutor]:
    import ray

    if ray.is_initialized():  # the caller's cluster: use it, leave it running
        yield RayExecutor()
        return
    local = address is None
    # A local instance gets this machine's share of CPUs and stays quiet; a cluster brings its
    # own CPUs and logging (its workers need flowsynth installed, as Dask's do).
    options: dict[str, Any] = (
        {"num_cpus": workers, "include_dashboard": False, **RAY_LOCAL_LOGGING} if local else {}
    )
    logger = logging.getLogger("ray")
    level = logger.level  # ray.init sets it; give it back after
    try:
        ray.init(address=address, log_to_driver=False, **options)
        try:
            yield RayExecutor(worker_threads=1 if local else None)
        finally:
            ray.shutdown()
    finally:
        logger.setLevel(level)


def is_dask_client(obj: Any) -> bool:
    """True for a ``distributed.Client`` (checked without importing dask)."""
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


def dask_config_without_malloc_trim() -> dict[str, dict[str, Any]]:
    """The Nanny's worker environment settings with ``MALLOC_TRIM_THRESHOLD_`` removed.

    Pass the result to ``dask.config.set`` before starting workers.
    """
    import dask

    settings = {}
    for key in ("distributed.nanny.pre-spawn-environ", "distributed.nanny.environ"):
        environ = dict(dask.config.get(key, default={}) or {})
        environ.pop(MALLOC_TRIM_KEY, None)
        settings[key] = environ
    return settings


@contextlib.contextmanager
def _local_dask(workers: int) -> Iterator[DaskExecutor]:
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set(dask_config_without_malloc_trim()),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield DaskExecutor(client, worker_threads=1)


@contextlib.contextmanager
def _remote_dask(address: str) -> Iterator[DaskExecutor]:
    from distributed import Client

    with Client(address) as client:
        yield DaskExecutor(client)


@contextlib.contextmanager
def _plain(executor: Any) -> Iterator[Any]:
    yield executor


def open_executor(
    executor: str | Any = "loky",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
) -> contextlib.AbstractContextManager[Executor]:
    """A context manager giving an :class:`Executor`; engines it started are shut down after.

    Parameters
    ----------
    executor : str or distributed.Client or Executor
        ``"serial"``, ``"loky"`` (``"joblib"``), ``"dask"``, a Dask client (used as is, left
        open) or any object with ``map_unordered`` and ``worker_threads``.
    workers : int, optional
        Processes for ``"loky"`` and the local Dask cluster (default: all cores). ``1`` with
        ``"loky"`` runs in this process.
    scheduler : str, optional
        Address of a running Dask scheduler or Ray cluster (only with ``"dask"`` or ``"ray"``).
    """
    if is_dask_client(executor):
        return _plain(DaskExecutor(executor))
    if not isinstance(executor, str):
        if not hasattr(executor, "map_unordered"):
            raise TypeError(f"not an executor: {executor!r}")
        return _plain(executor)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if scheduler is not None and executor not in ("dask", "ray"):
        raise ValueError("a scheduler address needs --executor dask or --executor ray")
    count = available_cores() if workers is None else workers
    if count < 1:
        raise ValueError(f"workers must be >= 1, got {count}")
    if executor == "dask":
        return _remote_dask(scheduler) if scheduler else _local_dask(count)
    if executor == "ray":
        return _ray(count, scheduler)
    if executor == "serial" or count == 1:
        return _plain(SerialExecutor())
    return _plain(JoblibExecutor(count))
