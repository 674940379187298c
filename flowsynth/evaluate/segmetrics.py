"""Segmentation metrics on numpy arrays, accumulated over a dataset (no torch).

Pooling: IoU, Dice and pixel error are pooled per pixel over the dataset (intersections,
unions and errors summed over all images, then divided); the adapted Rand error is computed per
image and averaged over images (as the ISBI 2012 challenge reports it per volume/slice).

- IoU and Dice: of each foreground class ``1..K-1``, then averaged over those classes.
- pixel error: share of known pixels with the wrong class.
- adapted Rand error (ISBI 2012): ``skimage.metrics.adapted_rand_error`` between the connected
  components (4-connected) of the last class (ISBI: cells) in the ground truth and in the
  prediction, ground-truth background ignored. Only for two-class labels; needs
  ``scikit-image``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt


def adapted_rand_error(
    prediction: npt.NDArray[np.integer], label: npt.NDArray[np.integer]
) -> float:
    """ISBI adapted Rand error of two-class maps ``(H, W), (H, W) -> float`` (class 1 = objects).

    NaN where it is undefined (no pixel pairs within segments, e.g. one-pixel segments).
    """
    try:
        from skimage.metrics import adapted_rand_error as skimage_are
    except ImportError as missing:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the adapted Rand error needs scikit-image: pip install 'scikit-image>=0.22'"
        ) from missing
    # flowsynth.deform loads numba kernels: only the Rand error needs them.
    from flowsynth.deform import instances_from_binary

    truth = instances_from_binary(np.asarray(label == 1, np.uint8), foreground=1)
    test = instances_from_binary(np.asarray(prediction == 1, np.uint8), foreground=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # tiny segments: 0 / 0 pairs
        error, _, _ = skimage_are(truth, test, ignore_labels=(0,))
    return float(error)


@dataclass
class SegmentationMetrics:
    """Accumulates IoU, Dice, pixel error and adapted Rand error over images."""

    classes: int
    intersection: npt.NDArray[np.int64] = field(init=False)
    predicted: npt.NDArray[np.int64] = field(init=False)
    actual: npt.NDArray[np.int64] = field(init=False)
    wrong: int = 0
    known: int = 0
    rand_errors: list[float] = field(default_factory=list)
    images: int = 0

    def __post_init__(self) -> None:
        if self.classes < 2:
            raise ValueError(f"need at least 2 classes, got {self.classes}")
        self.intersection = np.zeros(self.classes, np.int64)
        self.predicted = np.zeros(self.classes, np.int64)
        self.actual = np.zeros(self.classes, np.int64)

    def add(self, prediction: npt.NDArray[np.integer], label: npt.NDArray[np.integer]) -> None:
        """One image: predicted and true class indices ``(H, W)``; label -1 = unknown."""
        known = label >= 0
        p, t = prediction[known], label[known]
        for k in range(self.classes):
            self.intersection[k] += int(((p == k) & (t == k)).sum())
            self.predicted[k] += int((p == k).sum())
            self.actual[k] += int((t == k).sum())
        self.wrong += int((p != t).sum())
        self.known += int(t.size)
        self.images += 1
        if self.classes == 2:
            error = adapted_rand_error(np.where(known, prediction, 0), label)
            if not np.isnan(error):  # undefined images do not count
                self.rand_errors.append(error)

    def summary(self) -> dict[str, Any]:
        """Pooled metrics; per-class IoU under ``iou_per_class``."""
        union = self.predicted + self.actual - self.intersection
        iou = np.where(union > 0, self.intersection / np.maximum(union, 1), np.nan)
        total = self.predicted + self.actual
        dice = np.where(total > 0, 2 * self.intersection / np.maximum(total, 1), np.nan)
        foreground_iou, foreground_dice = iou[1:], dice[1:]
        return {
            "images": self.images,
            "pixels": self.known,
            "iou": _nan_mean(foreground_iou),
            "dice": _nan_mean(foreground_dice),
            "iou_per_class": [None if np.isnan(v) else float(v) for v in iou],
            "pixel_error": self.wrong / self.known if self.known else None,
            "rand_error": float(np.mean(self.rand_errors)) if self.rand_errors else None,
        }


def _nan_mean(values: npt.NDArray[np.float64]) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None
