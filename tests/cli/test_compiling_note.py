"""The first run on a machine says, before the kernels compile, why it is silent; once per
process; and the generate summary's time counts from the command's start."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flowsynth.base import compiled, notes
from flowsynth.cli import main as cli

TINY = ["--set", "size=[32,48]", "--set", "objects.count=[1,2]"]


def test_a_cold_cache_is_announced_once_before_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "_said", set())
    monkeypatch.setattr(compiled, "kernel_cache_is_cold", lambda: True)
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
    monkeypatch.setattr(compiled, "kernel_cache_is_cold", lambda: False)
    args = ["preview", "ablation/boxes", *TINY, "--count", "1", "--out", str(tmp_path / "p.png")]
    assert cli.main(args) == 0
    assert "compiling" not in capsys.readouterr().err


def test_the_note_names_where_the_kernels_are_cached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI asks ``base.compiled``; with ``$NUMBA_CACHE_DIR`` the note names that folder."""
    monkeypatch.setattr(notes, "_said", set())
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "cache"))
    cli._announce_compiling()
    assert f"(cached in {tmp_path / 'cache'})" in capsys.readouterr().err


def test_importing_the_command_line_imports_no_numba() -> None:
    """``flowsynth --help`` and the commands that render nothing do not pay for numba."""
    code = "import sys, flowsynth.cli.main; print('numba' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_generate_summary_counts_from_the_command_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "_said", set())

    def slow_cold_check() -> bool:  # stands in for the time compiling takes
        time.sleep(0.6)
        return True

    monkeypatch.setattr(compiled, "kernel_cache_is_cold", slow_cold_check)
    out = tmp_path / "data"
    args = ["generate", "ablation/boxes", *TINY, "--out", str(out), "--count", "1"]
    assert cli.main([*args, "--workers", "1", "--preview", "0", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "compiling flowsynth's kernels" in captured.err
    seconds = float(re.search(r" in ([0-9.]+) s ", captured.out).group(1))  # type: ignore[union-attr]
    assert seconds >= 0.6
