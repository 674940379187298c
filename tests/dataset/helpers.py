"""Shared helpers of the dataset tests: file digests of a written dataset, and a local Dask
cluster (two in-process workers of one thread each, talking over real sockets on the loopback,
as on a cluster)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowsynth.io.layout import METADATA_NAME
from flowsynth.io.manifest import MANIFEST_DIR


def digests(folder: Path, *, samples_only: bool = False) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``folder`` (or of its samples only: no
    manifest, no ``flowsynth.json``)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        bookkeeping = path.parent.name == MANIFEST_DIR or path.name == METADATA_NAME
        if path.is_file() and not (samples_only and bookkeeping):
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


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
