"""Stereo metrics on numpy arrays, accumulated over a dataset (no torch).

Definitions (the left view's disparity, pixels; over valid pixels, pooled per pixel over the
dataset as the KITTI devkit pools them):

- EPE: mean ``|prediction - truth|``.
- D1 (KITTI 2015): share of pixels with error > 3 px **and** > 5 % of the true disparity.
- ``bad_1px`` / ``bad_3px`` (Middlebury's bad 1.0 / bad 3.0, KITTI 2012's Out-1 / Out-3 at these
  thresholds): share of pixels with error > 1 px / > 3 px.
- ``*_noc``: the same over valid pixels that are not occluded (visible in the right view), only
  over images whose dataset marks occlusion (None when no image does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

D1_PIXELS = 3.0
D1_RELATIVE = 0.05
BAD_THRESHOLDS = (1.0, 3.0)


def d1_outliers(
    error: npt.NDArray[np.floating], disparity: npt.NDArray[np.floating]
) -> npt.NDArray[np.bool_]:
    """KITTI D1 outliers ``(N,), (N,) -> bool (N,)`` (any equal shapes): error > 3 px and
    > 5 % of the true disparity."""
    return (error > D1_PIXELS) & (error > D1_RELATIVE * disparity)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


@dataclass
class _Sums:
    """Sums of one pixel subset: count, absolute error, D1 outliers, pixels above each bad
    threshold."""

    pixels: int = 0
    error: float = 0.0
    d1: int = 0
    bad: dict[float, int] = field(default_factory=lambda: dict.fromkeys(BAD_THRESHOLDS, 0))

    def add(self, error: npt.NDArray[np.float64], truth: npt.NDArray[np.float64]) -> None:
        self.pixels += int(error.size)
        self.error += float(error.sum())
        self.d1 += int(d1_outliers(error, truth).sum())
        for threshold in BAD_THRESHOLDS:
            self.bad[threshold] += int((error > threshold).sum())

    def summary(self, suffix: str = "") -> dict[str, float | None]:
        result = {
            f"epe{suffix}": _ratio(self.error, self.pixels),
            f"d1{suffix}": _ratio(self.d1, self.pixels),
        }
        for threshold in BAD_THRESHOLDS:
            result[f"bad_{threshold:g}px{suffix}"] = _ratio(self.bad[threshold], self.pixels)
        return result


@dataclass
class StereoMetrics:
    """Accumulates the metrics of the module docstring over images; :meth:`summary` reports.

    Sums are float64 / int counts, so the pooled results do not depend on image order.
    """

    images: int = 0
    occlusion_images: int = 0
    all: _Sums = field(default_factory=_Sums)
    noc: _Sums = field(default_factory=_Sums)
    image_epe: list[float] = field(default_factory=list)

    def add(
        self,
        prediction: npt.NDArray[np.floating],
        disparity: npt.NDArray[np.floating],
        valid: npt.NDArray[np.bool_],
        occlusion: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Add one image: prediction and true disparity (equal shapes, e.g. ``(H, W)``),
        ``bool`` valid, occlusion (None where the dataset has none)."""
        if np.shape(prediction) != np.shape(disparity):
            raise ValueError(
                f"prediction {np.shape(prediction)} and disparity {np.shape(disparity)} differ"
            )
        valid = np.asarray(valid, bool)
        truth = np.asarray(disparity, np.float64)[valid]
        error = np.abs(np.asarray(prediction, np.float64)[valid] - truth)
        self.images += 1
        self.all.add(error, truth)
        if error.size:
            self.image_epe.append(float(error.mean()))
        if occlusion is not None:
            visible = ~np.asarray(occlusion, bool)[valid]
            self.occlusion_images += 1
            self.noc.add(error[visible], truth[visible])

    def summary(self) -> dict[str, Any]:
        """Pooled metrics (see the module docstring); None where undefined."""
        result: dict[str, Any] = {"images": self.images, "pixels": self.all.pixels}
        result.update(self.all.summary())
        result["epe_image_mean"] = float(np.mean(self.image_epe)) if self.image_epe else None
        result["epe_per_image"] = [float(value) for value in self.image_epe]
        noc = self.noc.summary("_noc")
        if not self.occlusion_images:
            noc = dict.fromkeys(noc)
        result.update(noc)
        return result


__all__ = ["BAD_THRESHOLDS", "D1_PIXELS", "D1_RELATIVE", "StereoMetrics", "d1_outliers"]
