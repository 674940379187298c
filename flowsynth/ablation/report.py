"""Ablation tables: mean and spread over seeds, the paper beside ours, rank correlation, a plot;
with :class:`~flowsynth.ablation.stats.Statistics`, a verdict, intervals and paper orderings.

Input is a list of per-run records ``{"row", "seed", "values": {column: number}}``; the same
code serves the flow ablation (columns = evaluation datasets, values = EPE) and the segmentation
ablation (columns = metrics).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth.ablation.stats import VERDICTS, Cell, Interval, Statistics


def summarise(
    runs: Sequence[Mapping[str, Any]], rows: Sequence[str], columns: Sequence[str]
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """``{row: {column: {"mean", "std", "n"}}}`` over the runs' seeds (std: sample, n-1)."""
    table: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for row in rows:
        table[row] = {}
        for column in columns:
            values = [
                float(run["values"][column])
                for run in runs
                if run["row"] == row and run["values"].get(column) is not None
            ]
            mean = float(np.mean(values)) if values else None
            std = float(np.std(values, ddof=1)) if len(values) > 1 else None
            table[row][column] = {"mean": mean, "std": std, "n": len(values)}
    return table


def spearman(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    reference: Mapping[str, Mapping[str, float]],
    columns: Sequence[str],
) -> dict[str, dict[str, float | None]]:
    """Spearman rank correlation of each of our columns with each reference column over rows."""
    from scipy.stats import spearmanr

    rows = [r for r in table if r in reference]
    result: dict[str, dict[str, float | None]] = {}
    reference_columns = sorted({c for values in reference.values() for c in values})
    for column in columns:
        ours = [table[r][column]["mean"] for r in rows]
        result[column] = {}
        for paper_column in reference_columns:
            pairs = [
                (o, reference[r][paper_column])
                for o, r in zip(ours, rows, strict=True)
                if o is not None and paper_column in reference[r]
            ]
            if len(pairs) < 3:
                result[column][paper_column] = None
                continue
            rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
            result[column][paper_column] = None if math.isnan(rho) else float(rho)
    return result


def _cell(entry: Mapping[str, Any], digits: int) -> str:
    if entry.get("mean") is None:
        return "-"
    text = f"{entry['mean']:.{digits}f}"
    if entry.get("std") is not None:
        text += f" ± {entry['std']:.{digits}f}"
    return text


def _row_lines(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    columns: Sequence[str],
    labels: Mapping[str, str],
    reference: Mapping[str, Mapping[str, float]],
    reference_columns: Sequence[str],
    digits: int,
) -> list[str]:
    lines = []
    for row, values in table.items():
        cells = [labels.get(row, row), *(_cell(values[c], digits) for c in columns)]
        paper = reference.get(row, {})
        cells += [f"{paper[c]:.2f}" if c in paper else "-" for c in reference_columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _baseline_line(
    baseline: Mapping[str, float | None], columns: Sequence[str], extra: int, digits: int
) -> str:
    cells = [
        "zero flow",
        *(f"{baseline[c]:.{digits}f}" if baseline.get(c) is not None else "-" for c in columns),
    ]
    return "| " + " | ".join(cells + ["-"] * extra) + " |"


def _correlation_lines(
    correlations: Mapping[str, Mapping[str, float | None]],
    reference_columns: Sequence[str],
    reference_name: str,
) -> list[str]:
    lines = ["", f"Spearman rank correlation over rows with the {reference_name}:", ""]
    lines.append("| ours \\ " + reference_name + " | " + " | ".join(reference_columns) + " |")
    lines.append("|" + "---|" * (len(reference_columns) + 1))
    for column, ranks in correlations.items():
        cells = [f"{ranks[c]:+.2f}" if ranks.get(c) is not None else "-" for c in reference_columns]
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return lines


def _interval(interval: Interval | None, digits: int) -> str:
    return "" if interval is None else f" [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"


def stat_cell(cell: Cell, digits: int) -> str:
    if cell.mean is None:
        return "-"
    text = f"{cell.mean:.{digits}f}{_interval(cell.ci, digits)}"
    if cell.bootstrap is not None:
        text += f" boot{_interval(cell.bootstrap, digits)}"
    if cell.relative is not None:
        text += f" ({cell.relative:.2f}x zero)"
    return text


def statistics_lines(
    statistics: Statistics, columns: Sequence[str], labels: Mapping[str, str], digits: int = 3
) -> list[str]:
    """Markdown: mean [95 % t-interval over seeds] (x zero flow) per cell, then the paper
    orderings per column and the rank stability."""
    lines = [
        "",
        "Mean [95 % t-interval over seeds] boot [paired bootstrap over images, where per-image "
        "values exist] (EPE / zero-flow EPE):",
        "",
        "| row | " + " | ".join(columns) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for row, values in statistics.cells.items():
        cells = [stat_cell(values[c], digits) for c in columns]
        lines.append(f"| {labels.get(row, row)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paper orderings (row pairs) per column: the paper's column of the same name, else the "
        "pairs all the paper's columns agree on; reproduced / contradicted when the 95 % "
        "intervals over seeds are apart. Rank stability: mean Kendall tau between seeds.",
        "",
    ]
    lines += ["| column | " + " | ".join(VERDICTS) + " | tau |", "|" + "---|" * (len(VERDICTS) + 2)]
    for column in columns:
        counts = statistics.counts.get(column, dict.fromkeys(VERDICTS, 0))
        tau = statistics.stability.get(column)
        cells = [str(counts[v]) for v in VERDICTS] + ["-" if tau is None else f"{tau:+.2f}"]
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    return lines


def markdown(
    title: str,
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    columns: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    baseline: Mapping[str, float | None] | None = None,
    reference: Mapping[str, Mapping[str, float]] | None = None,
    reference_name: str = "paper",
    correlations: Mapping[str, Mapping[str, float | None]] | None = None,
    statistics: Statistics | None = None,
    notes: Sequence[str] = (),
    digits: int = 3,
) -> str:
    """A Markdown report: the verdict (with ``statistics``), then one row per ablation row,
    ``mean ± std`` per column, then correlations and the statistics tables."""
    labels = labels or {}
    reference = reference or {}
    reference_columns = sorted({c for v in reference.values() for c in v})
    header = ["row", *columns, *(f"{reference_name} {c}" for c in reference_columns)]
    lines = [f"# {title}", ""]
    if statistics is not None:
        lines += [statistics.verdict, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += _row_lines(table, columns, labels, reference, reference_columns, digits)
    if baseline is not None:
        lines.append(_baseline_line(baseline, columns, len(reference_columns), digits))
    if correlations:
        lines += _correlation_lines(correlations, reference_columns, reference_name)
    if statistics is not None:
        lines += statistics_lines(statistics, columns, labels, digits)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def error_bars(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    column: str,
    statistics: Statistics | None = None,
) -> list[tuple[float, float]]:
    """(below, above) error bar lengths per row: the 95 % t-interval with ``statistics``, else
    the std; zero where a row has fewer than 2 seeds."""
    bars = []
    for row, values in table.items():
        entry = values[column]
        cell = statistics.cells.get(row, {}).get(column) if statistics is not None else None
        if (entry.get("n") or 0) < 2 or entry.get("mean") is None:
            bars.append((0.0, 0.0))
        elif cell is not None and cell.ci is not None:
            bars.append((entry["mean"] - cell.ci.low, cell.ci.high - entry["mean"]))
        else:
            bars.append((entry.get("std") or 0.0, entry.get("std") or 0.0))
    return bars


def _panel(
    axis: Any,
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    column: str,
    labels: Mapping[str, str],
    baseline: Mapping[str, float | None] | None,
    statistics: Statistics | None,
) -> None:
    rows = list(table)
    means = [table[r][column]["mean"] or 0.0 for r in rows]
    bars = error_bars(table, column, statistics)
    multi = any(b != (0.0, 0.0) for b in bars)
    yerr = np.asarray(bars, dtype=np.float64).T if multi else None
    axis.bar(range(len(rows)), means, yerr=yerr, capsize=3, color="#4c78a8")
    if baseline is not None and baseline.get(column) is not None:
        axis.axhline(baseline[column], color="#e45756", linestyle="--", label="zero flow")
        axis.legend(loc="upper right", fontsize=8)
    axis.set_xticks(range(len(rows)))
    axis.set_xticklabels([labels.get(r, r) for r in rows], rotation=60, ha="right", fontsize=8)
    axis.set_title(column, fontsize=10)
    axis.set_ylim(bottom=0.0)


def plot(
    path: str | os.PathLike[str],
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    columns: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    baseline: Mapping[str, float | None] | None = None,
    statistics: Statistics | None = None,
    ylabel: str = "EPE (px)",
    title: str = "",
) -> Path:
    """Bars from zero, one panel per column and one bar per row, with error bars (the 95 %
    interval over seeds with ``statistics``, else the std) only for rows with 2+ seeds, and a
    dashed zero-flow line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(4.0, 0.45 * len(table)) * len(columns)
    figure, axes = plt.subplots(1, len(columns), figsize=(width, 4.2), squeeze=False)
    for axis, column in zip(axes[0], columns, strict=True):
        _panel(axis, table, column, labels or {}, baseline, statistics)
        axis.set_ylabel(ylabel)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp.png")
    figure.savefig(temporary, dpi=110)
    plt.close(figure)
    os.replace(temporary, out)
    return out
