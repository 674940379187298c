"""Exact scanline rasterisation of polygons (non-zero winding rule).

Two products on a rectangular region of interest (ROI) of the pixel grid:

- ``inside``: True where the pixel *centre* lies inside the shape. This is an exact point test
  (up to floating-point rounding), unlike ``cv2.fillPoly``, which also fills pixels whose centres
  lie up to half a pixel outside. Ground truth (ownership, flow, occlusion) is decided with it.
- ``coverage``: the share of each pixel covered by the shape, for anti-aliased edges: exact
  horizontally, sampled on ``supersampling`` rows per pixel vertically.

Rings must be oriented so that exteriors and holes wind in opposite senses (see
``scene.shapes.rings``); then several shapes can be rasterised at once as their union.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flowsynth.render import scan
from flowsynth.scene import kernels as scene_kernels

Points = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Roi:
    """A rectangle of pixels: columns ``x0 .. x0 + width - 1``, rows ``y0 .. y0 + height - 1``."""

    x0: int
    y0: int
    width: int
    height: int

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, columns)`` slices of the ROI in the full image."""
        return slice(self.y0, self.y0 + self.height), slice(self.x0, self.x0 + self.width)

    def grid(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Pixel-centre coordinates ``(x (1, w), y (h, 1))`` of the ROI, ready to broadcast."""
        x = np.arange(self.x0, self.x0 + self.width, dtype=np.float32)[None, :]
        y = np.arange(self.y0, self.y0 + self.height, dtype=np.float32)[:, None]
        return x, y


def roi_of_bounds(
    bounds: tuple[float, float, float, float], height: int, width: int, margin: int = 1
) -> Roi:
    """Pixels whose centres may lie within ``(xmin, ymin, xmax, ymax)``, clipped to the image."""
    xmin, ymin, xmax, ymax = bounds
    x0 = max(math.floor(xmin) - margin, 0)
    y0 = max(math.floor(ymin) - margin, 0)
    x1 = min(math.ceil(xmax) + margin + 1, width)
    y1 = min(math.ceil(ymax) + margin + 1, height)
    return Roi(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


class Rings(NamedTuple):
    """Rings packed for the kernels: every vertex, ring after ring, and each ring's end
    (the index one past its last vertex)."""

    points: Points
    ends: npt.NDArray[np.int64]

    @property
    def empty(self) -> bool:
        return len(self.ends) == 0

    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the vertices (``scene_kernels.bounds``)."""
        return scene_kernels.bounds(self.points)


def pack(rings: list[Points]) -> Rings:
    """Rings (each ``float64 (n, 2)``, closed) packed into one array."""
    if not rings:
        return Rings(np.empty((0, 2)), np.empty(0, dtype=np.int64))
    points = np.ascontiguousarray(np.concatenate(rings), dtype=np.float64)
    ends = np.cumsum(np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings)))
    return Rings(points, ends)


def concat(parts: Sequence[Rings]) -> Rings:
    """Packed rings of several packed sets, one after another."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return pack([])
    offsets = np.cumsum([0] + [len(part.points) for part in parts[:-1]])
    return Rings(
        np.concatenate([part.points for part in parts]),
        np.concatenate([part.ends + offset for part, offset in zip(parts, offsets, strict=True)]),
    )


def inside(rings: Rings | list[Points], roi: Roi) -> npt.NDArray[np.bool_]:
    """``bool (h, w)``: pixel centres of ``roi`` inside the union of ``rings``.

    Scanline crossings of every edge change the winding number of the pixels right of them; a
    pixel is inside where the winding number is non-zero (``scan.inside``).
    """
    packed = rings if isinstance(rings, Rings) else pack(rings)
    if roi.empty or packed.empty:
        return np.zeros((max(roi.height, 0), max(roi.width, 0)), dtype=bool)
    return scan.inside(*packed, roi.x0, roi.y0, roi.height, roi.width)  # type: ignore[no-any-return]


def coverage(
    rings: Rings | list[Points], roi: Roi, supersampling: int = 4
) -> npt.NDArray[np.float32]:
    """``float32 (h, w)`` in [0, 1]: share of each pixel of ``roi`` covered by ``rings``.

    Exact along each of ``supersampling`` evenly spaced sub-rows per pixel row. Assumes the rings
    do not overlap themselves (winding number 0 or 1), as for one valid shapely geometry.
    """
    packed = rings if isinstance(rings, Rings) else pack(rings)
    if roi.empty or packed.empty:
        return np.zeros((max(roi.height, 0), max(roi.width, 0)), dtype=np.float32)
    return scan.coverage(*packed, roi.x0, roi.y0, roi.height, roi.width, supersampling)  # type: ignore[no-any-return]
