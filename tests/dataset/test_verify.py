"""``flowsynth verify``: a good dataset passes; every deleted, cut, altered or foreign file is
named and fails the check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.io.layout import METADATA_NAME, file_name
from flowsynth.io.manifest import Chunk, manifest_path
from tests.render.helpers import SMALL

SETS = [arg for s in SMALL for arg in ("--set", s)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "data"
    args = ["generate", "default", "--out", str(out), "--count", "4", "--chunk-size", "2"]
    assert main([*args, "--workers", "1", "--no-progress", "--preview", "1", *SETS]) == 0
    return out


@pytest.fixture
def copy(dataset: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(dataset, tmp_path / "data"))


def verify(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["verify", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_an_intact_dataset_passes_with_a_summary(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = verify(dataset, capsys, "--count", "4")
    assert code == 0
    assert "OK" in text and "4 samples" in text and "indices 0-3" in text
    assert verify(dataset, capsys, "--quick")[0] == 0


def test_a_deleted_file_is_named(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / file_name(1, "flow_01.flo")).unlink()
    code, text = verify(copy, capsys)
    assert code == 1 and "0000001-flow_01.flo: missing" in text


def test_a_truncated_file_is_named(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = copy / file_name(2, "img_1.png")
    path.write_bytes(path.read_bytes()[:100])
    code, text = verify(copy, capsys, "--quick")
    assert code == 1 and "0000002-img_1.png: 100 bytes" in text


def test_an_altered_file_of_the_same_size_is_named(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = copy / file_name(3, "flow_10.flo")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert verify(copy, capsys, "--quick")[0] == 0  # sizes only: not seen
    code, text = verify(copy, capsys)
    assert code == 1 and "0000003-flow_10.flo: corrupt" in text and "1 problem\n" in text


def test_foreign_and_temporary_files_are_named(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (copy / "notes.txt").write_text("mine")
    (copy / file_name(9, "img_0.png")).write_bytes(b"x")
    (copy / ".0000001-img_0.png.77.1.0.tmp").write_bytes(b"x")
    (copy / "manifest" / "old.json").write_text("{}")
    code, text = verify(copy, capsys)
    assert code == 1
    for name in ("notes.txt", "0000009-img_0.png", ".0000001-img_0.png.77.1.0.tmp", "old.json"):
        assert name in text
    assert "4 problems" in text


def test_missing_chunks_and_a_wrong_recipe_are_reported(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = verify(copy, capsys, "--count", "6")
    assert code == 1 and "2 requested samples" in text
    manifest_path(copy, Chunk(2, 2)).unlink()
    report = verify_dataset(copy)
    assert not report.ok and any("0000002-img_0.png: extra file" in p for p in report.problems)
    meta = json.loads((copy / METADATA_NAME).read_text())
    meta["recipe"]["objects"]["count"] = [1, 2]
    (copy / METADATA_NAME).write_text(json.dumps(meta))
    assert any("recipe_hash" in p for p in verify_dataset(copy).problems)


def test_a_manifest_of_another_seed_is_reported(copy: Path) -> None:
    path = manifest_path(copy, Chunk(0, 2))
    manifest = json.loads(path.read_text())
    manifest["seed"] = 99
    path.write_text(json.dumps(manifest))
    problems = verify_dataset(copy).problems
    assert len(problems) == 1 and "seed 99" in problems[0] and path.name in problems[0]


def test_a_missing_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = verify(tmp_path / "nothing", capsys)
    assert code == 2 and "no dataset folder" in text
