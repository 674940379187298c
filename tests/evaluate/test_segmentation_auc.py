"""Segmentation metrics inside a field of view, the histogram AUC against an exact rank AUC,
per-image lists, and ``evaluate(...)`` of a tiny untrained U-Net on a fake DRIVE tree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import rankdata
from torch import nn

from flowsynth.data.segmentation import SegmentationDataset, load_segmentation_pairs
from flowsynth.evaluate.run import evaluate
from flowsynth.evaluate.segmentation import evaluate_segmentation
from flowsynth.evaluate.segmetrics import SegmentationMetrics, histogram_auc, probability_bins
from flowsynth.train.checkpoint import rng_state, save_checkpoint
from flowsynth.train.models import build_model, model_spec
from tests.data.drive_fakes import write_drive_split

pytest.importorskip("skimage")


def exact_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Mann-Whitney AUC: P(score of a positive > score of a negative), ties counting 1/2."""
    ranks = rankdata(scores)
    count, others = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - count * (count + 1) / 2) / (count * others))


def _random_image(seed: int, shape: tuple[int, int] = (40, 50)) -> tuple[np.ndarray, np.ndarray]:
    """A two-class label (some pixels -1) and a probability that leans towards it."""
    generator = np.random.default_rng(seed)
    label = (generator.random(shape) < 0.3).astype(np.int64)
    label[:3] = -1
    logit = generator.normal(1.5 * label - 0.75, 2.0)
    return label, (1 / (1 + np.exp(-logit))).astype(np.float32)


def test_a_wrong_prediction_outside_the_field_of_view_changes_nothing() -> None:
    label = np.array([[-1, -1, 0, 1], [-1, 0, 1, 1]])
    prediction = np.array([[0, 0, 0, 1], [0, 0, 1, 0]])
    probability = np.array([[0.1, 0.2, 0.3, 0.9], [0.4, 0.2, 0.8, 0.4]], np.float32)
    wrong_outside = np.where(label < 0, 1 - prediction, prediction)
    flipped = np.where(label < 0, 1 - probability, probability).astype(np.float32)
    summaries = []
    for guess, score in ((prediction, probability), (wrong_outside, flipped)):
        metrics = SegmentationMetrics(2)
        metrics.add(guess, label, score)
        summaries.append(metrics.summary())
    assert summaries[0] == summaries[1]
    summary = summaries[0]
    # 5 known pixels, one wrong (the last); class 1: intersection 2, predicted 2, actual 3
    assert summary["pixels"] == 5 and summary["pixel_error"] == pytest.approx(1 / 5)
    assert summary["iou"] == pytest.approx(2 / 3) and summary["dice"] == pytest.approx(4 / 5)
    # positives 0.9, 0.8, 0.4 all above the negatives 0.3, 0.2: 6 of 6 pairs ordered
    assert summary["auc"] == pytest.approx(1.0)
    assert summary["per_image"]["auc"] == [pytest.approx(1.0)]


def test_histogram_auc_matches_the_exact_auc() -> None:
    metrics = SegmentationMetrics(2)
    labels, scores = [], []
    for seed in range(3):
        label, probability = _random_image(seed)
        metrics.add((probability > 0.5).astype(np.int64), label, probability)
        known = label >= 0
        labels.append(label[known] == 1)
        scores.append(probability[known].astype(np.float64))
        exact = exact_auc(scores[-1], labels[-1])
        assert metrics.summary()["per_image"]["auc"][-1] == pytest.approx(exact, abs=1e-3)
    summary = metrics.summary()
    pooled = exact_auc(np.concatenate(scores), np.concatenate(labels))
    assert summary["auc"] == pytest.approx(pooled, abs=1e-3)
    assert abs(summary["auc"] - pooled) <= summary["auc_tie_bound"] + 1e-12
    assert 0.6 < pooled < 0.95  # a meaningful score, not a trivial one


def test_histogram_bins_keep_saturated_probabilities_in_order() -> None:
    probability = np.array([0.0, 1e-8, 1e-6, 0.5, 1 - 1e-6, 1.0])
    bins = probability_bins(probability)
    assert bins[0] == 0 and bins[-1] == bins.max()
    assert np.all(np.diff(bins[1:-1]) > 0)
    assert histogram_auc(np.array([0, 1]), np.array([0, 0])) == (None, None)


def test_per_image_lists_are_complete_or_none() -> None:
    metrics = SegmentationMetrics(2)
    label = np.array([[0, 1, 1, 0], [0, 1, 1, 0]])
    metrics.add(label.copy(), label, np.where(label == 1, 0.9, 0.1).astype(np.float32))
    summary = metrics.summary()["per_image"]
    assert summary["iou"] == [1.0] and summary["dice"] == [1.0]
    assert summary["pixel_error"] == [0.0] and summary["auc"] == [1.0]
    assert summary["rand_error"] == [pytest.approx(0.0)]
    empty = np.zeros((2, 4), np.int64)  # no foreground in either map: IoU, Dice, AUC undefined
    metrics.add(empty, empty, np.full((2, 4), 0.2, np.float32))
    summary = metrics.summary()
    lists = summary["per_image"]
    assert lists["iou"] is None and lists["dice"] is None and lists["auc"] is None
    assert lists["pixel_error"] == [0.0, 0.0]
    assert summary["iou"] == 1.0 and summary["auc"] == 1.0  # pooled values still defined
    without = SegmentationMetrics(2)
    without.add(label, label)
    assert without.summary()["auc"] is None and without.summary()["per_image"]["auc"] is None
    without.add(label, label, np.full((2, 4), 0.5, np.float32))  # mixed: no pooled AUC
    assert without.summary()["auc"] is None


def test_bad_probabilities_are_refused_before_anything_counts() -> None:
    label = np.zeros((2, 2), np.int64)
    metrics = SegmentationMetrics(2)
    for probability in (np.full((2, 2), 1.5), np.full((2, 3), 0.5), np.full((2, 2), np.nan)):
        with pytest.raises(ValueError, match="probability"):
            metrics.add(label, label, probability)
    assert metrics.images == 0 and metrics.summary()["per_image"]["iou"] == []
    with pytest.raises(ValueError, match="two classes"):
        SegmentationMetrics(3).add(label, label, np.zeros((2, 2)))


class _Recorder(nn.Module):
    """Two-class logits from the first image channel; remembers the mode of each call."""

    stride = 1

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.modes: list[bool] = []

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        self.modes.append(self.training)
        grey = image[:, :1] * self.scale
        return torch.cat([1 - grey, grey], dim=1)


def test_evaluation_runs_in_eval_mode_and_restores_the_mode(tmp_path: Path) -> None:
    write_drive_split(tmp_path, "training", numbers=(21, 22))
    dataset = SegmentationDataset(load_segmentation_pairs(f"retina_drive={tmp_path}"))
    model = _Recorder()
    for training in (True, False):
        model.train(training)
        result = evaluate_segmentation(model, dataset, classes=2, device=torch.device("cpu"))
        assert model.training is training
        assert model.modes[-2:] == [False, False]
        assert (
            result["model"]["images"] == 2 and len(result["model"]["per_image"]["pixel_error"]) == 2
        )


def test_evaluate_a_tiny_unet_checkpoint_on_drive(tmp_path: Path) -> None:
    write_drive_split(tmp_path / "retina_drive", "testing", numbers=(1, 2))
    spec = model_spec("unet", width=0.0625, depth=2, in_channels=3, classes=2)
    model = build_model(spec)
    checkpoint = save_checkpoint(
        tmp_path / "checkpoint.pt",
        {
            "step": 0,
            "model": model.state_dict(),
            "model_spec": spec,
            "optimizer": {"state": {}, "param_groups": []},
            "scheduler": {},
            "config": {"task": "segmentation"},
            "info": {"label_values": [0, 255]},
            "rng": rng_state(),
        },
    )
    document = evaluate(checkpoint, ["retina_drive_test[1:]"], data_root=tmp_path, device="cpu")
    summary = document["datasets"]["retina_drive_test[1:]"]["model"]
    assert summary["images"] == 1
    assert summary["auc"] is not None and 0.0 <= summary["auc"] <= 1.0
    assert set(summary["per_image"]) == {"iou", "dice", "pixel_error", "rand_error", "auc"}
    assert summary["per_image"]["auc"] == [pytest.approx(summary["auc"])]
    assert summary["pixels"] < 20 * 18  # the field of view only
