"""Parallel and resumable generation: identical bytes for any executor, workers, chunking or
interruption, and refusal to mix datasets."""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.dataset.write import generate_dataset
from flowsynth.io.layout import FLOW_FILES, DatasetMismatchError, file_name
from flowsynth.io.manifest import (
    MANIFEST_DIR,
    Chunk,
    Coverage,
    list_manifests,
    manifest_path,
    plan_chunks,
    superseded,
)
from flowsynth.recipe.load import load_recipe
from tests.dataset.helpers import REPO, digests, kill_mid_run, loopback_dask_client
from tests.render.helpers import SMALL

SETS = [arg for s in SMALL for arg in ("--set", s)]


def generate(out: Path, *extra: str, count: int = 7) -> int:
    args = ["generate", "default", "--out", str(out), "--count", str(count), "--preview", "0"]
    return main([*args, "--no-progress", *SETS, *extra])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven samples written in this process, chunks of 3."""
    out = tmp_path_factory.mktemp("reference") / "data"
    assert generate(out, "--workers", "1", "--chunk-size", "3") == 0
    return out


def test_chunks_are_aligned_to_multiples_of_the_chunk_size() -> None:
    assert plan_chunks(0, 7, 3) == [Chunk(0, 3), Chunk(3, 3), Chunk(6, 1)]
    assert plan_chunks(4, 4, 3) == [Chunk(4, 2), Chunk(6, 2)]
    assert plan_chunks(3, 0, 3) == []
    assert superseded([Chunk(0, 3), Chunk(3, 2), Chunk(3, 3), Chunk(4, 1)]) == [
        Chunk(3, 2),
        Chunk(4, 1),
    ]
    coverage = Coverage([Chunk(0, 3), Chunk(3, 2), Chunk(8, 2)])
    assert coverage.ranges() == [(0, 5), (8, 10)]
    assert coverage.covers(Chunk(1, 4)) and not coverage.covers(Chunk(4, 2))


def test_two_workers_write_the_same_bytes_as_one(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert generate(out, "--workers", "2", "--chunk-size", "3") == 0
    assert digests(out) == digests(reference)  # manifests and flowsynth.json included
    assert sorted(p.name for p in (out / MANIFEST_DIR).iterdir()) == [
        "chunk-0000000-3.json",
        "chunk-0000003-3.json",
        "chunk-0000006-1.json",
    ]
    assert verify_dataset(out).ok


def test_chunk_size_and_start_do_not_change_the_samples(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert generate(out, "--workers", "1", "--chunk-size", "2", "--start", "2", count=5) == 0
    assert generate(out, "--workers", "1", "--chunk-size", "2", count=2) == 0
    assert digests(out, samples_only=True) == digests(reference, samples_only=True)
    assert verify_dataset(out, count=7).ok


def test_a_grown_range_rewrites_the_cut_chunk_whole(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert generate(out, "--workers", "1", "--chunk-size", "3", count=5) == 0
    assert "chunk-0000003-2.json" in {p.name for p in (out / MANIFEST_DIR).iterdir()}
    assert generate(out, "--workers", "1", "--chunk-size", "3", count=7) == 0
    assert digests(out) == digests(reference)


def test_a_mismatched_recipe_or_seed_is_refused(
    reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert generate(out, "--chunk-size", "3", count=2) == 0
    assert generate(out, "--set", "objects.count=[1,2]") == 2
    assert "another --out folder" in capsys.readouterr().err
    assert generate(out, "--seed", "5") == 2
    assert generate(out, "--format", "shards") == 2
    recipe = load_recipe("default", [*SMALL, "objects.count=[1,2]"])
    with pytest.raises(DatasetMismatchError):
        generate_dataset(recipe, 0, out, count=2, workers=1)


def test_dask_cluster_writes_the_same_bytes(reference: Path, tmp_path: Path) -> None:
    recipe = load_recipe("default", SMALL)
    with loopback_dask_client() as client:
        summary = generate_dataset(
            recipe, 0, tmp_path / "data", count=7, chunk_size=3, executor=client
        )
    assert summary.chunks_written == 3 and summary.written == 7
    assert digests(tmp_path / "data") == digests(reference)


def test_ray_writes_the_same_bytes(reference: Path, tmp_path: Path) -> None:
    """The command line with ``--executor ray``: a local Ray instance of two CPUs, one task per
    chunk, shut down after; the files are those of the in-process run."""
    ray = pytest.importorskip("ray", reason="ray is not installed")
    out = tmp_path / "data"
    assert generate(out, "--executor", "ray", "--workers", "2", "--chunk-size", "3") == 0
    assert not ray.is_initialized()  # the instance flowsynth started is gone
    assert digests(out) == digests(reference)


def test_local_dask_cluster_drops_malloc_trim_threshold(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    from flowsynth.dataset.parallel import DaskExecutor, open_executor

    with open_executor("dask", workers=1) as executor:
        assert isinstance(executor, DaskExecutor)
        environ = executor.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(environ.values()) == [None]
        recipe = load_recipe("default", SMALL)
        generate_dataset(recipe, 0, tmp_path / "d", count=2, chunk_size=1, executor=executor)
    assert verify_dataset(tmp_path / "d", count=2).ok


def _command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flowsynth",
        "generate",
        "default",
        "--out",
        str(out),
        "--count",
        "16",
        "--chunk-size",
        "2",
        "--workers",
        "2",
        "--preview",
        "0",
        "--no-progress",
        *SETS,
        "--set",
        "size=[192,256]",
    ]


def test_killed_runs_resume_to_the_same_bytes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    expected = tmp_path / "expected"
    assert main([*_command(expected)[3:], "--workers", "1"]) == 0
    out = tmp_path / "killed"
    rng = np.random.default_rng(12)
    killed = [
        kill_mid_run(_command(out), out, env, chunks=8, delay=delay)
        for delay in rng.uniform(0.0, 0.3, size=3)
    ]
    assert killed[0], "the first run finished before it could be killed"
    # A stale temporary file, and a chunk whose files are there (one cut short) but whose
    # manifest is not: it is regenerated wholesale.
    (out / ".0000003-img_0.png.999.1.0.tmp").write_bytes(b"half")
    for index in (2, 3):
        for suffix in FLOW_FILES:
            shutil.copyfile(expected / file_name(index, suffix), out / file_name(index, suffix))
    manifest_path(out, Chunk(2, 2)).unlink(missing_ok=True)
    (out / file_name(3, "img_0.png")).write_bytes(b"truncated")
    subprocess.run(_command(out), check=True, env=env, capture_output=True, cwd=REPO)
    assert digests(out) == digests(expected)
    assert verify_dataset(out, count=16).ok
    assert len(list_manifests(out)) == 8
    assert len(list(out.glob("*-img_0.png"))) == 16 and not list(out.glob(".*"))


def test_a_full_disk_stops_the_run_and_a_rerun_completes_it(
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import flowsynth.io.layout

    calls = itertools.count()
    write = flowsynth.io.layout.atomic_write_bytes

    def filling_disk(path: Path, data: bytes, **options: Any) -> None:
        if next(calls) == 45:  # in the middle of the second chunk
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write(path, data, **options)

    monkeypatch.setattr(flowsynth.io.layout, "atomic_write_bytes", filling_disk)
    out = tmp_path / "data"
    assert generate(out, "--workers", "1", "--chunk-size", "3") == 2
    assert "No space left on device" in capsys.readouterr().err
    assert [c.first for c in list_manifests(out)] == [0]
    monkeypatch.setattr(flowsynth.io.layout, "atomic_write_bytes", write)
    assert generate(out, "--workers", "1", "--chunk-size", "3") == 0
    assert digests(out) == digests(reference)


def test_resume_skips_finished_chunks(tmp_path: Path) -> None:
    recipe = load_recipe("default", SMALL)
    first = generate_dataset(recipe, 0, tmp_path, count=4, chunk_size=2, workers=1)
    again = generate_dataset(recipe, 0, tmp_path, count=6, chunk_size=2, workers=1)
    assert (first.chunks_written, again.chunks_written, again.chunks_skipped) == (2, 1, 2)
    assert again.written == 2 and again.bytes_written > 0
    names = {file_name(i, s) for i in range(6) for s in FLOW_FILES}
    assert names <= {p.name for p in tmp_path.iterdir()}
    # Files: a request in the middle of a block writes just what was asked for.
    generate_dataset(recipe, 0, tmp_path, count=2, start=9, chunk_size=2, workers=1)
    assert not (tmp_path / file_name(8, "img_0.png")).exists()
    assert (tmp_path / file_name(9, "img_0.png")).exists()
    assert verify_dataset(tmp_path).ranges == [(0, 6), (9, 11)]


def test_importing_flowsynth_imports_no_engine() -> None:
    code = (
        "import sys, flowsynth, flowsynth.dataset.write, flowsynth.dataset.parallel, "
        "flowsynth.cli.main, flowsynth.dataset.verify; "
        "print(sorted(m for m in ('dask', 'distributed', 'joblib', 'ray') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]"
