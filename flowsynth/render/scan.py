"""Compiled scanline rasteriser (numba): which pixel centres of a region of interest (ROI) lie
inside rings (:func:`inside`), and what share of each pixel they cover (:func:`coverage`).

Both walk the rings' edges once and record, per row, where each edge crosses it as steps whose
running sum along the row gives the answer, so a mask costs one pass over the edges and one
over its pixels. :mod:`flowsynth.render.kernels` fuses the same steps into its per-layer pass
(``footprint``), and ``tests/render/test_kernels.py`` pins both against shapely geometry.

Rings are passed packed: ``points`` ``float64 (n, 2)`` holds every ring's vertices one ring after
another and ``ends`` ``int64 (r,)`` the index one past each ring's last vertex (rings are closed:
the last vertex connects back to the first of its ring).

Compiled as ``flowsynth.base.compiled`` says (cached on disk; no fast-math, so the same bytes on
every CPU).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from flowsynth.base.compiled import array_type, compiled, jit
from flowsynth.scene.kernels import Ends, Points

# One compiled version for every call: the packed rings are declared read-only and of any layout
# (callers pass views), the masks returned contiguous (which compiles faster code downstream).

_b, _i64 = numba.types.boolean, numba.types.int64
_f32, _f64 = numba.types.float32, numba.types.float64
_IN_POINTS = (array_type(_f64, 2, readonly=True), array_type(_i64, 1, readonly=True))
_ROI = (_i64, _i64, _i64, _i64)
_INSIDE = array_type(_b, 2, layout="C")(*_IN_POINTS, *_ROI)
_COVERAGE = array_type(_f32, 2, layout="C")(*_IN_POINTS, *_ROI, _i64)


@jit
def _rows_spanned(y0: float, y1: float, first_y: float, step: float, rows: int) -> tuple[int, int]:
    """Scanlines ``first_y + i * step`` an edge from ``y0`` to ``y1`` crosses: ``[first, stop)``.

    An edge covers the half-open span ``[min y, max y)``, so a vertex on a scanline is counted
    once where the outline passes through it and zero or two times at an extremum, which keeps
    the winding number consistent.
    """
    low, high = min(y0, y1), max(y0, y1)
    first = min(max(math.ceil((low - first_y) / step), 0.0), float(rows))
    stop = min(max(math.ceil((high - first_y) / step), 0.0), float(rows))
    return int(first), int(stop)


@jit
def _inside_steps(
    points: Points, ends: Ends, x0: int, y0: int, height: int, width: int
) -> npt.NDArray[np.int32]:
    """Winding-number steps of the pixel centres of a ROI: ``int32 (height, width + 1)``, whose
    running sum along a row is the winding number of each pixel.

    Each edge crossing a pixel row at ``x`` changes the winding number of the pixels strictly
    right of ``x`` by the edge's direction (+1 going down, -1 going up).
    """
    steps = np.zeros((height, width + 1), np.int32)
    first_y = float(y0)
    start = 0
    for ring in range(ends.shape[0]):
        end = ends[ring]
        for i in range(start, end):
            j = i + 1 if i + 1 < end else start
            sx, sy = points[i, 0], points[i, 1]
            first, stop = _rows_spanned(sy, points[j, 1], first_y, 1.0, height)
            if first >= stop:
                continue
            dx, dy = points[j, 0] - sx, points[j, 1] - sy
            direction = 1 if dy > 0 else -1
            for row in range(first, stop):
                y = first_y + row * 1.0
                x = sx + (y - sy) * dx / dy
                column = min(max(math.floor(x - x0) + 1, 0), width)
                steps[row, column] += direction
        start = end
    return steps


@compiled(_INSIDE)
def inside(
    points: Points, ends: Ends, x0: int, y0: int, height: int, width: int
) -> npt.NDArray[np.bool_]:
    """``bool (height, width)``: pixel centres of the ROI inside the rings (non-zero winding;
    see :func:`_inside_steps`)."""
    steps = _inside_steps(points, ends, x0, y0, height, width)
    result = np.empty((height, width), np.bool_)
    for row in range(height):
        winding = 0
        for column in range(width):
            winding += steps[row, column]
            result[row, column] = winding != 0
    return result


@jit
def _coverage_steps(
    points: Points, ends: Ends, x0: int, y0: int, height: int, width: int, sub: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """Coverage of a ROI along ``sub`` sub-rows per pixel row, accumulated per pixel row:
    ``(steps int32 (height, width + 1), partial float64 (height, width + 1))``; a pixel's covered
    share is ``|running sum of steps + partial| / sub`` (see :func:`coverage`)."""
    steps = np.zeros((height, width + 1), np.int32)
    partial = np.zeros((height, width + 1), np.float64)
    step = 1.0 / sub
    first_y = y0 - 0.5 + 0.5 / sub
    left = x0 - 0.5  # left edge of the ROI's first pixel
    start = 0
    for ring in range(ends.shape[0]):
        end = ends[ring]
        for i in range(start, end):
            j = i + 1 if i + 1 < end else start
            sx, sy = points[i, 0], points[i, 1]
            first, stop = _rows_spanned(sy, points[j, 1], first_y, step, height * sub)
            if first >= stop:
                continue
            dx, dy = points[j, 0] - sx, points[j, 1] - sy
            direction = 1.0 if dy > 0 else -1.0
            for row in range(first, stop):
                y = first_y + row * step
                t = (sx + (y - sy) * dx / dy) - left
                cell = math.floor(t)
                pixel_row = row // sub
                if cell < width:
                    steps[pixel_row, int(min(max(cell + 1.0, 0.0), float(width)))] += int(direction)
                    if cell >= 0:
                        partial[pixel_row, int(cell)] += direction * (cell + 1.0 - t)
        start = end
    return steps, partial


@jit
def _share(running: int, partial: float, scale: np.float32) -> np.float32:
    """A pixel's covered share from its running step sum and partial crossing (float32)."""
    return min(abs((np.float32(running) + np.float32(partial)) * scale), np.float32(1.0))


@compiled(_COVERAGE)
def coverage(
    points: Points, ends: Ends, x0: int, y0: int, height: int, width: int, sub: int
) -> npt.NDArray[np.float32]:
    """``float32 (height, width)`` in [0, 1]: share of each ROI pixel covered by the rings.

    Exact along ``sub`` evenly spaced sub-rows per pixel row: a crossing covers the pixels right
    of its own entirely and its own pixel from the crossing to the pixel's right edge; the sum
    over a pixel's sub-rows is accumulated straight into its pixel row.
    """
    steps, partial = _coverage_steps(points, ends, x0, y0, height, width, sub)
    result = np.empty((height, width), np.float32)
    scale = np.float32(1.0 / sub)
    for row in range(height):
        running = 0
        for column in range(width):
            running += steps[row, column]
            result[row, column] = _share(running, partial[row, column], scale)
    return result
