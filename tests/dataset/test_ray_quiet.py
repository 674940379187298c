"""A local Ray instance keeps off the terminal: while it runs, stderr carries only flowsynth's
progress bar (and notes), stdout only the summary, and the ``ray`` logger keeps its level."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowsynth.dataset.write import generate_dataset
from flowsynth.recipe.load import load_recipe
from tests.dataset.helpers import REPO

ray = pytest.importorskip("ray", reason="ray is not installed")

TINY = ["size=[32,48]", "objects.count=[1,2]"]
BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")  # tqdm's line: " 50%|#####     | 2/4 [00:01<...]"


def foreign_lines(stderr: str) -> list[str]:
    """The pieces of ``stderr`` (split at carriage returns too) that are not flowsynth's."""
    pieces = [piece.strip() for piece in re.split(r"[\r\n]", stderr)]
    return [p for p in pieces if p and not BAR.match(p) and not p.startswith("note: ")]


def test_the_command_line_shows_only_its_bar_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "data"
    args = ["generate", "ablation/boxes", "--out", str(out), "--count", "4", "--preview", "0"]
    args += ["--executor", "ray", "--workers", "2", "--chunk-size", "2"]
    args += [arg for setting in TINY for arg in ("--set", setting)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "flowsynth", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert foreign_lines(result.stderr) == []
    assert "4/4 [" in result.stderr  # the bar itself was drawn
    assert result.stdout.startswith("wrote 4 samples") and result.stdout.count("\n") == 1


class Records(logging.Handler):
    """Keeps every record that reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_library_logs_nothing_through_ray_and_restores_its_logger(tmp_path: Path) -> None:
    """In this process: the ``ray`` logger passes no record while the local instance runs (its
    handler may write to a stream captured before the test, so records are checked, not text),
    and gets back the level it had."""
    logger = logging.getLogger("ray")
    before, records = logger.level, Records()
    logger.setLevel(logging.DEBUG)
    logger.addHandler(records)
    try:
        recipe = load_recipe("ablation/boxes", TINY)
        summary = generate_dataset(recipe, 0, tmp_path, count=2, chunk_size=1, executor="ray")
        assert summary.written == 2 and not ray.is_initialized()
        assert logger.level == logging.DEBUG
    finally:
        logger.removeHandler(records)
        logger.setLevel(before)
    assert [r.getMessage() for r in records.records] == []
