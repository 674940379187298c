"""Stereo evaluation: metrics against hand-computed values, the constant-disparity baseline,
the report table, and a checkpoint evaluated on real Middlebury 2014 (skipped without it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from flowsynth.evaluate.report import markdown_table
from flowsynth.evaluate.stereo import constant_baseline, evaluate_stereo, predict_disparity
from flowsynth.evaluate.stereo_metrics import StereoMetrics, d1_outliers


def test_metrics_match_hand_computed_values() -> None:
    prediction = np.array([1.0, 5.0, 10.0, 100.0, 104.0, 7.0])
    truth = np.array([1.0, 1.0, 12.0, 50.0, 100.0, 0.0])
    valid = np.array([True, True, True, True, True, False])
    occlusion = np.array([False, False, True, False, False, False])
    metrics = StereoMetrics()
    metrics.add(prediction, truth, valid, occlusion)
    summary = metrics.summary()
    # errors over valid pixels: 0, 4, 2, 50, 4; D1: 4 (> 3 and > 0.05), 50; not 4 of 100
    assert summary["pixels"] == 5
    assert summary["epe"] == pytest.approx(60 / 5)
    assert summary["d1"] == pytest.approx(2 / 5)
    assert summary["bad_1px"] == pytest.approx(4 / 5)
    assert summary["bad_3px"] == pytest.approx(3 / 5)
    # non-occluded: errors 0, 4, 50, 4
    assert summary["epe_noc"] == pytest.approx(58 / 4)
    assert summary["d1_noc"] == pytest.approx(2 / 4)
    assert summary["bad_3px_noc"] == pytest.approx(3 / 4)
    assert d1_outliers(np.array([4.0, 4.0]), np.array([100.0, 50.0])).tolist() == [False, True]


def test_metrics_pool_pixels_and_leave_noc_out_without_occlusion() -> None:
    metrics = StereoMetrics()
    metrics.add(np.zeros((2, 2)), np.full((2, 2), 2.0), np.ones((2, 2), bool))
    metrics.add(np.zeros((1, 2)), np.full((1, 2), 8.0), np.ones((1, 2), bool))
    summary = metrics.summary()
    assert summary["epe"] == pytest.approx((4 * 2 + 2 * 8) / 6)
    assert summary["epe_image_mean"] == pytest.approx(5.0)
    assert summary["epe_noc"] is None and summary["d1_noc"] is None
    with pytest.raises(ValueError, match="differ"):
        metrics.add(np.zeros(3), np.zeros(2), np.ones(2, bool))


def test_constant_baseline_predicts_the_pooled_median() -> None:
    truths = [
        (np.array([1.0, 2.0, 3.0], np.float32), np.array([False, False, True])),
        (np.array([10.0, 20.0], np.float32), None),
    ]
    summary = constant_baseline(truths)
    assert summary["disparity"] == pytest.approx(3.0)
    assert summary["epe"] == pytest.approx((2 + 1 + 0 + 7 + 17) / 5)
    assert summary["epe_noc"] == pytest.approx((2 + 1) / 2)  # only the first image marks occlusion


class _Shift(torch.nn.Module):
    """Predicts a constant disparity of 5 at any size multiple of 8 (checks the padding)."""

    stride = 8

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, ...]:
        assert left.shape[-2] % 8 == 0 and left.shape[-1] % 8 == 0
        disparity = torch.full(left.shape[:1] + left.shape[2:], 5.0)
        return disparity, disparity, disparity


def test_evaluate_stereo_pads_and_reports_both_rows() -> None:
    from flowsynth.data.stereo import StereoExample

    height, width = 13, 21
    disparity = torch.full((height, width), 5.0)
    disparity[:, :3] = 2.0
    example = StereoExample(
        torch.rand(3, height, width),
        torch.rand(3, height, width),
        disparity,
        torch.ones(height, width, dtype=torch.bool),
        torch.zeros(height, width, dtype=torch.bool),
        True,
        "pair",
    )
    prediction = predict_disparity(_Shift(), example.left[None], example.right[None])
    assert prediction.shape == (1, height, width)
    results = evaluate_stereo(_Shift(), [example], device=torch.device("cpu"))  # type: ignore[arg-type]
    assert results["model"]["epe"] == pytest.approx(3 * 3 * height / (height * width))
    assert results["constant"]["disparity"] == pytest.approx(5.0)
    document = {"task": "stereo", "datasets": {"pairs": results}}
    table = markdown_table(document)
    assert "| pairs | model | 1 |" in table and "| pairs | constant d=5.00 | 1 |" in table
    assert "D1 %" in table and ">3px %" in table


def test_a_stereo_checkpoint_on_middlebury_stereo(data_subdir, tmp_path: Path) -> None:
    """A fresh (untrained) stereo checkpoint runs over every real Middlebury 2014 pair; the
    constant row holds the pooled median of the ground truth."""
    from flowsynth.evaluate.run import evaluate
    from flowsynth.train.config import make_config
    from flowsynth.train.loop import train

    root = data_subdir("middlebury_stereo")
    config = make_config(
        "cpu",
        task="stereo",
        data="stereo/default",
        out=str(tmp_path / "run"),
        overrides=("scale=0.25",),
        width=0.25,
        crop=(64, 96),
        max_disparity=192,
        steps=1,
        batch=1,
        device="cpu",
    )
    train(config, progress=False)
    document = evaluate(
        tmp_path / "run" / "checkpoint.pt",
        ["middlebury_stereo"],
        data_root=root.parent,
        device="cpu",
        max_images=2,
    )
    rows = document["datasets"]["middlebury_stereo"]
    assert document["task"] == "stereo" and set(rows) == {"model", "constant"}
    assert rows["model"]["images"] == rows["constant"]["images"] == 2
    assert rows["model"]["epe_noc"] is not None  # Middlebury marks occlusion
    assert 20 < rows["constant"]["disparity"] < 60


def test_the_constant_disparity_alone_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--constant-disparity`` needs no checkpoint: one row per stereo dataset, the pooled
    median of its own true disparities, as with a checkpoint."""
    from flowsynth.cli.main import main
    from flowsynth.evaluate.datasets import DEFAULT_RECIPE_SEED
    from flowsynth.evaluate.stereo import resolve_stereo_eval_dataset

    out = tmp_path / "results.json"
    spec = "recipe:stereo/default"
    args = ["evaluate", "--constant-disparity", "--dataset", spec, "--recipe-count", "3"]
    assert main([*args, "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    document = json.loads(out.read_text())
    assert document["task"] == "stereo" and document["checkpoint"] is None
    rows = document["datasets"][spec]
    assert set(rows) == {"constant"} and rows["constant"]["images"] == 3
    pairs = resolve_stereo_eval_dataset(spec, None, recipe_seed=DEFAULT_RECIPE_SEED, recipe_count=3)
    truths = [(p.disparity[p.valid].numpy(), None) for p in (pairs[i] for i in range(3))]
    assert rows["constant"]["disparity"] == pytest.approx(constant_baseline(truths)["disparity"])
    assert "constant d=" in capsys.readouterr().out
    for both in (["--zero-flow", "--constant-disparity"], ["--constant-disparity", str(out)]):
        assert main(["evaluate", *both, "--dataset", spec]) == 2
        assert "--constant-disparity" in capsys.readouterr().err
