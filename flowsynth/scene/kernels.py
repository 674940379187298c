"""Compiled kernels of the scene layer (numba): a layer's motion applied to points, outline
subdivision and bounds.

Rings are passed packed: ``points`` ``float64 (n, 2)`` holds every ring's vertices one ring after
another and ``ends`` ``int64 (r,)`` the index one past each ring's last vertex (rings are closed:
the last vertex connects back to the first of its ring).

Compiled as ``flowsynth.base.compiled`` says (cached on disk; no fast-math, so the same bytes on
every CPU). ``tests/render/test_kernels.py`` pins them against numpy references.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from flowsynth.base.compiled import array_type, compiled, jit

Points = npt.NDArray[np.float64]
Ends = npt.NDArray[np.int64]
#: A layer's motion as the kernels take it, one argument: ``(affine (2, 3), centre x, centre y,
#: shear axes, shear ends, waves, inverse)`` (``scene.transform.LayerMotion.kernel_args``).
Motion = tuple[npt.NDArray[np.float64], float, float, Ends, Ends, npt.NDArray[np.float64], bool]

_b, _i64, _f64 = numba.types.boolean, numba.types.int64, numba.types.float64
_IN_POINTS = (array_type(_f64, 2, readonly=True), array_type(_i64, 1, readonly=True))
_SUBDIVIDE = numba.types.Tuple((array_type(_f64, 2), array_type(_i64, 1)))(*_IN_POINTS, _f64)
_BOUNDS = numba.types.UniTuple(_f64, 4)(array_type(_f64, 2, readonly=True))
#: A layer's motion, one argument (``Motion``; see ``scene.transform.LayerMotion.kernel_args``).
MOTION_TYPE = numba.types.Tuple(
    (
        array_type(_f64, 2, readonly=True),  # affine (2, 3)
        _f64,  # centre x
        _f64,  # centre y
        array_type(_i64, 1, readonly=True),  # axes
        array_type(_i64, 1, readonly=True),  # ends
        array_type(_f64, 2, readonly=True),  # waves
        _b,  # inverse
    )
)
_MAP_POINTS = array_type(_f64, 2, layout="C")(array_type(_f64, 2, readonly=True), MOTION_TYPE)


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
def move(
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
    """``float64 (n, 2)`` points moved by a layer's ``motion`` (:func:`move`), in float64 but
    for the sines."""
    count = points.shape[0]
    xs, ys = points[:, 0].copy(), points[:, 1].copy()
    move(xs, ys, np.empty(count), motion)
    out = np.empty((count, 2), np.float64)
    out[:, 0], out[:, 1] = xs, ys
    return out
