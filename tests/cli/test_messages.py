"""What the command line says when a newcomer gets something wrong: one test per message,
each checking the exit code, the words and that nothing was written."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from flowsynth.cli.main import main

TINY = ["--set", "size=[32,48]", "--set", "objects.count=[2,3]"]
QUIET = ["--workers", "1", "--no-progress", "--preview", "0"]


def _generate(out: Path, *extra: str) -> int:
    return main(["generate", "default", "--out", str(out), "--count", "2", *QUIET, *TINY, *extra])


def test_count_zero_is_refused_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert main(["generate", "default", "--out", str(out), "--count", "0", *QUIET]) == 2
    assert "--count must be >= 1" in capsys.readouterr().err
    assert not out.exists()


def test_an_existing_file_as_out_is_refused_without_a_resume_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")
    assert _generate(readme) == 2
    error = capsys.readouterr().err
    assert "is a file, not a folder" in error and "resume" not in error
    assert readme.read_text() == "# notes\n"


def test_a_missing_data_root_is_named_as_the_flag_and_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWSYNTH_DATA_ROOT", raising=False)
    args = ["evaluate", "--zero-flow", "--dataset", "kitti2015", "--out", str(tmp_path / "r.json")]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "--data-root" in error and "FLOWSYNTH_DATA_ROOT" in error
    assert "data_root=..." not in error


def test_a_recipe_or_seed_mismatch_says_which_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert _generate(out) == 0
    capsys.readouterr()
    assert _generate(out, "--seed", "1") == 2
    error = capsys.readouterr().err
    assert "its seed is 0, this run's 1" in error and "its recipe" not in error
    assert _generate(out, "--set", "objects.count=[3,4]") == 2
    error = capsys.readouterr().err
    assert "its recipe is" in error and "its seed" not in error
    assert re.search(r"[0-9a-f]{13}", error) is None  # short hashes, no raw dicts
    assert "{" not in error


def test_a_missing_texture_folder_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent"
    assert _generate(tmp_path / "data", "--textures", str(missing)) == 2
    assert f"--textures {missing}: the folder does not exist" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_preview_refuses_a_suffix_other_than_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.jpg"
    assert main(["preview", "default", "--out", str(out), "--count", "1", *TINY]) == 2
    assert "name it *.png" in capsys.readouterr().err and not out.exists()


def test_a_full_disk_names_the_folder_and_says_to_free_space(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import flowsynth.dataset.write as write

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write, "generate_dataset", full)
    out = tmp_path / "data"
    assert _generate(out) == 2
    error = capsys.readouterr().err
    assert f"No space left on device (writing into {out})" in error
    assert "free some space, then run the same command again to resume" in error


def test_chunk_size_zero_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    assert _generate(out, "--chunk-size", "0") == 2
    assert "--chunk-size must be >= 1" in capsys.readouterr().err
    assert not out.exists()
