"""Flow metrics on numpy arrays, accumulated over a dataset (no torch).

Pooling
-------
*Per pixel* (the default, as the KITTI devkit pools pixels): a metric over a dataset is the sum
over every valid pixel of every image divided by the number of valid pixels, so large images
and dense ground truth weigh more. *Per image*: the mean over images of each image's own value
(RAFT's EPE on KITTI); reported beside the pixel-pooled EPE and Fl as ``*_image_mean``.

Definitions
-----------
- EPE: ``||prediction - ground truth||_2`` per pixel, in pixels.
- ``noc`` / ``occ``: EPE over valid non-occluded / occluded pixels, only over images whose
  dataset provides occlusion (None when no image does).
- ``acc_1px`` etc.: share of valid pixels with EPE below 1, 3, 5 px.
- Fl (KITTI): share of valid pixels with EPE > 3 px **and** EPE > 5 % of the ground-truth
  magnitude.
- Speed bins (Sintel): EPE over valid pixels with ground-truth speed in ``[0, 10)``,
  ``[10, 40)``, ``[40, inf)`` px (None when a bin is empty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

ACCURACY_THRESHOLDS = (1.0, 3.0, 5.0)
SPEED_BINS = (("s0-10", 0.0, 10.0), ("s10-40", 10.0, 40.0), ("s40+", 40.0, math.inf))
FL_PIXELS = 3.0
FL_RELATIVE = 0.05


def endpoint_error(
    prediction: npt.NDArray[np.floating], flow: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """``(H, W, 2), (H, W, 2) -> float64 (H, W)``: Euclidean distance of the flow vectors."""
    if prediction.shape != flow.shape or flow.shape[-1] != 2:
        raise ValueError(f"prediction {prediction.shape} and flow {flow.shape} must be (H, W, 2)")
    difference = prediction.astype(np.float64) - flow.astype(np.float64)
    return np.sqrt((difference**2).sum(axis=-1))


def fl_outliers(
    epe: npt.NDArray[np.floating], magnitude: npt.NDArray[np.floating]
) -> npt.NDArray[np.bool_]:
    """KITTI outliers ``(H, W), (H, W) -> bool (H, W)``: EPE > 3 px and > 5 % of ``|gt|``."""
    return (epe > FL_PIXELS) & (epe > FL_RELATIVE * magnitude)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


@dataclass
class FlowMetrics:
    """Accumulates the metrics of the module docstring over images; :meth:`summary` reports.

    All sums are float64 / int counts, so the pooled results do not depend on image order.
    """

    pixels: int = 0
    images: int = 0
    epe_sum: float = 0.0
    outliers: int = 0
    below: dict[float, int] = field(default_factory=lambda: dict.fromkeys(ACCURACY_THRESHOLDS, 0))
    image_epe: list[float] = field(default_factory=list)
    image_fl: list[float] = field(default_factory=list)
    noc: list[float] = field(default_factory=lambda: [0.0, 0.0])  # [sum, count]
    occ: list[float] = field(default_factory=lambda: [0.0, 0.0])
    occlusion_images: int = 0
    speed: dict[str, list[float]] = field(
        default_factory=lambda: {name: [0.0, 0.0] for name, _, _ in SPEED_BINS}
    )

    def add(
        self,
        prediction: npt.NDArray[np.floating],
        flow: npt.NDArray[np.floating],
        valid: npt.NDArray[np.bool_],
        occlusion: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Add one image: ``(H, W, 2)`` prediction and ground truth, ``bool (H, W)`` valid,
        occlusion (None where the dataset has none). Images without valid pixels count in
        ``images`` but not in the per-image means."""
        valid = np.asarray(valid, bool)
        epe = endpoint_error(prediction, flow)
        magnitude = np.sqrt((flow.astype(np.float64) ** 2).sum(axis=-1))
        errors, speeds = epe[valid], magnitude[valid]
        outliers = fl_outliers(errors, speeds)
        self.images += 1
        self.pixels += errors.size
        self.epe_sum += float(errors.sum())
        self.outliers += int(outliers.sum())
        for threshold in ACCURACY_THRESHOLDS:
            self.below[threshold] += int((errors < threshold).sum())
        if errors.size:
            self.image_epe.append(float(errors.mean()))
            self.image_fl.append(float(outliers.mean()))
        if occlusion is not None:
            occluded = np.asarray(occlusion, bool)[valid]
            self.occlusion_images += 1
            self.noc[0] += float(errors[~occluded].sum())
            self.noc[1] += int((~occluded).sum())
            self.occ[0] += float(errors[occluded].sum())
            self.occ[1] += int(occluded.sum())
        for name, low, high in SPEED_BINS:
            inside = (speeds >= low) & (speeds < high)
            self.speed[name][0] += float(errors[inside].sum())
            self.speed[name][1] += int(inside.sum())

    def summary(self) -> dict[str, Any]:
        """Pooled metrics (see the module docstring); None where undefined."""
        result: dict[str, Any] = {
            "images": self.images,
            "pixels": self.pixels,
            "epe": _ratio(self.epe_sum, self.pixels),
            "epe_image_mean": float(np.mean(self.image_epe)) if self.image_epe else None,
            "epe_per_image": [float(value) for value in self.image_epe],
            "epe_noc": _ratio(*self.noc) if self.occlusion_images else None,
            "epe_occ": _ratio(*self.occ) if self.occlusion_images else None,
        }
        for threshold in ACCURACY_THRESHOLDS:
            result[f"acc_{threshold:g}px"] = _ratio(self.below[threshold], self.pixels)
        result["fl_all"] = _ratio(self.outliers, self.pixels)
        result["fl_all_image_mean"] = float(np.mean(self.image_fl)) if self.image_fl else None
        for name, _, _ in SPEED_BINS:
            result[name] = _ratio(*self.speed[name])
        return result
