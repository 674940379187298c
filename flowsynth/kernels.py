"""Compiled inner loops (numba): scanline rasterisation, outline subdivision and mapping, and the
pass that draws a layer into a frame.

Written with numpy, the renderer made a dozen array passes per layer and frame whose fixed cost
and memory traffic dominated the render time. These kernels do the work in compiled loops: the
rasteriser one pass per mask, :func:`footprint` one pass per layer and frame for its coverage,
owned pixel centres and what the layers in front leave of them (:func:`unhidden` for the
background), :func:`occluded` one call per layer and frame for the front layers' outlines pulled
back through its motion, :func:`composite` one pass per layer and frame for positions, colour
and ground truth (``tests/test_kernels.py`` pins them against direct references: shapely
geometry for the rasteriser, numpy arithmetic for the rest, and the fused passes against the
kernels they fuse).

Rings are passed packed: ``points`` ``float64 (n, 2)`` holds every ring's vertices one ring after
another and ``ends`` ``int64 (r,)`` the index one past each ring's last vertex (rings are closed:
the last vertex connects back to the first of its ring).

Compiled as ``flowsynth.compiled`` says (cached on disk; no fast-math, so the same bytes on every
CPU).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from flowsynth.compiled import compiled, jit

Points = npt.NDArray[np.float64]
Ends = npt.NDArray[np.int64]
#: A layer's motion as the kernels take it, one argument: ``(affine (2, 3), centre x, centre y,
#: shear axes, shear ends, waves, inverse)`` (``scene.transform.LayerMotion.kernel_args``).
Motion = tuple[npt.NDArray[np.float64], float, float, Ends, Ends, npt.NDArray[np.float64], bool]

# Kernels compiled with a signature (``compiled(...)``) have one version for every call: inputs
# are declared read-only, outputs writable, and arrays that callers pass as views or broadcasts of
# any layout; the few inputs that always come contiguous (the rasteriser's outputs) are declared
# so, for faster code.


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
_BOUNDARIES = _array(_b, 2, layout="C")(_array(_f32, 3, readonly=True), _f32)
_BOUNDS = numba.types.UniTuple(_f64, 4)(_array(_f64, 2, readonly=True))
# Masks and coverage come straight from the kernels above: contiguous (which compiles faster code).
_F32_C = _array(_f32, 2, readonly=True, layout="C")
_BOOL_C = _array(_b, 2, readonly=True, layout="C")
# A layer's motion, one argument (``Motion``; see ``scene.transform.LayerMotion.kernel_args``).
_MOTION = numba.types.Tuple(
    (
        _array(_f64, 2, readonly=True),  # affine (2, 3)
        _f64,  # centre x
        _f64,  # centre y
        _array(_i64, 1, readonly=True),  # axes
        _array(_i64, 1, readonly=True),  # ends
        _array(_f64, 2, readonly=True),  # waves
        _b,  # inverse
    )
)
_UNHIDDEN = numba.types.Tuple(
    (
        _array(_i64, 1, layout="C"),
        _array(_f32, 2, layout="C"),
        _array(_b, 2, layout="C"),
        _array(_i64, 2, layout="C"),
    )
)(_array(_b, 2, layout="C"), _array(_b, 2, layout="C"), *_ROI, _F32_C, _BOOL_C, _b)
_FOOTPRINT = _UNHIDDEN.return_type(
    *_IN_POINTS, *_ROI, _i64, _array(_b, 2, layout="C"), _array(_b, 2, layout="C")
)
_OCCLUDED = _array(_b, 2, layout="C")(
    *_IN_POINTS,
    _array(_i64, 1, readonly=True),  # layer_rings
    _array(_f64, 2, readonly=True),  # bounds
    _i64,  # first layer
    numba.types.UniTuple(_f64, 4),  # reach
    _b,  # anywhere
    _f64,  # max_edge
    *_ROI,
    _MOTION,
)
_MAP_POINTS = _array(_f64, 2, layout="C")(_array(_f64, 2, readonly=True), _MOTION)
_COMPOSITE = numba.types.void(
    _array(_u8, 3, layout="C"),
    _array(_f32, 3, layout="C"),
    _array(_b, 2, layout="C"),
    _array(_u16, 2, layout="C"),
    _i64,
    *_ROI,
    _array(_u8, 3, readonly=True, layout="C"),
    _i64,
    _i64,
    _F32_C,
    _b,
    _BOOL_C,
    _b,
    _BOOL_C,
    _array(_i64, 2, readonly=True, layout="C"),
    _MOTION,
)


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


@compiled(_BOUNDS)
def bounds(points: Points) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of ``float64 (n, 2)`` finite points: what
    ``points.min(axis=0)`` and ``points.max(axis=0)`` give, in one pass (numpy's reductions
    along the long axis of an ``(n, 2)`` array are tens of times slower)."""
    if points.shape[0] == 0:
        raise ValueError("bounds of no points")
    xmin, ymin = points[0, 0], points[0, 1]
    xmax, ymax = xmin, ymin
    for n in range(1, points.shape[0]):
        x, y = points[n, 0], points[n, 1]
        xmin, xmax = min(xmin, x), max(xmax, x)
        ymin, ymax = min(ymin, y), max(ymax, y)
    return xmin, ymin, xmax, ymax


@compiled(_SUBDIVIDE)
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


# float32 sine (Cephes ``sinf``/``cosf`` polynomials on a quarter period, Cody-Waite reduction by
# pi/2 in three parts): within 1e-7 of ``sin`` for |x| < 1e3 rad, and vectorised by LLVM, where
# numba's ``math.sin`` is a scalar libm call.
_TWO_OVER_PI = np.float32(2.0 / math.pi)
_PIO2 = (np.float32(1.5703125), np.float32(4.837512969970703125e-4), np.float32(7.54978995489e-8))
_SIN = (np.float32(-1.6666654611e-1), np.float32(8.3321608736e-3), np.float32(-1.9515295891e-4))
_COS = (
    np.float32(4.166664568298827e-2),
    np.float32(-1.388731625493765e-3),
    np.float32(2.443315711809948e-5),
)
_HALF32, _ONE32 = np.float32(0.5), np.float32(1.0)


@jit
def sin32(x: float) -> float:
    """``sin(x)`` of a float32 ``x`` in float32 (see the constants above)."""
    n = np.floor(x * _TWO_OVER_PI + _HALF32)
    r = ((x - n * _PIO2[0]) - n * _PIO2[1]) - n * _PIO2[2]
    r2 = r * r
    sine = r + r * r2 * (_SIN[0] + r2 * (_SIN[1] + r2 * _SIN[2]))
    cosine = _ONE32 - _HALF32 * r2 + r2 * r2 * (_COS[0] + r2 * (_COS[1] + r2 * _COS[2]))
    quarter = np.int32(n) & 3
    value = cosine if quarter & 1 else sine
    return -value if quarter & 2 else value


@jit
def _deform(
    xs: npt.NDArray[np.floating],
    ys: npt.NDArray[np.floating],
    total: npt.NDArray[np.floating],
    centre_x: float,
    centre_y: float,
    axes: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    waves: npt.NDArray[np.float64],
    inverse: bool,
) -> None:
    """Apply a layer's deformation ``D`` (or ``D^-1``) in place to the positions ``xs``, ``ys``
    (float32 rows of pixels or float64 outline points; ``total`` is scratch of their length).

    ``D`` is the shears about the centre (``scene.transform.Deformation``; none when ``axes`` is
    empty): shear ``s`` moves coordinate ``axes[s]`` by the sum of the waves ``ends[s - 1] ..
    ends[s] - 1`` of ``waves`` (amplitude, frequency, phase) at the other coordinate; each wave
    is ``amplitude * sin32(float32(other * frequency) + phase)`` in float32, the product taken in
    the positions' precision. One array pass per wave, so that LLVM vectorises the sines.
    """
    shears = axes.shape[0]
    if not shears:
        return
    cx, cy = xs.dtype.type(centre_x), xs.dtype.type(centre_y)
    for n in range(xs.shape[0]):
        xs[n] -= cx
        ys[n] -= cy
    for step in range(shears):
        s = shears - 1 - step if inverse else step
        moved, other = (xs, ys) if axes[s] == 0 else (ys, xs)
        total[:] = 0
        for w in range(ends[s - 1] if s else 0, ends[s]):
            a, phase = np.float32(waves[w, 0]), np.float32(waves[w, 2])
            k = xs.dtype.type(waves[w, 1])  # the product in the positions' precision
            for n in range(xs.shape[0]):
                total[n] += a * sin32(np.float32(other[n] * k) + phase)
        for n in range(xs.shape[0]):
            moved[n] = moved[n] - total[n] if inverse else moved[n] + total[n]
    for n in range(xs.shape[0]):
        xs[n] += cx
        ys[n] += cy


@jit
def _affine(
    affine: npt.NDArray[np.float64], xs: npt.NDArray[np.floating], ys: npt.NDArray[np.floating]
) -> None:
    """``(xs, ys) <- affine @ [xs, ys, 1]`` in place, in the arrays' precision."""
    dtype = xs.dtype
    m00, m01, m02 = dtype.type(affine[0, 0]), dtype.type(affine[0, 1]), dtype.type(affine[0, 2])
    m10, m11, m12 = dtype.type(affine[1, 0]), dtype.type(affine[1, 1]), dtype.type(affine[1, 2])
    for n in range(xs.shape[0]):
        x, y = xs[n], ys[n]
        xs[n] = m00 * x + (m01 * y + m02)
        ys[n] = m10 * x + (m11 * y + m12)


@jit
def _move(
    xs: npt.NDArray[np.floating],
    ys: npt.NDArray[np.floating],
    total: npt.NDArray[np.floating],
    motion: Motion,
) -> None:
    """Move positions in place by a layer's motion: ``affine @ [D(p), 1]``, or with ``inverse``
    ``D^-1(affine @ [q, 1])`` (``affine`` then being the inverse matrix; see :func:`_deform`)."""
    affine, centre_x, centre_y, axes, ends, waves, inverse = motion
    if inverse:
        _affine(affine, xs, ys)
    _deform(xs, ys, total, centre_x, centre_y, axes, ends, waves, inverse)
    if not inverse:
        _affine(affine, xs, ys)


@compiled(_MAP_POINTS)
def map_points(points: Points, motion: Motion) -> Points:
    """``float64 (n, 2)`` points moved by a layer's ``motion`` (:func:`_move`), in float64 but
    for the sines."""
    count = points.shape[0]
    xs, ys = points[:, 0].copy(), points[:, 1].copy()
    _move(xs, ys, np.empty(count), motion)
    out = np.empty((count, 2), np.float64)
    out[:, 0], out[:, 1] = xs, ys
    return out


@jit
def _takes(
    box: npt.NDArray[np.float64],
    reach: tuple[float, float, float, float],
    anywhere: bool,
    rings: int,
) -> bool:
    """Whether :func:`occluded` takes a layer of ``rings`` rings within ``box``."""
    meets = box[0] <= reach[2] and reach[0] <= box[2] and box[1] <= reach[3] and reach[1] <= box[3]
    return rings > 0 and (anywhere or meets)


@compiled(_OCCLUDED)
def occluded(
    points: Points,
    ends: Ends,
    layer_rings: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.float64],
    first: int,
    reach: tuple[float, float, float, float],
    anywhere: bool,
    max_edge: float,
    x0: int,
    y0: int,
    height: int,
    width: int,
    motion: Motion,
) -> npt.NDArray[np.bool_]:
    """``bool (height, width)``: pixel centres of a ROI inside the union of layers' outlines
    moved by a layer's motion (:func:`inside` of :func:`map_points`).

    ``points`` and ``ends`` pack the rings of every layer, layer ``l`` owning rings
    ``layer_rings[l] .. layer_rings[l + 1] - 1``, inside ``bounds[l]`` (xmin, ymin, xmax,
    ymax). The outlines taken are those of layers ``first`` and later whose bounds meet
    ``reach`` (every one if ``anywhere``), in layer order; with ``max_edge > 0`` they are
    subdivided (:func:`subdivide`) before they are moved, as a deformation needs.
    """
    count = rings = 0
    for layer in range(first, layer_rings.shape[0] - 1):
        r0, r1 = layer_rings[layer], layer_rings[layer + 1]
        if _takes(bounds[layer], reach, anywhere, r1 - r0):
            count += ends[r1 - 1] - (ends[r0 - 1] if r0 else 0)
            rings += r1 - r0
    if rings == 0:
        return np.zeros((height, width), np.bool_)
    taken = np.empty((count, 2), np.float64)
    taken_ends = np.empty(rings, np.int64)
    count = rings = 0
    for layer in range(first, layer_rings.shape[0] - 1):
        r0, r1 = layer_rings[layer], layer_rings[layer + 1]
        if _takes(bounds[layer], reach, anywhere, r1 - r0):
            for ring in range(r0, r1):
                start = ends[ring - 1] if ring else 0
                for n in range(start, ends[ring]):
                    taken[count, 0], taken[count, 1] = points[n, 0], points[n, 1]
                    count += 1
                taken_ends[rings] = count
                rings += 1
    if max_edge > 0:
        taken, taken_ends = subdivide(taken, taken_ends, max_edge)
    moved = map_points(taken, motion)
    return inside(moved, taken_ends, x0, y0, height, width)


@jit
def _blend(pixel: npt.NDArray[np.uint8], c: int, value: int, a: float) -> None:
    """``pixel[c]`` becomes ``value * a + pixel[c] * (1 - a)`` rounded half up (``a`` in (0, 1]).

    A convex combination of bytes lies in [0, 255], so +0.5 and truncation round.
    """
    if a >= np.float32(1.0):  # what the blend gives, without the arithmetic
        pixel[c] = value
    else:
        rest = np.float32(1.0) - a
        pixel[c] = np.uint8(np.float32(value) * a + np.float32(pixel[c]) * rest + np.float32(0.5))


@compiled(_COMPOSITE)
def composite(
    image: npt.NDArray[np.uint8],
    flow: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    x0: int,
    y0: int,
    height: int,
    width: int,
    texture: npt.NDArray[np.uint8],
    origin_x: int,
    origin_y: int,
    alpha: npt.NDArray[np.float32],
    has_alpha: bool,
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
    covered: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
    motion: Motion,
) -> None:
    """Draw one layer into a frame's ROI and write its ground truth where it owns pixels.

    ``image`` (uint8 (H, W, 3)), ``flow`` (float32 (H, W, 2)), ``occlusion`` and
    ``segmentation`` are the whole frame's arrays; the ROI is rows ``y0 .. y0 + height - 1``,
    columns ``x0 .. x0 + width - 1``, and ``alpha``, ``owned`` and ``covered`` are
    ``(height, width)``. Only columns ``spans[i, 0] .. spans[i, 1] - 1`` of ROI row ``i`` are
    drawn (``int64 (height, 2)``, as :func:`unhidden` gives them; ``[0, width]`` for all): the
    pixels outside them must have ``alpha`` 0 and no owner. Each drawn pixel centre ``p`` goes
    to ``q`` in the other frame by ``motion``, in float32 (:func:`_move`; an inverse motion
    draws frame 2, its positions in frame 1).

    - colour: frame 1 shows the texture as it is (texture pixel ``(0, 0)`` sits at frame pixel
      ``(origin_x, origin_y)``); frame 2 samples it bilinearly at ``q`` (edges replicated),
      rounded to a byte. The image becomes ``colour * alpha + image * (1 - alpha)`` rounded
      half up (plain ``colour`` without alpha).
    - where the layer owns the pixel centre (everywhere without an owner mask): flow
      ``q - p``, occlusion ``covered`` or ``q`` outside
      ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``, and segmentation ``layer_id``.
    """
    backward = motion[6]  # (the inverse motion: frame 2 is drawn)
    frame_height, frame_width = image.shape[0], image.shape[1]
    right, bottom = np.float32(frame_width - 0.5), np.float32(frame_height - 0.5)
    edge, one, half = np.float32(-0.5), np.float32(1.0), np.float32(0.5)
    row_x = np.empty(width, np.float32)
    row_y = np.empty(width, np.float32)
    total = np.empty(width, np.float32)
    tx, ty = np.float32(origin_x), np.float32(origin_y)
    last_x, last_y = texture.shape[1] - 1, texture.shape[0] - 1
    for i in range(height):
        y = y0 + i
        lo, hi = spans[i, 0], spans[i, 1]
        if lo >= hi:
            continue
        n, x = hi - lo, x0 + lo  # the span: n pixels from frame column x
        xs, ys = row_x[:n], row_y[:n]
        for j in range(n):  # the span's pixel centres, then where they go
            xs[j], ys[j] = np.float32(x + j), np.float32(y)
        _move(xs, ys, total[:n], motion)
        pixels = image[y, x : x + n]
        if not backward:  # frame 1: the texture as it is
            source = texture[y - origin_y, x - origin_x : x - origin_x + n]
            for j in range(n):
                a = alpha[i, lo + j] if has_alpha else one
                if a > 0:  # (a == 0: nothing of the layer here; the pixel stays as it is)
                    for c in range(3):
                        _blend(pixels[j], c, source[j, c], a)
        else:  # frame 2: bilinear texture values at the frame-1 positions, edges replicated
            for j in range(n):
                a = alpha[i, lo + j] if has_alpha else one
                if a <= 0:
                    continue
                sx, sy = xs[j] - tx, ys[j] - ty
                fx, fy = np.floor(sx), np.floor(sy)
                wx, wy = sx - fx, sy - fy
                c0, c1 = min(max(int(fx), 0), last_x), min(max(int(fx) + 1, 0), last_x)
                r0, r1 = min(max(int(fy), 0), last_y), min(max(int(fy) + 1, 0), last_y)
                for c in range(3):
                    upper = (
                        np.float32(texture[r0, c0, c]) * (one - wx)
                        + np.float32(texture[r0, c1, c]) * wx
                    )
                    lower = (
                        np.float32(texture[r1, c0, c]) * (one - wx)
                        + np.float32(texture[r1, c1, c]) * wx
                    )
                    _blend(pixels[j], c, np.uint8(upper * (one - wy) + lower * wy + half), a)
        flows = flow[y, x : x + n]
        hidden = occlusion[y, x : x + n]
        ids = segmentation[y, x : x + n]
        for j in range(n):
            if has_owner and not owned[i, lo + j]:
                continue
            u, v = xs[j], ys[j]
            flows[j, 0] = u - np.float32(x + j)
            flows[j, 1] = v - np.float32(y)
            hidden[j] = covered[i, lo + j] | (u < edge) | (u > right) | (v < edge) | (v > bottom)
            ids[j] = layer_id


@jit
def _hide_row(
    shown: npt.NDArray[np.bool_],
    kept: npt.NDArray[np.bool_],
    row_alpha: npt.NDArray[np.float32],
    row_owned: npt.NDArray[np.bool_],
) -> tuple[int, int]:
    """One row of :func:`unhidden`, in place: the layer's ``row_alpha`` and ``row_owned`` less
    what the layers in front settle (``shown``: covered fully; ``kept``: owned), then the
    layer's own full coverage and ownership added to ``shown`` and ``kept``. Returns the row's
    span ``[start, stop)`` from its first to its last non-zero (``(0, 0)`` for none)."""
    zero, one = np.float32(0.0), np.float32(1.0)
    width = row_alpha.shape[0]
    for j in range(width):
        a, mine = row_alpha[j], row_owned[j]
        row_alpha[j] = zero if shown[j] else a
        row_owned[j] = mine and not kept[j]
        shown[j] = shown[j] or a >= one
        kept[j] = kept[j] or mine
    j = 0
    while j < width and row_alpha[j] <= zero and not row_owned[j]:
        j += 1
    if j == width:
        return 0, 0
    start = j
    j = width - 1
    while row_alpha[j] <= zero and not row_owned[j]:
        j -= 1
    return start, j + 1


@jit
def _cropped(
    x0: int,
    y0: int,
    alpha: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """``(box, alpha, owned, spans)`` cropped to the rows and columns that the row spans of a
    ROI at ``(x0, y0)`` hold (see :func:`unhidden`)."""
    height = spans.shape[0]
    top, bottom, first, last = height, -1, alpha.shape[1], 0
    for i in range(height):
        if spans[i, 1] > spans[i, 0]:
            top, bottom = min(top, i), i
            first, last = min(first, spans[i, 0]), max(last, spans[i, 1])
    box = np.array([x0 + first, y0 + top, max(last - first, 0), max(bottom - top + 1, 0)])
    rows, columns = slice(top, bottom + 1), slice(first, last)
    cropped = spans[rows].copy()
    for i in range(cropped.shape[0]):
        if cropped[i, 1] > cropped[i, 0]:
            cropped[i, 0] -= first
            cropped[i, 1] -= first
    return box, alpha[rows, columns].copy(), owned[rows, columns].copy(), cropped


@compiled(_UNHIDDEN)
def unhidden(
    opaque: npt.NDArray[np.bool_],
    claimed: npt.NDArray[np.bool_],
    x0: int,
    y0: int,
    height: int,
    width: int,
    alpha: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    whole: bool,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """What is left of a layer's footprint in a ROI once the layers in front of it are known.

    ``opaque`` and ``claimed`` (``bool (H, W)``, the whole frame) mark the pixels that a layer
    in front covers fully and owns; ``alpha`` and ``owned`` (``(height, width)``) are the
    layer's coverage and owned pixel centres in the ROI, or with ``whole`` the whole ROI, fully
    (both then unread). Returns ``(box, alpha, owned, spans)``: the layer's alpha where nothing
    in front covers the pixel fully (else 0) and its ownership where nothing in front owns it,
    cropped to the smallest box ``(x0, y0, width, height)`` holding every non-zero of them
    (width 0 when none), and for each row of the box the columns ``[start, stop)`` (box
    columns; ``[0, 0]`` for none) from its first to its last non-zero, for
    :func:`composite`. Then adds the layer's own full coverage and ownership to ``opaque`` and
    ``claimed``.
    """
    left_alpha = np.empty((height, width), np.float32)
    left_owned = np.empty((height, width), np.bool_)
    spans = np.zeros((height, 2), np.int64)
    for i in range(height):
        row_alpha, row_owned = left_alpha[i], left_owned[i]
        for j in range(width):
            row_alpha[j] = np.float32(1.0) if whole else alpha[i, j]
            row_owned[j] = True if whole else owned[i, j]
        spans[i, 0], spans[i, 1] = _hide_row(
            opaque[y0 + i, x0 : x0 + width], claimed[y0 + i, x0 : x0 + width], row_alpha, row_owned
        )
    return _cropped(x0, y0, left_alpha, left_owned, spans)


@compiled(_FOOTPRINT)
def footprint(
    points: Points,
    ends: Ends,
    x0: int,
    y0: int,
    height: int,
    width: int,
    sub: int,
    opaque: npt.NDArray[np.bool_],
    claimed: npt.NDArray[np.bool_],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """:func:`unhidden` of the rings' :func:`coverage` (``sub`` sub-rows) and :func:`inside` in
    a ROI, in one pass over its pixels: the same result without the two whole-ROI masks."""
    winding_steps = _inside_steps(points, ends, x0, y0, height, width)
    steps, partial = _coverage_steps(points, ends, x0, y0, height, width, sub)
    left_alpha = np.empty((height, width), np.float32)
    left_owned = np.empty((height, width), np.bool_)
    spans = np.zeros((height, 2), np.int64)
    scale = np.float32(1.0 / sub)
    for i in range(height):
        row_alpha, row_owned = left_alpha[i], left_owned[i]
        running = winding = 0
        for j in range(width):
            running += steps[i, j]
            winding += winding_steps[i, j]
            row_alpha[j] = _share(running, partial[i, j], scale)
            row_owned[j] = winding != 0
        spans[i, 0], spans[i, 1] = _hide_row(
            opaque[y0 + i, x0 : x0 + width], claimed[y0 + i, x0 : x0 + width], row_alpha, row_owned
        )
    return _cropped(x0, y0, left_alpha, left_owned, spans)


@compiled(_BOUNDARIES)
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
