"""Run logs: a CSV file (always), TensorBoard (when it imports) and a tqdm bar."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

LOG_NAME = "log.csv"


def _truncate_csv(path: Path, last_step: int) -> None:
    """Drop rows after ``last_step`` (written by a run killed after its last checkpoint)."""
    if not path.is_file():
        return
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and int(row[0]) <= last_step]
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(kept)


class RunLog:
    """Per-step records to ``OUT/log.csv``, ``OUT/tensorboard/`` and a progress bar.

    Parameters
    ----------
    out : run folder.
    columns : CSV columns after ``step``.
    start_step, steps : the bar's start and total; on resume, CSV rows after ``start_step``
        (from the killed run) are dropped first, so the log matches the checkpoint.
    progress : show the tqdm bar (on stderr).
    tensorboard : try ``torch.utils.tensorboard``; if it does not import, print one note.
    """

    def __init__(
        self,
        out: Path,
        columns: Sequence[str],
        *,
        start_step: int,
        steps: int,
        progress: bool = True,
        tensorboard: bool = True,
    ) -> None:
        self.path = out / LOG_NAME
        self.columns = ["step", *columns]
        if start_step == 0:
            self.path.unlink(missing_ok=True)
        else:
            _truncate_csv(self.path, start_step)
        new = not self.path.is_file()
        self._file = open(self.path, "a", newline="")  # closed in close()
        self._csv = csv.writer(self._file)
        if new:
            self._csv.writerow(self.columns)
        self.writer: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=start_step + 1)
            except ImportError:
                print("note: TensorBoard logging off (pip install tensorboard)", file=sys.stderr)
        self.bar = tqdm(total=steps, initial=start_step, disable=not progress, unit="step")

    def write(self, step: int, values: dict[str, float]) -> None:
        """Record step ``step`` (1-based: steps done)."""
        self._csv.writerow([step, *(_format(values.get(c)) for c in self.columns[1:])])
        self._file.flush()
        if self.writer is not None:
            for key, value in values.items():
                if value is not None:
                    self.writer.add_scalar(f"train/{key}", value, step)
        self.bar.set_postfix({k: values[k] for k in ("loss", "epe") if k in values}, refresh=False)

    def advance(self) -> None:
        """Move the bar one step."""
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
        self._file.close()
        if self.writer is not None:
            self.writer.close()


def _format(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
