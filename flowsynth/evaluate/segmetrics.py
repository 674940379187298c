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
- ROC AUC (two classes, given the probability of class 1): pooled over the known pixels of all
  images, and per image. Memory stays bounded: each image's probabilities are counted into
  ``AUC_BINS`` histogram bins, uniform in the logit ``log(p / (1 - p))`` over
  ``[-AUC_LOGIT_RANGE, AUC_LOGIT_RANGE]`` (outside: the end bins), so saturated softmax outputs
  near 0 and 1 keep their order. The approximation: a positive and a negative pixel in the same
  bin count as a tie (1/2), so the result differs from the exact (rank) AUC by at most half the
  share of positive-negative pairs that share a bin; ``auc_tie_bound`` in the summary reports
  that share's half. Pixels labelled -1 (outside a field of view) never count.

Per image, ``summary()["per_image"]`` lists each metric's value for every image in the order
they were added, or None for a metric whose value is undefined on any image (IoU/Dice of an
image without foreground in either map, Rand error NaN, AUC without probabilities or with one
class), so a list is either complete or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

#: Histogram bins of the AUC (see the module docstring).
AUC_BINS = 1 << 16
#: Logits beyond +-this many fall into the end bins (sigmoid(-20) ~ 2e-9).
AUC_LOGIT_RANGE = 20.0
#: The per-image metrics, in ``summary()["per_image"]`` order.
PER_IMAGE = ("iou", "dice", "pixel_error", "rand_error", "auc")


def probability_bins(probability: npt.NDArray[np.floating]) -> npt.NDArray[np.int64]:
    """AUC histogram bin of each probability: ``float (N,) in [0, 1] -> int64 (N,)``."""
    p = probability.astype(np.float64)
    with np.errstate(divide="ignore"):  # p = 0 or 1: -inf or +inf, the end bins
        logit = np.log(p) - np.log1p(-p)
    scaled = (logit + AUC_LOGIT_RANGE) * (AUC_BINS / (2 * AUC_LOGIT_RANGE))
    return np.clip(np.floor(scaled), 0, AUC_BINS - 1).astype(np.int64)


def histogram_auc(
    positive: npt.NDArray[np.int64], negative: npt.NDArray[np.int64]
) -> tuple[float | None, float | None]:
    """``(AUC, tie bound)`` from per-bin counts of positive and negative pixels (bins ordered
    by score); pairs in one bin count 1/2. ``(None, None)`` without both classes."""
    positives, negatives = int(positive.sum()), int(negative.sum())
    if positives == 0 or negatives == 0:
        return None, None
    pos, neg = positive.astype(np.float64), negative.astype(np.float64)
    below = np.cumsum(neg) - neg  # negatives in lower bins
    pairs = float(positives) * float(negatives)
    return float(pos @ (below + 0.5 * neg)) / pairs, 0.5 * float(pos @ neg) / pairs


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
    """Accumulates IoU, Dice, pixel error, adapted Rand error and AUC over images."""

    classes: int
    intersection: npt.NDArray[np.int64] = field(init=False)
    predicted: npt.NDArray[np.int64] = field(init=False)
    actual: npt.NDArray[np.int64] = field(init=False)
    wrong: int = 0
    known: int = 0
    rand_errors: list[float] = field(default_factory=list)
    images: int = 0
    #: Per-bin counts of the probabilities of positive (class 1) and negative known pixels.
    positive: npt.NDArray[np.int64] = field(init=False)
    negative: npt.NDArray[np.int64] = field(init=False)
    #: Images added with a probability.
    scored: int = 0
    #: metric -> one value per image, NaN where undefined (see :data:`PER_IMAGE`).
    per_image: dict[str, list[float]] = field(init=False)

    def __post_init__(self) -> None:
        if self.classes < 2:
            raise ValueError(f"need at least 2 classes, got {self.classes}")
        self.intersection = np.zeros(self.classes, np.int64)
        self.predicted = np.zeros(self.classes, np.int64)
        self.actual = np.zeros(self.classes, np.int64)
        self.positive = np.zeros(AUC_BINS, np.int64)
        self.negative = np.zeros(AUC_BINS, np.int64)
        self.per_image = {name: [] for name in PER_IMAGE}

    def add(
        self,
        prediction: npt.NDArray[np.integer],
        label: npt.NDArray[np.integer],
        probability: npt.NDArray[np.floating] | None = None,
    ) -> None:
        """One image: predicted and true class indices ``(H, W)``; label -1 = unknown.

        ``probability``: float ``(H, W)`` in [0, 1], the probability of class 1 (two classes
        only), for the AUC. ``ValueError`` on mismatched shapes or bad probabilities.
        """
        if prediction.shape != label.shape:
            raise ValueError(f"prediction {prediction.shape} and label {label.shape} differ")
        if probability is not None:
            self._check_probability(probability, label.shape)
        known = label >= 0
        p, t = prediction[known], label[known]
        counts = np.zeros((3, self.classes), np.int64)
        for k in range(self.classes):
            counts[:, k] = (
                int(((p == k) & (t == k)).sum()),
                int((p == k).sum()),
                int((t == k).sum()),
            )
        self.intersection += counts[0]
        self.predicted += counts[1]
        self.actual += counts[2]
        wrong = int((p != t).sum())
        self.wrong += wrong
        self.known += int(t.size)
        self.images += 1
        iou, dice = _overlaps(*counts)
        error = np.nan
        if self.classes == 2:
            error = adapted_rand_error(np.where(known, prediction, 0), label)
            if not np.isnan(error):  # undefined images do not count
                self.rand_errors.append(error)
        auc = np.nan if probability is None else self._add_probability(probability, label, known)
        values = (
            _nan_mean(iou[1:]),
            _nan_mean(dice[1:]),
            wrong / t.size if t.size else None,
            error,
            auc,
        )
        for name, value in zip(PER_IMAGE, values, strict=True):
            self.per_image[name].append(np.nan if value is None else float(value))

    def _check_probability(
        self, probability: npt.NDArray[np.floating], shape: tuple[int, ...]
    ) -> None:
        if self.classes != 2:
            raise ValueError(f"the AUC needs two classes, not {self.classes}")
        if probability.shape != shape:
            raise ValueError(f"probability {probability.shape} and label {shape} differ")
        if probability.dtype.kind != "f" or not np.all((probability >= 0) & (probability <= 1)):
            raise ValueError("probability must be floats in [0, 1] (no NaN)")

    def _add_probability(
        self,
        probability: npt.NDArray[np.floating],
        label: npt.NDArray[np.integer],
        known: npt.NDArray[np.bool_],
    ) -> float:
        """Count one image's probabilities into the AUC histograms; its own AUC (or NaN)."""
        bins = probability_bins(probability[known])
        truth = label[known] == 1
        positive = np.bincount(bins[truth], minlength=AUC_BINS)
        negative = np.bincount(bins[~truth], minlength=AUC_BINS)
        self.positive += positive
        self.negative += negative
        self.scored += 1
        auc, _ = histogram_auc(positive, negative)
        return np.nan if auc is None else auc

    def summary(self) -> dict[str, Any]:
        """Pooled metrics; per-class IoU under ``iou_per_class``; ``auc`` (None unless every
        image came with a probability and both classes occur); ``per_image`` lists."""
        iou, dice = _overlaps(self.intersection, self.predicted, self.actual)
        auc, tie_bound = (None, None)
        if self.scored and self.scored == self.images:
            auc, tie_bound = histogram_auc(self.positive, self.negative)
        return {
            "images": self.images,
            "pixels": self.known,
            "iou": _nan_mean(iou[1:]),
            "dice": _nan_mean(dice[1:]),
            "iou_per_class": [None if np.isnan(v) else float(v) for v in iou],
            "pixel_error": self.wrong / self.known if self.known else None,
            "rand_error": float(np.mean(self.rand_errors)) if self.rand_errors else None,
            "auc": auc,
            "auc_tie_bound": tie_bound,
            "per_image": {name: _complete(values) for name, values in self.per_image.items()},
        }


def _overlaps(
    intersection: npt.NDArray[np.int64],
    predicted: npt.NDArray[np.int64],
    actual: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """IoU and Dice of every class (NaN where a class is in neither map)."""
    union = predicted + actual - intersection
    iou = np.where(union > 0, intersection / np.maximum(union, 1), np.nan)
    total = predicted + actual
    dice = np.where(total > 0, 2 * intersection / np.maximum(total, 1), np.nan)
    return iou, dice


def _complete(values: list[float]) -> list[float] | None:
    """``values`` if none is NaN, else None."""
    return None if any(np.isnan(v) for v in values) else list(values)


def _nan_mean(values: npt.NDArray[np.float64]) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None
