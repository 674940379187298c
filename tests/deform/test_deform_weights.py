"""U-Net weight maps against a direct computation, and binary labels to instances."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.deform import instances_from_binary, unet_weight_map


def _direct_weight_map(instances: np.ndarray, w0: float, sigma: float) -> np.ndarray:
    """Eq. 2 of the U-Net paper, pixel by pixel, with brute-force distances."""
    height, width = instances.shape
    objects = [np.argwhere(instances == k) for k in np.unique(instances) if k != 0]
    total = instances.size
    n_foreground = np.count_nonzero(instances)
    class_weight = {True: total / (2 * n_foreground), False: total / (2 * (total - n_foreground))}
    weights = np.zeros(instances.shape)
    for y in range(height):
        for x in range(width):
            weights[y, x] = class_weight[bool(instances[y, x])]
            if instances[y, x] == 0:
                distances = sorted(
                    np.sqrt(((pixels - (y, x)) ** 2).sum(1)).min() for pixels in objects
                )
                d1, d2 = distances[0], distances[1]
                weights[y, x] += w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2))
    return weights


def test_two_objects_match_the_direct_computation() -> None:
    instances = np.zeros((14, 18), np.int32)
    instances[2:7, 2:8] = 1  # a rectangle
    instances[8:12, 6:9] = 2  # a smaller one, 1 px gap below the first
    instances[9, 9] = 2
    weights = unet_weight_map(instances, w0=10.0, sigma=3.0)
    assert weights.dtype == np.float32 and weights.shape == instances.shape
    np.testing.assert_allclose(weights, _direct_weight_map(instances, 10.0, 3.0), rtol=1e-6)
    gap = weights[7, 6]  # background between the two objects: d1 = d2 = 1
    assert gap > weights[0, 17] + 5.0


def test_class_weights_and_single_object() -> None:
    instances = np.zeros((10, 10), np.int32)
    instances[2:5, 2:5] = 4
    weights = unet_weight_map(instances, class_weights=(0.5, 2.0))
    np.testing.assert_array_equal(weights, np.where(instances > 0, 2.0, 0.5).astype(np.float32))
    balanced = unet_weight_map(instances, w0=0.0)
    assert balanced.mean() == pytest.approx(1.0)
    assert balanced[0, 0] == pytest.approx(100 / (2 * 91))


def test_instances_from_binary_isbi_convention() -> None:
    label = np.full((7, 7), 255, np.uint8)
    label[3, :] = 0  # a membrane across
    label[:3, 3] = 0
    instances = instances_from_binary(label)
    assert instances.dtype == np.int32
    assert len(np.unique(instances)) == 4  # background + 3 cells
    assert (instances[label == 0] == 0).all()
    with pytest.raises(ValueError, match="integer or bool"):
        instances_from_binary(label.astype(np.float32))


def test_weight_map_3d_runs_and_peaks_in_gaps() -> None:
    instances = np.zeros((6, 12, 12), np.int32)
    instances[:, 2:5, 2:10] = 1
    instances[:, 6:9, 2:10] = 2
    weights = unet_weight_map(instances, sigma=2.0)
    assert weights.shape == instances.shape
    assert weights[3, 5, 5] > weights[3, 11, 5] + 1.0
