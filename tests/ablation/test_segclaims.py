"""The segmentation ablation's claims, intervals and report on hand-made numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowsynth.ablation.segclaims import claim_sentence, claims, compare, gap_claim, paired_reading
from flowsynth.ablation.segpresets import PRESETS, Row
from flowsynth.ablation.segreport import budget_reading, mean_curves, write_results
from flowsynth.ablation.stats import CONTRADICTED, NOT_RESOLVED, REPRODUCED

#: (iou per seed, rand error per seed) of each ISBI row
VALUES = {
    "none-3-weighted": ([0.80, 0.81, 0.82], [0.30, 0.31, 0.32]),
    "elastic-3-weighted": ([0.90, 0.91, 0.92], [0.20, 0.21, 0.22]),
    "none-10-weighted": ([0.88, 0.89, 0.90], [0.25, 0.26, 0.27]),
    "elastic-10-weighted": ([0.89, 0.90, 0.91], [0.24, 0.25, 0.26]),
    "none-3-plain": ([0.79, 0.81, 0.83], [0.40, 0.41, 0.42]),
    "elastic-3-plain": ([0.78, 0.83, 0.88], [0.10, 0.30, 0.50]),
}


def _runs(dataset: str = "isbi2012_em") -> list[dict]:
    runs = []
    for row, (iou, rand) in VALUES.items():
        for seed in range(3):
            curve = {"heldout_iou": [[100.0, iou[seed] - 0.05], [200.0, iou[seed]]]}
            if row == "none-3-weighted":  # overfits: better at 100 than at 200
                curve = {"heldout_iou": [[100.0, iou[seed] + 0.05], [200.0, iou[seed]]]}
            if row == "none-3-plain":  # levelled off: within 0.01 of its best
                curve = {"heldout_iou": [[100.0, iou[seed] + 0.005], [200.0, iou[seed]]]}
            runs.append(
                {
                    "dataset": dataset,
                    "row": row,
                    "seed": seed,
                    "values": {"iou": iou[seed], "rand_error": rand[seed]},
                    "per_image": {"iou": [iou[seed] - 0.01, iou[seed] + 0.01]},
                    "curve": curve,
                }
            )
    return runs


def test_verdicts_follow_the_intervals() -> None:
    runs = _runs()
    better = compare(runs, "isbi2012_em", "t", "iou", "elastic-3-weighted", "none-3-weighted")
    assert better.verdict == REPRODUCED
    assert better.difference == pytest.approx(0.10)
    assert better.better_ci is not None and better.better_ci.low < 0.91 < better.better_ci.high
    worse = compare(runs, "isbi2012_em", "t", "iou", "none-3-weighted", "elastic-3-weighted")
    assert worse.verdict == CONTRADICTED
    # lower is better for the Rand error: weighted (0.21) beats plain (0.41)
    rand = compare(runs, "isbi2012_em", "t", "rand_error", "none-3-weighted", "none-3-plain")
    assert rand.verdict == REPRODUCED
    noisy = compare(runs, "isbi2012_em", "t", "iou", "elastic-3-plain", "none-3-plain")
    assert noisy.verdict == NOT_RESOLVED and paired_reading(noisy) is None
    # overlapping intervals, but elastic is 0.01 ahead in every seed: the paired reading
    close = compare(runs, "isbi2012_em", "t", "iou", "elastic-10-weighted", "none-10-weighted")
    assert close.verdict == NOT_RESOLVED and paired_reading(close) == "supports"
    turned = compare(runs, "isbi2012_em", "t", "iou", "none-10-weighted", "elastic-10-weighted")
    assert paired_reading(turned) == "contradicts"
    assert "the paired reading contradicts the claim" in claim_sentence(turned)
    one_seed = compare(runs[:1] + runs[3:4], "isbi2012_em", "t", "iou", *list(VALUES)[:2])
    assert one_seed.verdict == NOT_RESOLVED and one_seed.better_ci is None


def test_the_gap_claim_pairs_seeds() -> None:
    runs = _runs()
    claim = gap_claim(
        runs,
        "isbi2012_em",
        "iou",
        ("elastic-3-weighted", "none-3-weighted"),
        ("elastic-10-weighted", "none-10-weighted"),
    )
    # gaps 0.10 at 3 slices, 0.01 at 10, the same in every seed: zero-width intervals apart
    assert claim.better_mean == pytest.approx(0.10) and claim.worse_mean == pytest.approx(0.01)
    assert claim.verdict == REPRODUCED


def test_every_testable_claim_is_listed() -> None:
    rows = [Row.parse(r) for r in VALUES]
    found = claims(_runs(), "isbi2012_em", rows, ["iou", "rand_error"])
    texts = [(c.text, c.metric) for c in found]
    assert ("elastic beats none at 3 (weighted CE)", "iou") in texts
    assert ("elastic beats none at 3 (weighted CE)", "rand_error") in texts
    assert ("elastic beats none at 3 (plain CE)", "iou") in texts
    assert ("elastic - none is larger at 3 than at 10 (the gain shrinks with data)", "iou") in texts
    weighted = [c for c in found if c.text.startswith("the weighted loss")]
    assert [(c.better, c.worse) for c in weighted] == [
        ("none-3-weighted", "none-3-plain"),
        ("elastic-3-weighted", "elastic-3-plain"),
    ]
    # DRIVE has no Rand error: no weighted-loss claim there
    drive = claims(_runs("retina_drive"), "retina_drive", rows, ["iou", "auc"])
    assert not any(c.metric == "rand_error" for c in drive)


def test_budget_reading_says_whether_the_unaugmented_rows_overfit() -> None:
    runs = _runs()
    rows = list(VALUES)
    curves = mean_curves(runs, rows)
    assert curves["none-3-weighted"]["heldout_iou"] == [
        [100.0, pytest.approx(0.86)],
        [200.0, pytest.approx(0.81)],
    ]
    lines = budget_reading(runs, rows, "iou")
    assert any(line.startswith("none-3-weighted") and "overfits" in line for line in lines)
    assert any(line.startswith("none-3-plain") and "levelled off" in line for line in lines)
    assert any(line.startswith("none-10-weighted") and "not started" in line for line in lines)
    assert not any(line.startswith("elastic") for line in lines)


def test_results_carry_intervals_claims_and_the_verdict(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    runs = _runs()
    header = {
        "seeds": 3,
        "rows": {"isbi2012_em": list(VALUES)},
        "seconds": 60.0,
    }
    write_results(tmp_path, header, runs, PRESETS["smoke"])
    text = (tmp_path / "results.md").read_text()
    first = text.splitlines()[2]
    assert first.startswith("4 of 7 claims reproduced, 0 contradicted, 3 not resolved")
    assert "ISBI 2012 EM: elastic beats none at 3 (weighted CE) (iou): reproduced." in first
    assert "larger at 3 than at 10 (the gain shrinks with data) (iou): reproduced" in first
    assert "lowers the Rand error in 1 of 2 comparisons, raises it in 0, 1 not resolved" in first
    assert "| elastic, 3 slices, weighted CE | 0.910 [0.885, 0.935]" in text
    assert "boot [" in text
    assert "none-3-weighted: held-out iou was best at step 100 (0.860) and worsened" in text
    results = json.loads((tmp_path / "results.json").read_text())
    claims_json = results["datasets"]["isbi2012_em"]["statistics"]["claims"]
    assert {c["verdict"] for c in claims_json} <= {REPRODUCED, CONTRADICTED, NOT_RESOLVED}
    assert (tmp_path / "results.png").stat().st_size > 0
    assert (tmp_path / "results-isbi2012_em.png").stat().st_size > 0
