"""What a segmentation ablation resolves: the U-Net paper's claims, judged on our runs.

Claims, each per dataset and judged the way the flow ablation judges the paper's orderings
(reproduced / contradicted when the 95 % t-intervals over seeds are apart, else not resolved):

- **elastic beats none** at the smallest training size, on the main metric (and on the Rand
  error where it is measured), for each loss;
- **the gap shrinks** as the training set grows: the per-seed gap (elastic - none, main metric,
  signed so that larger is better) at the smallest size is larger than at the largest (rows
  share seeds, so gaps pair up); a gap that is negative at both sizes can still "shrink";
- **the weighted loss lowers the Rand error**, at each size and augmentation where both losses
  ran.

Beside the verdict each claim carries the paired difference (per seed; rows share the seeds of
initialisation and data order) with its t-interval, which is tighter than the two intervals
apart, and says so where it alone would resolve a claim. Pure functions, no randomness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from flowsynth.ablation.segpresets import LOWER_IS_BETTER, Row
from flowsynth.ablation.stats import (
    CONTRADICTED,
    NOT_RESOLVED,
    REPRODUCED,
    Interval,
    t_interval,
)


@dataclass(frozen=True)
class Claim:
    """``better`` should beat ``worse`` on ``metric`` (for the gap claim: the gap at ``better``'s
    size exceeds the gap at ``worse``'s). Means and intervals are over seeds."""

    dataset: str
    text: str
    metric: str
    better: str
    worse: str
    better_mean: float | None
    better_ci: Interval | None
    worse_mean: float | None
    worse_ci: Interval | None
    difference: float | None
    difference_ci: Interval | None
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def per_seed(runs: Sequence[Mapping[str, Any]], row: str, metric: str) -> dict[int, float]:
    """``{seed: value}`` of ``row`` in ``metric`` (missing values left out)."""
    return {
        int(run["seed"]): float(run["values"][metric])
        for run in runs
        if run["row"] == row and run["values"].get(metric) is not None
    }


def signed(metric: str) -> float:
    """+1 where higher is better, -1 where lower is."""
    return -1.0 if metric in LOWER_IS_BETTER else 1.0


def judge_apart(better: Interval | None, worse: Interval | None, metric: str) -> str:
    """Reproduced when ``better``'s interval lies wholly on the better side of ``worse``'s,
    contradicted when wholly on the other side, else not resolved."""
    if better is None or worse is None or better.overlaps(worse):
        return NOT_RESOLVED
    ahead = better.low > worse.high if signed(metric) > 0 else better.high < worse.low
    return REPRODUCED if ahead else CONTRADICTED


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def compare(
    runs: Sequence[Mapping[str, Any]],
    dataset: str,
    text: str,
    metric: str,
    better: str,
    worse: str,
) -> Claim:
    """The claim that row ``better`` beats row ``worse`` on ``metric``."""
    a, b = per_seed(runs, better, metric), per_seed(runs, worse, metric)
    common = sorted(set(a) & set(b))
    differences = [a[s] - b[s] for s in common]
    a_values, b_values = list(a.values()), list(b.values())
    return Claim(
        dataset,
        text,
        metric,
        better,
        worse,
        _mean(a_values),
        t_interval(a_values),
        _mean(b_values),
        t_interval(b_values),
        _mean(differences),
        t_interval(differences),
        judge_apart(t_interval(a_values), t_interval(b_values), metric),
    )


def gap_claim(
    runs: Sequence[Mapping[str, Any]],
    dataset: str,
    metric: str,
    small: Sequence[str],
    large: Sequence[str],
) -> Claim:
    """The claim that the gap ``elastic - none`` (rows ``small`` = (elastic, none) at the smallest
    size, ``large`` at the largest) shrinks: per seed, gap(small) > gap(large) in ``metric``'s
    better direction."""
    sign = signed(metric)

    def gaps(pair: Sequence[str]) -> dict[int, float]:
        a, b = per_seed(runs, pair[0], metric), per_seed(runs, pair[1], metric)
        return {s: sign * (a[s] - b[s]) for s in sorted(set(a) & set(b))}

    at_small, at_large = gaps(small), gaps(large)
    common = sorted(set(at_small) & set(at_large))
    differences = [at_small[s] - at_large[s] for s in common]
    small_values, large_values = list(at_small.values()), list(at_large.values())
    sizes = [Row.parse(pair[0]).size for pair in (small, large)]
    return Claim(
        dataset,
        f"elastic - none is larger at {sizes[0]} than at {sizes[1]} (the gain shrinks with data)",
        metric,
        f"{small[0]} - {small[1]}",
        f"{large[0]} - {large[1]}",
        _mean(small_values),
        t_interval(small_values),
        _mean(large_values),
        t_interval(large_values),
        _mean(differences),
        t_interval(differences),
        # gaps are signed so that larger is better for the claim
        judge_apart(t_interval(small_values), t_interval(large_values), "gap"),
    )


def claims(
    runs: Sequence[Mapping[str, Any]], dataset: str, rows: Sequence[Row], metrics: Sequence[str]
) -> list[Claim]:
    """Every claim the rows of one dataset can test (see the module docstring)."""
    ids = {row.id for row in rows}
    sizes = sorted({row.size for row in rows})
    losses = sorted({row.loss for row in rows}, key=lambda loss: loss != "weighted")
    main = metrics[0]
    found = []
    smallest, largest = sizes[0], sizes[-1]
    for loss in losses:
        elastic, none = (f"{a}-{smallest}-{loss}" for a in ("elastic", "none"))
        if {elastic, none} <= ids:
            for metric in dict.fromkeys([main, *(m for m in metrics if m == "rand_error")]):
                text = f"elastic beats none at {smallest} ({loss} CE)"
                found.append(compare(runs, dataset, text, metric, elastic, none))
        large = tuple(f"{a}-{largest}-{loss}" for a in ("elastic", "none"))
        if largest != smallest and {elastic, none, *large} <= ids:
            found.append(gap_claim(runs, dataset, main, (elastic, none), large))
    if "rand_error" in metrics:
        for row in rows:
            if row.loss == "weighted" and f"{row.augment}-{row.size}-plain" in ids:
                text = f"the weighted loss lowers the Rand error ({row.augment}, {row.size})"
                plain = f"{row.augment}-{row.size}-plain"
                found.append(compare(runs, dataset, text, "rand_error", row.id, plain))
    return found


def paired_reading(claim: Claim) -> str | None:
    """What the paired difference alone says when the two intervals do not resolve the claim:
    ``"supports"`` or ``"contradicts"`` when its interval excludes zero, else None.

    The difference is per seed (rows share seeds), so its interval is tighter than the two
    intervals apart; it is reported beside the verdict, not as the verdict."""
    ci = claim.difference_ci
    if claim.verdict != NOT_RESOLVED or ci is None or ci.low <= 0 <= ci.high:
        return None
    # gap claims are signed already (larger: the claim's way); others follow the metric
    sign = 1.0 if " - " in claim.better else signed(claim.metric)
    return "supports" if sign * (ci.low if ci.low > 0 else ci.high) > 0 else "contradicts"


def claim_sentence(claim: Claim, digits: int = 3) -> str:
    """One line: the claim, the two means with intervals, the paired difference, the verdict."""

    def value(mean: float | None, ci: Interval | None) -> str:
        if mean is None:
            return "-"
        interval = "" if ci is None else f" [{ci.low:.{digits}f}, {ci.high:.{digits}f}]"
        return f"{mean:.{digits}f}{interval}"

    paired = ""
    if claim.difference is not None:
        paired = f"; paired difference {value(claim.difference, claim.difference_ci)}"
        reading = paired_reading(claim)
        if reading:
            paired += f" (excludes 0: the paired reading {reading} the claim)"
    return (
        f"{claim.text}, {claim.metric}: **{claim.verdict}** — {claim.better} "
        f"{value(claim.better_mean, claim.better_ci)} vs {claim.worse} "
        f"{value(claim.worse_mean, claim.worse_ci)}{paired}"
    )


def tally(found: Sequence[Claim]) -> dict[str, int]:
    """How many claims got each verdict."""
    return {
        verdict: sum(1 for c in found if c.verdict == verdict)
        for verdict in (REPRODUCED, CONTRADICTED, NOT_RESOLVED)
    }
