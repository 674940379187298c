"""A local Dask cluster as the dataset tests use it: two in-process workers of one thread each,
talking over real sockets on the loopback, as on a cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def loopback_dask_client() -> Iterator[Any]:
    """A ``distributed.Client`` of a two-worker local cluster (the test is skipped without
    dask.distributed); both are closed on exit."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",  # real sockets on the loopback, as on a cluster
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
