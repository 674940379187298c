"""The first run on a machine says, before the kernels compile, why it is silent; once per
process; and the generate summary's time counts from the command's start."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from flowsynth.base import notes
from flowsynth.cli import main as cli

TINY = ["--set", "size=[32,48]", "--set", "objects.count=[1,2]"]


def test_a_cold_cache_is_announced_once_before_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "_said", set())
    monkeypatch.setattr(cli, "kernel_cache_is_cold", lambda: True)
    for name in ("a.png", "b.png"):
        args = ["preview", "ablation/boxes", *TINY, "--count", "1", "--out", str(tmp_path / name)]
        assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert err.startswith("note: compiling flowsynth's kernels once (cached in ")
    assert err.count("compiling flowsynth's kernels") == 1


def test_a_warm_cache_says_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "_said", set())
    monkeypatch.setattr(cli, "kernel_cache_is_cold", lambda: False)
    args = ["preview", "ablation/boxes", *TINY, "--count", "1", "--out", str(tmp_path / "p.png")]
    assert cli.main(args) == 0
    assert "compiling" not in capsys.readouterr().err


def test_the_cache_check_looks_for_numba_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert cli.kernel_cache_folders() == [tmp_path]
    assert cli.kernel_cache_is_cold()
    (tmp_path / "flowsynth" / "render").mkdir(parents=True)
    (tmp_path / "flowsynth" / "render" / "kernels.blend-1.py311.nbi").write_bytes(b"")
    assert not cli.kernel_cache_is_cold()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert [f.parent.name for f in cli.kernel_cache_folders()] == ["scene", "render", "deform"]


def test_the_generate_summary_counts_from_the_command_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "_said", set())

    def slow_cold_check() -> bool:  # stands in for the time compiling takes
        time.sleep(0.6)
        return True

    monkeypatch.setattr(cli, "kernel_cache_is_cold", slow_cold_check)
    out = tmp_path / "data"
    args = ["generate", "ablation/boxes", *TINY, "--out", str(out), "--count", "1"]
    assert cli.main([*args, "--workers", "1", "--preview", "0", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "compiling flowsynth's kernels" in captured.err
    seconds = float(re.search(r" in ([0-9.]+) s ", captured.out).group(1))  # type: ignore[union-attr]
    assert seconds >= 0.6
