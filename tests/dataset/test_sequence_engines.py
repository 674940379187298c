"""Sequences written through a Dask cluster and through Ray: the bytes of the in-process run
(workers, chunks and engines keep for sequences every guarantee they have for pairs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsynth.dataset.write import generate_dataset
from tests.dataset.helpers import digests, loopback_dask_client
from tests.dataset.test_sequences_write import generate, sequence_recipe


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three sequences, written in this process, one chunk of two and one of one."""
    out = tmp_path_factory.mktemp("sequences") / "data"
    assert (
        generate(out, "--workers", "1", "--executor", "serial", "--chunk-size", "2", count=3) == 0
    )
    return out


def test_dask_cluster_writes_the_same_sequences(reference: Path, tmp_path: Path) -> None:
    with loopback_dask_client() as client:
        summary = generate_dataset(
            sequence_recipe(), 0, tmp_path / "data", count=3, chunk_size=2, executor=client
        )
    assert summary.chunks_written == 2 and summary.written == 3
    assert digests(tmp_path / "data") == digests(reference)


def test_ray_writes_the_same_sequences(reference: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed")
    out = tmp_path / "data"
    extra = ("--executor", "ray", "--workers", "2", "--chunk-size", "2")
    assert generate(out, *extra, count=3) == 0
    assert not ray.is_initialized()
    assert digests(out) == digests(reference)
