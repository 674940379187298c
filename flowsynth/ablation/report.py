"""Ablation tables: mean and spread over seeds, the paper beside ours, rank correlation, a plot.

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
    notes: Sequence[str] = (),
    digits: int = 3,
) -> str:
    """A Markdown report: one row per ablation row, ``mean ± std`` per column."""
    labels = labels or {}
    reference_columns = sorted({c for v in (reference or {}).values() for c in v})
    header = ["row", *columns, *(f"{reference_name} {c}" for c in reference_columns)]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    for row, values in table.items():
        cells = [labels.get(row, row), *(_cell(values[c], digits) for c in columns)]
        paper = (reference or {}).get(row, {})
        cells += [f"{paper[c]:.2f}" if c in paper else "-" for c in reference_columns]
        lines.append("| " + " | ".join(cells) + " |")
    if baseline is not None:
        cells = [
            "zero flow",
            *(f"{baseline[c]:.{digits}f}" if baseline.get(c) is not None else "-" for c in columns),
        ]
        lines.append("| " + " | ".join(cells + ["-"] * len(reference_columns)) + " |")
    if correlations:
        lines += ["", f"Spearman rank correlation over rows with the {reference_name}:", ""]
        lines.append("| ours \\ " + reference_name + " | " + " | ".join(reference_columns) + " |")
        lines.append("|" + "---|" * (len(reference_columns) + 1))
        for column, ranks in correlations.items():
            cells = [
                f"{ranks[c]:+.2f}" if ranks.get(c) is not None else "-" for c in reference_columns
            ]
            lines.append(f"| {column} | " + " | ".join(cells) + " |")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def plot(
    path: str | os.PathLike[str],
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    columns: Sequence[str],
    *,
    labels: Mapping[str, str] | None = None,
    baseline: Mapping[str, float | None] | None = None,
    ylabel: str = "EPE (px)",
    title: str = "",
) -> Path:
    """Bars with error bars (std over seeds): one panel per column, one bar per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or {}
    rows = list(table)
    figure, axes = plt.subplots(
        1, len(columns), figsize=(max(4.0, 0.45 * len(rows)) * len(columns), 4.2), squeeze=False
    )
    for axis, column in zip(axes[0], columns, strict=True):
        means = [table[r][column]["mean"] or 0.0 for r in rows]
        stds = [table[r][column]["std"] or 0.0 for r in rows]
        axis.bar(range(len(rows)), means, yerr=stds, capsize=3, color="#4c78a8")
        if baseline is not None and baseline.get(column) is not None:
            axis.axhline(baseline[column], color="#e45756", linestyle="--", label="zero flow")
            axis.legend(loc="upper right", fontsize=8)
        axis.set_xticks(range(len(rows)))
        axis.set_xticklabels([labels.get(r, r) for r in rows], rotation=60, ha="right", fontsize=8)
        axis.set_title(column, fontsize=10)
        axis.set_ylabel(ylabel)
        finite = [m for m in means if m > 0]
        if finite:
            low = min(finite) - 2 * max(stds + [0.0])
            axis.set_ylim(bottom=max(0.0, low * 0.95))
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp.png")
    figure.savefig(temporary, dpi=110)
    plt.close(figure)
    os.replace(temporary, out)
    return out
