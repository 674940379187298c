"""What an ablation table resolves: intervals, EPE relative to zero flow, rank stability and
which of the paper's orderings are reproduced, contradicted or not resolved.

Input is the same list of per-run records as :mod:`flowsynth.ablation.report` reads,
``{"row", "seed", "values": {column: number}}``, optionally with ``"per_image": {column: [..]}``
(one value per evaluation image, the same images in the same order for every run). Everything
here is pure; the only function that draws random numbers is :func:`sample_paired_bootstrap`,
from the generator it is given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

REPRODUCED = "reproduced"
CONTRADICTED = "contradicted"
NOT_RESOLVED = "not resolved"
VERDICTS = (REPRODUCED, CONTRADICTED, NOT_RESOLVED)

#: Bootstrap resamples of the images (per-image values only).
BOOTSTRAP_DRAWS = 2000


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high


@dataclass(frozen=True)
class Cell:
    """One row and column: mean over seeds, its 95 % t-interval (None with one seed), a paired
    bootstrap interval over images (None without per-image values) and mean / zero flow."""

    mean: float | None
    n: int
    ci: Interval | None
    bootstrap: Interval | None
    relative: float | None


@dataclass(frozen=True)
class Ordering:
    """The paper has ``worse`` above ``better`` (higher EPE) in ``column``; what we find."""

    column: str
    worse: str
    better: str
    verdict: str


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval | None:
    """Two-sided Student-t interval of the mean; None with fewer than two values."""
    from scipy.stats import t

    if len(values) < 2:
        return None
    data = np.asarray(values, dtype=np.float64)
    half = t.ppf(0.5 + level / 2, len(data) - 1) * data.std(ddof=1) / math.sqrt(len(data))
    return Interval(float(data.mean() - half), float(data.mean() + half))


def sample_paired_bootstrap(
    per_image: Mapping[str, Sequence[float]],
    rng: np.random.Generator,
    draws: int = BOOTSTRAP_DRAWS,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Percentile intervals of each row's mean over images, every row resampled with the same
    image indices (paired: rows are compared on the same resampled image sets)."""
    if not per_image:
        return {}
    lengths = {len(v) for v in per_image.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"per-image values must have one common, non-zero length: {lengths}")
    count = lengths.pop()
    indices = rng.integers(0, count, size=(draws, count))
    tail = 50 * (1 - level)
    result = {}
    for row, values in per_image.items():
        means = np.asarray(values, dtype=np.float64)[indices].mean(axis=1)
        low, high = np.percentile(means, [tail, 100 - tail])
        result[row] = Interval(float(low), float(high))
    return result


def seed_values(runs: Sequence[Mapping[str, Any]], row: str, column: str) -> list[float]:
    """One value per run (seed) of ``row`` in ``column``, missing values left out."""
    return [
        float(run["values"][column])
        for run in runs
        if run["row"] == row and run["values"].get(column) is not None
    ]


def image_values(runs: Sequence[Mapping[str, Any]], row: str, column: str) -> list[float] | None:
    """Per-image values of ``row`` averaged over its seeds; None unless every run has them."""
    lists = [run.get("per_image", {}).get(column) for run in runs if run["row"] == row]
    if not lists or any(v is None or len(v) == 0 for v in lists):
        return None
    if len({len(v) for v in lists}) != 1:
        raise ValueError(f"runs of {row!r} have per-image {column!r} values of different lengths")
    return [float(x) for x in np.mean(np.asarray(lists, dtype=np.float64), axis=0)]


def sample_bootstrap_intervals(
    runs: Sequence[Mapping[str, Any]],
    rows: Sequence[str],
    columns: Sequence[str],
    rng: np.random.Generator,
) -> dict[str, dict[str, Interval]]:
    """``{column: {row: Interval}}``: paired bootstrap over images, rows with per-image values."""
    result = {}
    for column in columns:
        found = {row: image_values(runs, row, column) for row in rows}
        present = {row: values for row, values in found.items() if values is not None}
        result[column] = sample_paired_bootstrap(present, rng) if present else {}
    return result


def _ratio(value: float | None, zero: float | None) -> float | None:
    if value is None or zero is None or zero <= 0:
        return None
    return value / zero


def cells(
    runs: Sequence[Mapping[str, Any]],
    rows: Sequence[str],
    columns: Sequence[str],
    zero: Mapping[str, float | None],
    bootstrap: Mapping[str, Mapping[str, Interval]] | None = None,
) -> dict[str, dict[str, Cell]]:
    """``{row: {column: Cell}}``: mean, t-interval over seeds, bootstrap, mean / zero flow."""
    table: dict[str, dict[str, Cell]] = {}
    for row in rows:
        table[row] = {}
        for column in columns:
            values = seed_values(runs, row, column)
            mean = float(np.mean(values)) if values else None
            table[row][column] = Cell(
                mean=mean,
                n=len(values),
                ci=t_interval(values),
                bootstrap=(bootstrap or {}).get(column, {}).get(row),
                relative=_ratio(mean, zero.get(column)),
            )
    return table


def rank_stability(runs: Sequence[Mapping[str, Any]], column: str) -> float | None:
    """Mean Kendall tau, over pairs of seeds, between the seeds' rankings of the rows."""
    from scipy.stats import kendalltau

    by_seed: dict[int, dict[str, float]] = {}
    for run in runs:
        if run["values"].get(column) is not None:
            by_seed.setdefault(run["seed"], {})[run["row"]] = float(run["values"][column])
    taus = []
    for first, second in itertools.combinations(sorted(by_seed), 2):
        common = [r for r in by_seed[first] if r in by_seed[second]]
        if len(common) < 2:
            continue
        tau = kendalltau([by_seed[first][r] for r in common], [by_seed[second][r] for r in common])
        if not math.isnan(tau.statistic):
            taus.append(float(tau.statistic))
    return float(np.mean(taus)) if taus else None


def paper_orderings(
    reference: Mapping[str, Mapping[str, float]], column: str
) -> list[tuple[str, str]]:
    """(worse, better) row pairs of the paper's table for our ``column``: the paper's column of
    that name where it has one, else the pairs on which all the paper's columns agree."""
    common = set.intersection(*(set(v) for v in reference.values())) if reference else set()
    paper_columns = [column] if column in common else sorted(common)
    if not paper_columns:
        return []
    pairs = []
    for a, b in itertools.combinations(reference, 2):
        signs = {np.sign(reference[a][c] - reference[b][c]) for c in paper_columns}
        if signs == {1.0}:
            pairs.append((a, b))
        elif signs == {-1.0}:
            pairs.append((b, a))
    return pairs


def judge(worse: Cell, better: Cell) -> str:
    """Reproduced / contradicted when the seed intervals are apart, else not resolved."""
    if worse.ci is None or better.ci is None or worse.ci.overlaps(better.ci):
        return NOT_RESOLVED
    return REPRODUCED if worse.ci.low > better.ci.high else CONTRADICTED


def orderings(
    table: Mapping[str, Mapping[str, Cell]],
    reference: Mapping[str, Mapping[str, float]],
    columns: Sequence[str],
) -> list[Ordering]:
    """Every paper ordering between rows we ran, judged in each of our columns."""
    known = {r: v for r, v in reference.items() if r in table}
    if len(known) < 2:
        return []
    return [
        Ordering(column, worse, better, judge(table[worse][column], table[better][column]))
        for column in columns
        for worse, better in paper_orderings(known, column)
    ]


def ordering_counts(found: Sequence[Ordering]) -> dict[str, dict[str, int]]:
    """``{column: {verdict: count}}`` (every verdict present, zeros included)."""
    counts: dict[str, dict[str, int]] = {}
    for item in found:
        counts.setdefault(item.column, dict.fromkeys(VERDICTS, 0))[item.verdict] += 1
    return counts


def not_beating_zero(
    table: Mapping[str, Mapping[str, Cell]], columns: Sequence[str]
) -> dict[str, list[str]]:
    """``{column: [rows]}`` whose mean EPE is not below zero flow's (columns with any)."""
    result = {}
    for column in columns:
        ratios = {r: v[column].relative for r, v in table.items()}
        rows = [r for r, ratio in ratios.items() if ratio is not None and ratio >= 1]
        if rows:
            result[column] = rows
    return result


def verdict(
    found: Sequence[Ordering],
    table: Mapping[str, Mapping[str, Cell]],
    columns: Sequence[str],
    stability: Mapping[str, float | None],
    labels: Mapping[str, str] | None = None,
) -> str:
    """A short paragraph saying what the numbers resolve."""
    labels = labels or {}
    tally = {v: sum(1 for o in found if o.verdict == v) for v in VERDICTS}
    parts = [
        f"{tally[REPRODUCED]} of {len(found)} paper orderings (row pairs x columns) reproduced, "
        f"{tally[CONTRADICTED]} contradicted, {tally[NOT_RESOLVED]} not resolved "
        "(95 % intervals over seeds overlap, or fewer than 2 seeds)."
    ]
    losing = not_beating_zero(table, columns)
    if losing:
        listed = "; ".join(
            f"{c}: {', '.join(labels.get(r, r) for r in rows)}" for c, rows in losing.items()
        )
        parts.append(f"Rows that do not beat zero flow: {listed}.")
    else:
        parts.append("Every row beats zero flow in every column.")
    taus = [f"{c} tau={t:+.2f}" for c, t in stability.items() if t is not None]
    parts.append(
        "Rank stability over seeds (mean Kendall tau): " + ", ".join(taus) + "."
        if taus
        else "Rank stability over seeds: not measured (fewer than 2 seeds)."
    )
    return " ".join(parts)


@dataclass(frozen=True)
class Statistics:
    """Everything :func:`analyse` finds, JSON-ready through :meth:`to_json`."""

    cells: dict[str, dict[str, Cell]]
    stability: dict[str, float | None]
    orderings: list[Ordering]
    counts: dict[str, dict[str, int]]
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cells": {r: {c: asdict(v) for c, v in row.items()} for r, row in self.cells.items()},
            "rank_stability_kendall_tau": self.stability,
            "orderings": [asdict(o) for o in self.orderings],
            "ordering_counts": self.counts,
            "verdict": self.verdict,
        }


def analyse(
    runs: Sequence[Mapping[str, Any]],
    rows: Sequence[str],
    columns: Sequence[str],
    zero: Mapping[str, float | None],
    reference: Mapping[str, Mapping[str, float]],
    *,
    bootstrap: Mapping[str, Mapping[str, Interval]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Statistics:
    """Cells, rank stability, paper orderings and the verdict of one ablation."""
    table = cells(runs, rows, columns, zero, bootstrap)
    stability = {c: rank_stability(runs, c) for c in columns}
    found = orderings(table, reference, columns)
    text = verdict(found, table, columns, stability, labels)
    return Statistics(table, stability, found, ordering_counts(found), text)
