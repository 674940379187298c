"""Compiled inner loops (numba): scanline rasterisation, outline subdivision and compositing.

The renderer makes a few dozen small passes per layer; written with numpy, each pass is a dozen
array calls whose fixed cost dominated the render time. These kernels do one pass per product
in compiled loops (``tests/test_kernels.py`` pins them against direct references: shapely
geometry for the rasteriser, numpy arithmetic for the rest).

Rings are passed packed: ``points`` ``float64 (n, 2)`` holds every ring's vertices one ring after
another and ``ends`` ``int64 (r,)`` the index one past each ring's last vertex (rings are closed:
the last vertex connects back to the first of its ring).

Compiled code is cached on disk beside this module (``cache=True``), so only the first import on
a machine pays the compilation (a few seconds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float64]
Ends = npt.NDArray[np.int64]

_Function = TypeVar("_Function", bound=Callable[..., Any])


def _compile(signature: Any = None) -> Callable[[_Function], _Function]:
    """numba-compile a function (cached on disk), keeping its Python signature for type checks.

    With a ``signature``, one compiled version serves every call instead of numba compiling
    another version for each new array layout it meets: inputs are declared read-only, outputs
    writable, and arrays that callers pass as views or broadcasts of any layout; the few inputs
    that always come contiguous (the rasteriser's outputs) are declared so, for faster code.
    """

    def compile_function(function: _Function) -> _Function:
        jit = numba.njit(signature, cache=True, nogil=True, error_model="numpy")
        return cast(_Function, jit(function))

    return compile_function


_jit = _compile()


def _array(
    dtype: Any, ndim: int, *, readonly: bool = False, layout: Literal["A", "C"] = "A"
) -> Any:
    return numba.types.Array(dtype, ndim, layout, readonly=readonly)


_b, _u8, _u16, _i64 = numba.types.boolean, numba.types.uint8, numba.types.uint16, numba.types.int64
_f32, _f64 = numba.types.float32, numba.types.float64
_IN_POINTS = (_array(_f64, 2, readonly=True), _array(_i64, 1, readonly=True))
_ROI = (_i64, _i64, _i64, _i64)
_INSIDE = _array(_b, 2, layout="C")(*_IN_POINTS, *_ROI)
_COVERAGE = _array(_f32, 2, layout="C")(*_IN_POINTS, *_ROI, _i64)
_SUBDIVIDE = numba.types.Tuple((_array(_f64, 2), _array(_i64, 1)))(*_IN_POINTS, _f64)
_F32_IN = _array(_f32, 2, readonly=True)
_BOUNDARIES = _array(_b, 2, layout="C")(_array(_f32, 3, readonly=True), _f32)
# Masks and coverage come straight from the kernels above: contiguous (which compiles faster code).
_F32_C = _array(_f32, 2, readonly=True, layout="C")
_BOOL_C = _array(_b, 2, readonly=True, layout="C")
_LANDING = numba.types.Tuple((_b, _f64, _f64, _f64, _f64, _array(_b, 2, layout="C")))(
    _F32_IN, _F32_IN, _BOOL_C, _b, _i64, _i64
)
_PAINT = numba.types.void(
    _array(_u8, 3),
    _array(_u8, 3, readonly=True),
    _F32_C,
    _b,
    _BOOL_C,
    _b,
    _F32_IN,
    _F32_IN,
    _BOOL_C,
    _array(_f32, 2),
    _array(_f32, 2),
    _array(_b, 2),
    _array(_u16, 2),
    _i64,
    _i64,
    _i64,
)


@_jit
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


@_compile(_INSIDE)
def inside(
    points: Points, ends: Ends, x0: int, y0: int, height: int, width: int
) -> npt.NDArray[np.bool_]:
    """``bool (height, width)``: pixel centres of the ROI inside the rings (non-zero winding).

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
    result = np.empty((height, width), np.bool_)
    for row in range(height):
        winding = 0
        for column in range(width):
            winding += steps[row, column]
            result[row, column] = winding != 0
    return result


@_compile(_COVERAGE)
def coverage(
    points: Points, ends: Ends, x0: int, y0: int, height: int, width: int, sub: int
) -> npt.NDArray[np.float32]:
    """``float32 (height, width)`` in [0, 1]: share of each ROI pixel covered by the rings.

    Exact along ``sub`` evenly spaced sub-rows per pixel row: a crossing covers the pixels right
    of its own entirely and its own pixel from the crossing to the pixel's right edge; the sum
    over a pixel's sub-rows is accumulated straight into its pixel row.
    """
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
    result = np.empty((height, width), np.float32)
    scale = np.float32(1.0 / sub)
    for row in range(height):
        running = 0
        for column in range(width):
            running += steps[row, column]
            share = abs((np.float32(running) + np.float32(partial[row, column])) * scale)
            result[row, column] = min(share, np.float32(1.0))
    return result


@_compile(_SUBDIVIDE)
def subdivide(points: Points, ends: Ends, max_edge: float) -> tuple[Points, Ends]:
    """Cut every edge of packed rings into ``ceil(length / max_edge)`` equal pieces.

    Returns the new ``(points, ends)``; each ring keeps its vertices, in order, with the cut
    points of each edge after the edge's first vertex (``p_i + (k / n) (p_j - p_i)``).
    """
    count = points.shape[0]
    pieces = np.empty(count, np.int64)
    start = 0
    for ring in range(ends.shape[0]):
        end = ends[ring]
        for i in range(start, end):
            j = i + 1 if i + 1 < end else start
            dx, dy = points[j, 0] - points[i, 0], points[j, 1] - points[i, 1]
            pieces[i] = max(int(math.ceil(math.sqrt(dx * dx + dy * dy) / max_edge)), 1)
        start = end
    cut = np.empty((pieces.sum(), 2), np.float64)
    cut_ends = np.empty_like(ends)
    out = 0
    start = 0
    for ring in range(ends.shape[0]):
        end = ends[ring]
        for i in range(start, end):
            j = i + 1 if i + 1 < end else start
            for piece in range(pieces[i]):
                t = piece / pieces[i]
                cut[out, 0] = points[i, 0] + t * (points[j, 0] - points[i, 0])
                cut[out, 1] = points[i, 1] + t * (points[j, 1] - points[i, 1])
                out += 1
        cut_ends[ring] = out
        start = end
    return cut, cut_ends


@_compile(_LANDING)
def landing(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
    height: int,
    width: int,
) -> tuple[bool, float, float, float, float, npt.NDArray[np.bool_]]:
    """Where a layer's pixels land in the other frame: their bounds and which leave the frame.

    ``x``, ``y``: ``float32 (h, w)`` positions in the other frame (broadcast views allowed);
    ``owned``: ``bool (h, w)``, the pixels that count for the bounds (all if not
    ``has_owner``). Returns ``(found, xmin, ymin, xmax, ymax, outside)``: ``found`` is False
    when no pixel counts; ``outside`` (``bool (h, w)``) is True where the position leaves
    ``[-0.5, width - 0.5] x [-0.5, height - 0.5]``.
    """
    rows, columns = x.shape
    outside = np.empty((rows, columns), np.bool_)
    found = False
    xmin = ymin = np.inf
    xmax = ymax = -np.inf
    right, bottom = np.float32(width - 0.5), np.float32(height - 0.5)
    edge = np.float32(-0.5)
    for i in range(rows):
        for j in range(columns):
            u, v = x[i, j], y[i, j]
            outside[i, j] = (u < edge) | (u > right) | (v < edge) | (v > bottom)
            if has_owner and not owned[i, j]:
                continue
            found = True
            xmin, xmax = min(xmin, u), max(xmax, u)
            ymin, ymax = min(ymin, v), max(ymax, v)
    return found, float(xmin), float(ymin), float(xmax), float(ymax), outside


@_compile(_PAINT)
def paint(
    image: npt.NDArray[np.uint8],
    colour: npt.NDArray[np.uint8],
    alpha: npt.NDArray[np.float32],
    has_alpha: bool,
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.float32],
    occluded: npt.NDArray[np.bool_],
    u: npt.NDArray[np.float32],
    v: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    x0: int,
    y0: int,
) -> None:
    """Composite one layer into a frame's ROI and write its ground truth where it owns pixels.

    ``image`` (uint8 (h, w, 3)) becomes ``colour * alpha + image * (1 - alpha)`` rounded half up
    (plain ``colour`` without alpha). Where the layer owns the pixel centre (everywhere without an
    owner mask): flow ``(u, v) = (x, y) - pixel centre``, ``occlusion = occluded`` and
    ``segmentation = layer_id``. Every array is the ROI's view of the frame's array.
    """
    rows, columns, channels = image.shape
    one, half = np.float32(1.0), np.float32(0.5)
    for i in range(rows):
        pixels, colours = image[i], colour[i]
        for j in range(columns):
            a = alpha[i, j] if has_alpha else one
            if a >= one:  # inside: the colour (what the blend gives, without the arithmetic)
                for c in range(channels):
                    pixels[j, c] = colours[j, c]
            elif a > 0:  # an edge pixel (a == 0 leaves the pixel as it is)
                b = one - a
                for c in range(channels):
                    # A convex combination of bytes: in [0, 255], so +0.5 and truncation round.
                    blended = np.float32(colours[j, c]) * a + np.float32(pixels[j, c]) * b
                    pixels[j, c] = np.uint8(blended + half)
        centre_y = np.float32(y0 + i)
        own, at_x, at_y, hidden = owned[i], x[i], y[i], occluded[i]
        flow_u, flow_v, occlusion_row, ids = u[i], v[i], occlusion[i], segmentation[i]
        for j in range(columns):
            if has_owner and not own[j]:
                continue
            flow_u[j] = at_x[j] - np.float32(x0 + j)
            flow_v[j] = at_y[j] - centre_y
            occlusion_row[j] = hidden[j]
            ids[j] = layer_id


@_compile(_BOUNDARIES)
def motion_boundaries(flow: npt.NDArray[np.float32], limit: float) -> npt.NDArray[np.bool_]:
    """``bool (H, W)``: pixels whose flow differs from a 4-neighbour's by more than ``sqrt(limit)``.

    ``flow`` is ``float32 (H, W, 2)``; the squared difference is taken in float32. Both pixels of
    a jumping neighbour pair are marked.
    """
    height, width = flow.shape[0], flow.shape[1]
    boundary = np.zeros((height, width), np.bool_)
    for i in range(height):
        for j in range(width):
            u, v = flow[i, j, 0], flow[i, j, 1]
            if j + 1 < width:
                du, dv = flow[i, j + 1, 0] - u, flow[i, j + 1, 1] - v
                if du * du + dv * dv > limit:
                    boundary[i, j] = boundary[i, j + 1] = True
            if i + 1 < height:
                du, dv = flow[i + 1, j, 0] - u, flow[i + 1, j, 1] - v
                if du * du + dv * dv > limit:
                    boundary[i, j] = boundary[i + 1, j] = True
    return boundary
