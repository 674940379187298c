"""The segmentation ablation's results: results.json, results.md (verdict first), results.png
(held-out learning curves, mean over seeds) and results-<dataset>.png (final values with their
95 % intervals over seeds)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth.ablation.report import plot, stat_cell, summarise
from flowsynth.ablation.segclaims import Claim, claim_sentence, claims, paired_reading, tally
from flowsynth.ablation.segpresets import DATASETS, LOWER_IS_BETTER, Row, SegmentationPreset
from flowsynth.ablation.stats import (
    CONTRADICTED,
    NOT_RESOLVED,
    REPRODUCED,
    Cell,
    Statistics,
    cells,
    rank_stability,
    sample_bootstrap_intervals,
)
from flowsynth.io.atomic import atomic_write_bytes


def analyse_dataset(
    name: str, rows: Sequence[str], records: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Summary, cells (t-intervals over seeds, paired bootstrap over images), rank stability,
    claims and the budget reading of one dataset's runs."""
    data = DATASETS[name]
    runs = [r for r in records if r["dataset"] == name]
    metrics = list(data.metrics)
    bootstrap = sample_bootstrap_intervals(runs, rows, metrics, np.random.default_rng(0))
    table = cells(runs, rows, metrics, {}, bootstrap)
    found = claims(runs, name, [Row.parse(r) for r in rows], metrics)
    return {
        "summary": summarise(runs, rows, metrics),
        "cells": table,
        "stability": {m: rank_stability(runs, m) for m in metrics},
        "claims": found,
        "curves": mean_curves(runs, rows),
        "budget": [
            line
            for metric in dict.fromkeys([metrics[0], *(m for m in metrics if m == "rand_error")])
            for line in budget_reading(runs, rows, metric)
        ],
    }


def mean_curves(
    runs: Sequence[Mapping[str, Any]], rows: Sequence[str]
) -> dict[str, dict[str, list[list[float]]]]:
    """``{row: {heldout_<metric>: [[step, mean over seeds], ...]}}`` at the steps every seed
    measured."""
    result: dict[str, dict[str, list[list[float]]]] = {}
    for row in rows:
        curves = [r.get("curve", {}) for r in runs if r["row"] == row]
        names = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
        result[row] = {}
        for column in names:
            by_step: dict[float, list[float]] = {}
            for curve in curves:
                for step, value in curve[column]:
                    by_step.setdefault(step, []).append(value)
            result[row][column] = [
                [step, float(np.mean(values))]
                for step, values in sorted(by_step.items())
                if len(values) == len(curves)
            ]
    return result


#: A held-out curve that ends this far below its best (IoU, AUC, Rand error: absolute) has
#: turned down: the model overfits. Within it, the curve has levelled off.
OVERFIT_DROP = 0.01


def budget_reading(
    runs: Sequence[Mapping[str, Any]], rows: Sequence[str], metric: str
) -> list[str]:
    """For each unaugmented row: where its held-out curve (mean over seeds) peaked and where it
    ended, i.e. whether the budget reached the regime where it overfits."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    lines = []
    for row, curves in mean_curves(runs, rows).items():
        points = curves.get(f"heldout_{metric}", [])
        if not row.startswith("none-") or len(points) < 2:
            continue
        best = max(points, key=lambda point: sign * point[1])
        last = points[-1]
        drop = sign * (best[1] - last[1])
        if best[0] == last[0]:
            state = (
                f"still improving at the last step {last[0]:.0f} ({last[1]:.3f}): the unaugmented "
                "model has not started to overfit; more steps are needed to reach the regime of "
                "the claim"
            )
        elif drop > OVERFIT_DROP:
            state = (
                f"was best at step {best[0]:.0f} ({best[1]:.3f}) and worsened to {last[1]:.3f} by "
                f"step {last[0]:.0f}: the unaugmented model overfits within the budget"
            )
        else:
            state = (
                f"levelled off: its best was {best[1]:.3f} at step {best[0]:.0f}, and it ended "
                f"within {OVERFIT_DROP} of it ({last[1]:.3f}): the budget reaches the plateau, "
                "not yet the fall"
            )
        lines.append(f"{row}: held-out {metric} {state}.")
    return lines


def _verdict(analyses: Mapping[str, Mapping[str, Any]]) -> str:
    """The paragraph at the top of results.md."""
    found: list[Claim] = [c for a in analyses.values() for c in a["claims"]]
    counts = tally(found)
    parts = [
        f"{counts[REPRODUCED]} of {len(found)} claims reproduced, {counts[CONTRADICTED]} "
        f"contradicted, {counts[NOT_RESOLVED]} not resolved (95 % intervals over seeds overlap, "
        "or fewer than 2 seeds)."
    ]
    for name in analyses:
        mine = [c for c in found if c.dataset == name]
        title = DATASETS[name].title
        main = DATASETS[name].metrics[0]
        for claim in mine:
            if claim.metric == main and not claim.text.startswith("the weighted loss"):
                parts.append(f"{title}: {claim.text} ({main}): {claim.verdict}.")
        weighted = [c for c in mine if c.text.startswith("the weighted loss")]
        if weighted:
            done = tally(weighted)
            parts.append(
                f"{title}: the weighted loss lowers the Rand error in {done[REPRODUCED]} of "
                f"{len(weighted)} comparisons, raises it in {done[CONTRADICTED]}, "
                f"{done[NOT_RESOLVED]} not resolved."
            )
    paired = [(c, paired_reading(c)) for c in found]
    readings = [
        f"{DATASETS[c.dataset].title}: {c.text} ({c.metric}) {reading[:-1]}ed"
        for c, reading in paired
        if reading
    ]
    if readings:
        parts.append(
            "Read by the per-seed paired differences alone (tighter, since rows share seeds; "
            "not counted above): " + "; ".join(readings) + "."
        )
    return " ".join(parts)


def _dataset_lines(name: str, analysis: Mapping[str, Any], seeds: int) -> list[str]:
    data = DATASETS[name]
    metrics = list(data.metrics)
    table: Mapping[str, Mapping[str, Cell]] = analysis["cells"]
    lines = [
        f"## {data.title} (evaluated on {data.held_out})",
        "",
        "Mean [95 % t-interval over seeds] boot [paired bootstrap over images of the per-image "
        "values]; lower is better for " + ", ".join(sorted(LOWER_IS_BETTER & set(metrics))) + ".",
        "",
        "| row | " + " | ".join(metrics) + " |",
        "|" + "---|" * (len(metrics) + 1),
    ]
    for row, values in table.items():
        label = Row.parse(row).label(data.unit)
        lines.append(f"| {label} | " + " | ".join(stat_cell(values[m], 3) for m in metrics) + " |")
    taus = analysis["stability"]
    measured = [f"{m} {t:+.2f}" for m, t in taus.items() if t is not None]
    lines += [
        "",
        "Rank stability over seeds (mean Kendall tau): "
        + (", ".join(measured) if measured else f"not measured ({seeds} seed)")
        + ".",
        "",
        "Claims:",
        "",
    ]
    lines += [f"- {claim_sentence(c)}" for c in analysis["claims"]] or ["- none testable"]
    if analysis["budget"]:
        lines += ["", "Budget, read from the held-out curves:", ""]
        lines += [f"- {line}" for line in analysis["budget"]]
    return lines + [""]


def markdown(
    header: Mapping[str, Any],
    analyses: Mapping[str, Mapping[str, Any]],
    settings: SegmentationPreset,
) -> str:
    """results.md: verdict, then per dataset the table, rank stability, claims and budget."""
    seeds = int(header["seeds"])
    lines = ["# Segmentation ablation: augmentation x training-set size x loss", ""]
    lines += [_verdict(analyses), ""]
    for name, analysis in analyses.items():
        lines += _dataset_lines(name, analysis, seeds)
    lines += [
        f"Preset `{settings.name}`: {settings.description}. U-Net x{settings.width}, batch "
        f"{settings.batch}, {settings.crop[0]}x{settings.crop[1]} crops, lr {settings.lr}; "
        f"{seeds} seed(s) per row; rows share the seeds of initialisation, data order and "
        "augmentation. IoU, Dice and AUC of the foreground class (ISBI: cells; DRIVE: vessels, "
        "inside the field of view); pooled over the held-out pixels. Curves (results.png): "
        f"{settings.measurements} measurements a run, on the first "
        f"{settings.curve_images or 'all'} held-out images, of the weights evaluated"
        + (f" (weight average, decay {settings.ema})." if settings.ema else "."),
        f"Wall time of this call: {float(header['seconds']) / 60:.1f} min (finished runs are "
        "not run again); the runs themselves took "
        f"{float(header.get('run_seconds', header['seconds'])) / 60:.1f} min in all, "
        f"{settings.parallel} at a time.",
    ]
    return "\n".join(lines) + "\n"


def plot_curves(path: Path, analyses: Mapping[str, Mapping[str, Any]]) -> Path:
    """results.png: per dataset and held-out metric, one line per row (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        (name, column)
        for name, analysis in analyses.items()
        for column in sorted({c for curves in analysis["curves"].values() for c in curves})
    ]
    figure, axes = plt.subplots(
        1, max(len(panels), 1), figsize=(5.0 * max(len(panels), 1), 4.0), squeeze=False
    )
    for axis, (name, column) in zip(axes[0], panels, strict=False):
        data = DATASETS[name]
        for row, curves in analyses[name]["curves"].items():
            points = curves.get(column)
            if points:
                steps, values = zip(*points, strict=True)
                parsed = Row.parse(row)
                style = {"elastic": "-", "none": "--"}.get(parsed.augment, ":")
                axis.plot(steps, values, style, marker=".", label=row)
        axis.set_title(f"{data.title}: {column}", fontsize=9)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=6)
    figure.tight_layout()
    temporary = path.with_name(f".{path.name}.tmp.png")
    figure.savefig(temporary, dpi=100)
    plt.close(figure)
    os.replace(temporary, path)
    return path


def write_results(
    folder: Path,
    header: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    settings: SegmentationPreset,
) -> dict[str, Any]:
    """Write results.json, results.md, results.png and results-<dataset>.png; the results."""
    plan: Mapping[str, Sequence[str]] = header["rows"]
    analyses = {name: analyse_dataset(name, rows, records) for name, rows in plan.items()}
    results = {
        **header,
        "verdict": _verdict(analyses),
        "datasets": {
            name: {
                "summary": a["summary"],
                "statistics": {
                    "cells": {
                        r: {c: asdict(v) for c, v in row.items()} for r, row in a["cells"].items()
                    },
                    "rank_stability_kendall_tau": a["stability"],
                    "claims": [c.to_json() for c in a["claims"]],
                },
                "budget": a["budget"],
                "curves": a["curves"],
            }
            for name, a in analyses.items()
        },
        "runs": list(records),
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    atomic_write_bytes(folder / "results.md", markdown(header, analyses, settings).encode())
    plot_curves(folder / "results.png", analyses)
    for name, analysis in analyses.items():
        data = DATASETS[name]
        plot(
            folder / f"results-{name}.png",
            analysis["summary"],
            list(data.metrics),
            labels={r: Row.parse(r).label(data.unit) for r in analysis["summary"]},
            statistics=Statistics(analysis["cells"], analysis["stability"], [], {}, ""),
            ylabel="value",
            title=f"U-Net on {data.title}: final held-out values (95 % intervals over seeds)",
        )
    return results
