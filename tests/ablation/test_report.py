"""Ablation statistics on hand-made numbers: intervals, relative EPE, rank stability, the
paper orderings, the verdict and the plot's error bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from flowsynth.ablation.report import error_bars, markdown, plot, summarise
from flowsynth.ablation.stats import (
    CONTRADICTED,
    NOT_RESOLVED,
    REPRODUCED,
    Interval,
    analyse,
    cells,
    paper_orderings,
    rank_stability,
    sample_bootstrap_intervals,
    sample_paired_bootstrap,
    t_interval,
)

REFERENCE = {"boxes": {"x": 5.0}, "deformations": {"x": 4.0}}


def _runs(values: dict[str, list[float]], column: str = "x") -> list[dict[str, object]]:
    return [
        {"row": row, "seed": seed, "values": {column: value}}
        for row, seeds in values.items()
        for seed, value in enumerate(seeds)
    ]


def test_t_interval_matches_scipy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    expected = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=np.mean(values), scale=scipy_stats.sem(values)
    )
    interval = t_interval(values)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx(expected)
    assert t_interval([3.0]) is None and t_interval([]) is None


def test_cells_relative_to_zero_flow_and_one_seed_has_no_interval() -> None:
    runs = _runs({"boxes": [10.0, 12.0], "deformations": [4.0]})
    table = cells(runs, ["boxes", "deformations"], ["x"], {"x": 20.0})
    assert table["boxes"]["x"].mean == 11.0 and table["boxes"]["x"].n == 2
    assert table["boxes"]["x"].relative == pytest.approx(11.0 / 20.0)
    assert table["deformations"]["x"].relative == pytest.approx(0.2)
    assert table["deformations"]["x"].ci is None
    assert cells(runs, ["boxes"], ["x"], {"x": None})["boxes"]["x"].relative is None


def test_rank_stability_identical_and_reversed_rankings() -> None:
    same = _runs({"a": [1.0, 10.0], "b": [2.0, 20.0], "c": [3.0, 30.0]})
    assert rank_stability(same, "x") == pytest.approx(1.0)
    reversed_ = _runs({"a": [1.0, 30.0], "b": [2.0, 20.0], "c": [3.0, 10.0]})
    assert rank_stability(reversed_, "x") == pytest.approx(-1.0)
    assert rank_stability(_runs({"a": [1.0], "b": [2.0]}), "x") is None


@pytest.mark.parametrize(
    ("boxes", "deformations", "expected"),
    [
        ([10.0, 10.2, 10.1], [5.0, 5.2, 5.1], REPRODUCED),
        ([5.0, 5.2, 5.1], [10.0, 10.2, 10.1], CONTRADICTED),
        ([5.0, 9.0, 7.0], [6.0, 8.0, 7.5], NOT_RESOLVED),
        ([10.0], [5.0], NOT_RESOLVED),
    ],
)
def test_paper_ordering_verdicts(
    boxes: list[float], deformations: list[float], expected: str
) -> None:
    runs = _runs({"boxes": boxes, "deformations": deformations})
    found = analyse(runs, ["boxes", "deformations"], ["x"], {"x": 100.0}, REFERENCE)
    assert [(o.worse, o.better, o.verdict) for o in found.orderings] == [
        ("boxes", "deformations", expected)
    ]
    counts = found.counts["x"]
    assert counts[expected] == 1 and sum(counts.values()) == 1
    assert f"{counts[REPRODUCED]} of 1 paper orderings" in found.verdict
    assert f"{counts[CONTRADICTED]} contradicted" in found.verdict


def test_paper_orderings_use_the_same_column_else_where_all_agree() -> None:
    reference = {"a": {"p": 3.0, "q": 3.0}, "b": {"p": 2.0, "q": 2.5}, "c": {"p": 1.0, "q": 4.0}}
    assert paper_orderings(reference, "p") == [("a", "b"), ("a", "c"), ("b", "c")]
    # "synthetic" is no paper column: only pairs on which p and q agree (a above b).
    assert paper_orderings(reference, "synthetic") == [("a", "b")]


def test_verdict_counts_zero_flow_and_stability() -> None:
    runs = _runs({"boxes": [10.0, 10.2], "deformations": [5.0, 5.2]})
    found = analyse(
        runs, ["boxes", "deformations"], ["x"], {"x": 8.0}, REFERENCE, labels={"boxes": "Boxes"}
    )
    assert "1 of 1 paper orderings" in found.verdict and "0 contradicted" in found.verdict
    assert "do not beat zero flow: x: Boxes" in found.verdict
    assert "x tau=+1.00" in found.verdict
    document = found.to_json()
    assert document["cells"]["boxes"]["x"]["relative"] == pytest.approx(10.1 / 8.0)
    assert document["ordering_counts"]["x"][REPRODUCED] == 1
    table = summarise(runs, ["boxes", "deformations"], ["x"])
    text = markdown("t", table, ["x"], baseline={"x": 8.0}, statistics=found)
    assert text.index(found.verdict) < text.index("| row |")
    assert "(1.26x zero)" in text and "| x | 1 | 0 | 0 | +1.00 |" in text


def test_paired_bootstrap_is_seeded_and_paired() -> None:
    base = [1.0, 2.0, 3.0, 4.0, 10.0]
    per_image = {"a": base, "b": [v + 1.0 for v in base]}
    first = sample_paired_bootstrap(per_image, np.random.default_rng(0), draws=500)
    again = sample_paired_bootstrap(per_image, np.random.default_rng(0), draws=500)
    assert first == again
    assert first["b"].low == pytest.approx(first["a"].low + 1.0)
    assert first["b"].high == pytest.approx(first["a"].high + 1.0)
    assert first["a"].low < np.mean(base) < first["a"].high
    with pytest.raises(ValueError, match="common"):
        sample_paired_bootstrap({"a": [1.0], "b": [1.0, 2.0]}, np.random.default_rng(0))


def test_bootstrap_only_where_runs_carry_per_image_values() -> None:
    runs = _runs({"a": [1.0, 2.0], "b": [3.0]})
    runs[0]["per_image"] = {"x": [1.0, 1.0, 1.0]}
    runs[1]["per_image"] = {"x": [3.0, 3.0, 3.0]}
    found = sample_bootstrap_intervals(runs, ["a", "b"], ["x"], np.random.default_rng(0))
    assert found == {"x": {"a": Interval(2.0, 2.0)}}
    table = cells(runs, ["a", "b"], ["x"], {"x": 4.0}, found)
    assert table["a"]["x"].bootstrap == Interval(2.0, 2.0) and table["b"]["x"].bootstrap is None


def test_plot_error_bars_only_with_two_seeds(tmp_path: Path) -> None:
    runs = _runs({"boxes": [10.0, 12.0], "deformations": [5.0]})
    table = summarise(runs, ["boxes", "deformations"], ["x"])
    assert error_bars(table, "x")[1] == (0.0, 0.0)
    assert error_bars(table, "x")[0] == pytest.approx((2**0.5, 2**0.5))
    found = analyse(runs, ["boxes", "deformations"], ["x"], {"x": 20.0}, REFERENCE)
    ci = found.cells["boxes"]["x"].ci
    assert ci is not None
    assert error_bars(table, "x", found)[0] == pytest.approx((11.0 - ci.low, ci.high - 11.0))
    out = plot(tmp_path / "p.png", table, ["x"], baseline={"x": 20.0}, statistics=found)
    assert out.stat().st_size > 1000
