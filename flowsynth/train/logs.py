"""Run logs: a CSV file (always), TensorBoard (when it imports), a tqdm bar, and at the end a
PNG of the curves (when matplotlib imports)."""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from flowsynth.base.notes import note_once
from flowsynth.io.atomic import atomic_write_bytes

LOG_NAME = "log.csv"
CURVES_NAME = "curves.png"
#: The columns drawn by :func:`write_curves`, each in its own panel, when the log has them.
CURVE_COLUMNS = (
    "loss",
    "epe",
    "d1",
    "pixel_error",
    "dice",
    "heldout_iou",
    "heldout_rand_error",
)


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


def _match_columns(path: Path, columns: Sequence[str]) -> None:
    """Rewrite ``path`` with ``columns`` as its header when a resumed run logs other columns
    (e.g. held-out measurements added on resume); each earlier row keeps its values by name."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
        header = rows[0].keys() if rows else None
    if header is None or list(header) == list(columns):
        if header is None:
            path.unlink()  # empty or header-only: written anew
        return
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


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
        if self.path.is_file():
            _match_columns(self.path, self.columns)
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

    def write(self, step: int, values: Mapping[str, float | None]) -> None:
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


def read_log(path: Path) -> dict[str, list[tuple[int, float]]]:
    """``log.csv`` as ``{column: [(step, value), ...]}``, empty cells left out."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    columns: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, text in row.items():
            if key != "step" and key is not None and text:
                columns.setdefault(key, []).append((int(row["step"]), float(text)))
    return columns


def write_curves(out: Path) -> Path | None:
    """Draw ``OUT/log.csv``'s loss and metric columns (those in ``CURVE_COLUMNS``) against the
    step into ``OUT/curves.png``, one panel each; the loss on a log scale when it spans more
    than a factor of ten.

    Returns the PNG's path, or None (with a note once per process) when matplotlib is not
    installed, and None when the log has no rows.
    """
    try:
        from matplotlib.figure import Figure  # a Figure of its own: no global backend switch
    except ImportError:
        note_once("curves", f"no {CURVES_NAME} (pip install matplotlib to draw the curves)")
        return None
    path = out / LOG_NAME
    columns = read_log(path) if path.is_file() else {}
    shown = [c for c in CURVE_COLUMNS if columns.get(c)]
    if not shown:
        return None
    figure = Figure(figsize=(4.0 * len(shown), 3.2))
    axes = figure.subplots(1, len(shown), squeeze=False)[0]
    for axis, column in zip(axes, shown, strict=True):
        steps, values = zip(*columns[column], strict=True)
        axis.plot(steps, values, marker="." if len(steps) < 50 else None)
        axis.set_xlabel("step")
        axis.set_ylabel(column + (" (px)" if column == "epe" else ""))
        finite = [v for v in values if math.isfinite(v)]
        if column == "loss" and finite and min(finite) > 0 and max(finite) > 10 * min(finite):
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    figure.suptitle(f"{out.name}: training curves ({LOG_NAME})", fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    target = out / CURVES_NAME
    atomic_write_bytes(target, buffer.getvalue())
    return target
