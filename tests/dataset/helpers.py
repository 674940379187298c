"""Shared helpers of the dataset tests: file digests of a written dataset, a generation killed
mid-run, and a local Dask cluster (two in-process workers of one thread each, talking over real
sockets on the loopback, as on a cluster)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from flowsynth.io.layout import METADATA_NAME
from flowsynth.io.manifest import MANIFEST_DIR, list_manifests

#: The repository root, the working folder of the generations the tests start.
REPO = Path(__file__).resolve().parents[2]


def digests(folder: Path, *, samples_only: bool = False) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``folder`` (or of its samples only: no
    manifest, no ``flowsynth.json``)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        bookkeeping = path.parent.name == MANIFEST_DIR or path.name == METADATA_NAME
        if path.is_file() and not (samples_only and bookkeeping):
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def kill_mid_run(
    command: Sequence[str],
    out: Path,
    env: dict[str, str],
    *,
    chunks: int,
    delay: float = 0.0,
    timeout: float = 60.0,
) -> bool:
    """Start ``command`` (a ``flowsynth generate`` of ``chunks`` chunks into ``out``), wait for
    it to finish one chunk more than ``out`` held (unless it held them all), then kill -9 it and
    its workers ``delay`` seconds later; True if it was still running."""
    before = len(list_manifests(out))
    run = subprocess.Popen(
        list(command),
        env=env,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while run.poll() is None and len(list_manifests(out)) <= before < chunks:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(delay)
    alive = run.poll() is None
    if alive:
        os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    # What joblib/loky's killed resource tracker could not remove: semaphores, empty folders.
    for leftover in Path("/dev/shm").glob(f"sem.loky-{run.pid}-*"):
        leftover.unlink(missing_ok=True)
    for folder in Path("/dev/shm").glob(f"joblib_memmapping_folder_{run.pid}_*"):
        shutil.rmtree(folder, ignore_errors=True)
    return alive


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
