"""Manifests count only when their name, range and contents agree with the dataset: a forged
one never makes resume delete real manifests, and no number in one sizes an allocation; absurd
``--count`` values are refused or counted, never spelled out in memory."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.io.manifest import MANIFEST_DIR, Chunk, list_manifests, manifest_path
from tests.render.helpers import SMALL

SETS = [arg for s in SMALL for arg in ("--set", s)]


def generate(out: Path, count: int, *extra: str) -> int:
    args = ["generate", "default", "--out", str(out), "--count", str(count), "--chunk-size", "2"]
    return main([*args, "--workers", "1", "--no-progress", "--preview", "0", *SETS, *extra])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trust") / "data"
    assert generate(out, 4) == 0
    return out


@pytest.fixture
def copy(dataset: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(dataset, tmp_path / "data"))


def manifests(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / MANIFEST_DIR).iterdir())}


@pytest.mark.parametrize("name", ["chunk-0000000-1000.json", "chunk-0000000-4.json"])
def test_a_forged_larger_manifest_never_deletes_real_ones(copy: Path, name: str) -> None:
    real = manifests(copy)
    count = int(name.split("-")[2].split(".")[0])
    (copy / MANIFEST_DIR / name).write_text(json.dumps({"first": 0, "count": count, "files": {}}))
    assert generate(copy, 4) == 0
    assert {k: v for k, v in manifests(copy).items() if k != name} == real
    problems = verify_dataset(copy, count=4).problems
    assert problems and all(name in p for p in problems), problems


def test_a_forged_manifest_of_a_missing_chunk_is_rewritten_not_trusted(copy: Path) -> None:
    real = manifests(copy)
    path = manifest_path(copy, Chunk(4, 2))
    path.write_text(json.dumps({"first": 4, "count": 2, "files": {}}))
    assert generate(copy, 6) == 0
    assert verify_dataset(copy, count=6).ok
    assert all(manifests(copy)[k] == v for k, v in real.items())


def test_a_huge_count_in_a_manifest_name_costs_nothing(copy: Path) -> None:
    name = "chunk-0000000-100000000000.json"
    (copy / MANIFEST_DIR / name).write_text("{}")
    began = time.perf_counter()
    problems = verify_dataset(copy).problems
    assert time.perf_counter() - began < 5
    assert any(name in p for p in problems)
    (copy / MANIFEST_DIR / name).write_text(
        json.dumps({"first": 0, "count": 100000000000, "files": {}})
    )
    began = time.perf_counter()
    assert any(name in p for p in verify_dataset(copy).problems)
    assert generate(copy, 4) == 0 and time.perf_counter() - began < 30
    assert (copy / MANIFEST_DIR / name).exists() and len(list_manifests(copy)) == 2


def test_verify_counts_missing_samples_of_a_huge_range(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.perf_counter()
    assert main(["verify", str(dataset), "--count", "1000000000000", "--quick"]) == 1
    assert time.perf_counter() - began < 5
    assert "999999999996 requested samples have no finished chunk: 4, 5, 6" in (
        capsys.readouterr().err
    )


def test_generate_refuses_a_count_it_cannot_keep_track_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    began = time.perf_counter()
    assert generate(out, 10000000000) == 2
    assert time.perf_counter() - began < 5
    assert "--chunk-size" in capsys.readouterr().err and not out.exists()
