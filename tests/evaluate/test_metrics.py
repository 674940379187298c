"""Flow metrics equal hand-computed values on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.evaluate.metrics import FlowMetrics, endpoint_error, fl_outliers


def _flow(values: list[list[tuple[float, float]]]) -> np.ndarray:
    return np.array(values, np.float32)


def test_endpoint_error_is_euclidean() -> None:
    prediction = _flow([[(3, 4), (0, 0)]])
    truth = _flow([[(0, 0), (1, 0)]])
    assert endpoint_error(prediction, truth).tolist() == [[5.0, 1.0]]


def test_fl_needs_both_conditions() -> None:
    epe = np.array([4.0, 4.0, 2.0, 100.0])
    magnitude = np.array([10.0, 100.0, 1.0, 3000.0])
    # 4 > 3 and 4 > 0.5: outlier; 4 < 5 (5 % of 100): not; 2 < 3: not; 100 < 150: not
    assert fl_outliers(epe, magnitude).tolist() == [True, False, False, False]


def test_accuracies_speed_bins_and_pixel_pooling() -> None:
    metrics = FlowMetrics()
    # image A: 4 valid pixels, speeds 0, 0, 20, 50; errors 0.5, 2, 4, 10
    truth = _flow([[(0, 0), (0, 0), (20, 0), (50, 0)]])
    prediction = _flow([[(0.5, 0), (0, 2), (24, 0), (60, 0)]])
    metrics.add(prediction, truth, np.ones((1, 4), bool))
    # image B: 1 valid pixel (error 3, speed 5) and one invalid pixel that must not count
    truth_b = _flow([[(5, 0), (0, 0)]])
    prediction_b = _flow([[(5, 3), (99, 99)]])
    metrics.add(prediction_b, truth_b, np.array([[True, False]]))
    summary = metrics.summary()
    assert summary["images"] == 2 and summary["pixels"] == 5
    assert summary["epe"] == pytest.approx((0.5 + 2 + 4 + 10 + 3) / 5)  # per pixel
    assert summary["epe_image_mean"] == pytest.approx(((16.5 / 4) + 3) / 2)  # per image
    assert summary["epe_per_image"] == pytest.approx([16.5 / 4, 3])
    assert summary["acc_1px"] == pytest.approx(1 / 5)
    assert summary["acc_3px"] == pytest.approx(2 / 5)  # 3 is not below 3
    assert summary["acc_5px"] == pytest.approx(4 / 5)
    # outliers: 4 at speed 20 (4 > 3, 4 > 1): yes; 10 at 50 (> 2.5): yes; 3 at 5: no (not > 3)
    assert summary["fl_all"] == pytest.approx(2 / 5)
    assert summary["fl_all_image_mean"] == pytest.approx((2 / 4 + 0) / 2)
    assert summary["s0-10"] == pytest.approx((0.5 + 2 + 3) / 3)
    assert summary["s10-40"] == pytest.approx(4.0)
    assert summary["s40+"] == pytest.approx(10.0)
    assert summary["epe_noc"] is None and summary["epe_occ"] is None


def test_occlusion_splits_only_where_known() -> None:
    metrics = FlowMetrics()
    truth = _flow([[(0, 0), (0, 0), (0, 0)]])
    prediction = _flow([[(1, 0), (2, 0), (6, 0)]])
    valid = np.array([[True, True, False]])
    metrics.add(prediction, truth, valid, occlusion=np.array([[False, True, True]]))
    metrics.add(_flow([[(8, 0)]]), _flow([[(0, 0)]]), np.ones((1, 1), bool), occlusion=None)
    summary = metrics.summary()
    assert summary["epe_noc"] == pytest.approx(1.0)  # only the image with occlusion
    assert summary["epe_occ"] == pytest.approx(2.0)  # the invalid occluded pixel is out
    assert summary["epe"] == pytest.approx((1 + 2 + 8) / 3)


def test_empty_bins_are_none() -> None:
    metrics = FlowMetrics()
    metrics.add(_flow([[(0, 0)]]), _flow([[(1, 0)]]), np.zeros((1, 1), bool))
    summary = metrics.summary()
    assert summary["epe"] is None and summary["epe_image_mean"] is None
    assert summary["images"] == 1 and summary["pixels"] == 0
