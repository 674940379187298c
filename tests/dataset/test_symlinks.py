"""Symbolic links planted in an output folder never redirect a write or a delete outside it:
``generate`` refuses them with an error naming the link, and what they point to is unchanged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.io.layout import file_name
from flowsynth.io.lock import LOCK_NAME
from flowsynth.io.manifest import MANIFEST_DIR
from tests.render.helpers import SMALL

SETS = [arg for s in SMALL for arg in ("--set", s)]


def generate(out: Path, count: int) -> int:
    args = ["generate", "default", "--out", str(out), "--count", str(count), "--chunk-size", "2"]
    return main([*args, "--workers", "1", "--no-progress", "--preview", "0", *SETS])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def two_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("links") / "data"
    assert generate(out, 2) == 0
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "sentinel").write_bytes(b"precious")
    (folder / ".0000000-img_0.png.1.1.0.tmp").write_bytes(b"not ours")
    (folder / "chunk-0000000-2.json").write_bytes(b"not ours either")
    return folder


def refused(capsys: pytest.CaptureFixture[str], code: int, name: str) -> None:
    err = capsys.readouterr().err
    assert code == 2 and "symbolic link" in err and name in err, err


@pytest.mark.parametrize(
    "name", [LOCK_NAME, "flowsynth.json", file_name(0, "img_0.png"), ".x.png.1.2.3.tmp"]
)
def test_a_link_in_a_new_folder_is_refused(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / "data"
    out.mkdir()
    before = snapshot(outside)
    (out / name).symlink_to(outside / "sentinel")
    refused(capsys, generate(out, 2), name)
    assert snapshot(outside) == before and (out / name).is_symlink()


def test_a_linked_manifest_folder_is_refused_on_resume(
    two_samples: Path, tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(shutil.copytree(two_samples, tmp_path / "data"))
    target = outside / "manifests"
    shutil.move(out / MANIFEST_DIR, target)
    (target / ".chunk-0000002-2.json.9.9.9.tmp").write_bytes(b"a temp name, not ours")
    (out / MANIFEST_DIR).symlink_to(target)
    before = {p.relative_to(outside): p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    refused(capsys, generate(out, 4), MANIFEST_DIR)
    after = {p.relative_to(outside): p.read_bytes() for p in outside.rglob("*") if p.is_file()}
    assert after == before
    report = verify_dataset(out)
    assert not report.ok and any("symbolic link" in p for p in report.problems)


@pytest.mark.parametrize("index", [0, 3])
def test_a_linked_sample_file_is_refused_on_resume(
    two_samples: Path,
    tmp_path: Path,
    outside: Path,
    capsys: pytest.CaptureFixture[str],
    index: int,
) -> None:
    """Index 0 is a finished sample (verify names it); index 3 one that resume would delete
    as unfinished, then write."""
    out = Path(shutil.copytree(two_samples, tmp_path / "data"))
    name = file_name(index, "flow_01.flo")
    (out / name).unlink(missing_ok=True)
    (out / name).symlink_to(outside / "sentinel")
    before = snapshot(outside)
    code = generate(out, 4)
    if index == 3:
        refused(capsys, code, name)
    assert snapshot(outside) == before
    problems = verify_dataset(out).problems
    assert any(name in p and ("symbolic link" in p or "regular file" in p) for p in problems)


def test_a_linked_temporary_name_in_the_manifest_folder_is_refused(
    two_samples: Path, tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(shutil.copytree(two_samples, tmp_path / "data"))
    name = ".chunk-0000002-2.json.1.1.0.tmp"
    (out / MANIFEST_DIR / name).symlink_to(outside / "sentinel")
    before = snapshot(outside)
    refused(capsys, generate(out, 4), name)
    assert snapshot(outside) == before


def test_a_lock_file_link_is_not_followed_even_when_dangling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    out.mkdir()
    target = tmp_path / "created-outside"
    os.symlink(target, out / LOCK_NAME)
    refused(capsys, generate(out, 1), LOCK_NAME)
    assert not target.exists()
