"""Segmentation metrics by hand: IoU, Dice, pixel error, adapted Rand error."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.evaluate.segmetrics import SegmentationMetrics, adapted_rand_error

pytest.importorskip("skimage")


def test_iou_dice_pixel_error_pooled_per_pixel() -> None:
    metrics = SegmentationMetrics(2)
    label = np.array([[1, 1, 0, 0]])
    prediction = np.array([[1, 0, 0, 1]])
    metrics.add(prediction, label)
    metrics.add(np.array([[1, 1]]), np.array([[1, -1]]))  # the unknown pixel does not count
    summary = metrics.summary()
    # class 1: intersection 1 + 1, predicted 2 + 1, actual 2 + 1 -> IoU 2/4, Dice 4/6
    assert summary["iou"] == pytest.approx(0.5)
    assert summary["dice"] == pytest.approx(4 / 6)
    assert summary["pixel_error"] == pytest.approx(2 / 5)
    assert summary["iou_per_class"][0] == pytest.approx(1 / 3)


def test_adapted_rand_error_zero_for_a_perfect_split_and_positive_for_a_merge() -> None:
    label = np.ones((5, 7), np.int64)
    label[:, 3] = 0  # a membrane between two cells
    assert adapted_rand_error(label, label) == pytest.approx(0.0)
    merged = np.ones_like(label)  # the membrane missed: two cells become one
    assert adapted_rand_error(merged, label) > 0.1
