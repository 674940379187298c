"""The compiled arithmetic of elastic deformation, with the same bytes whatever the CPU.

Compiled loops for the parts of elastic deformation whose library versions round differently
by CPU: the spline interpolation of a grid field and the folding of an affine part (BLAS picks
its kernels by CPU, fusing multiply-adds on some), the U-Net weight map's ``exp`` (numpy's SIMD
``exp`` varies with the instruction set) and the Gaussian smoothing of Simard fields (OpenCV's
float SIMD blur). Each loop adds its terms in a fixed order, with no fused multiply-add (see
``flowsynth.base.compiled``), and ``exp`` is a polynomial written out, so that a seed gives the
same bytes on every x86-64 CPU.

Arrays are C-contiguous unless said otherwise; every kernel writes into an ``out`` it is given.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flowsynth.base.compiled import jit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@jit
def expand(weights: F32, field: F32, out: F32) -> None:
    """``out[b, i, m] = sum_k weights[i, k] * field[b, k, m]`` (``(n, g)``, ``(batch, g, rest)``
    -> ``(batch, n, rest)``) in float32: ``((+0.0 + w_0 f_0) + w_1 f_1) + ...``, each product
    and sum rounded (so all-zero values give +0.0, never -0.0). One pass over a row of ``out``
    per term, each vectorised, as fast as BLAS at these sizes."""
    batch, count, rest = out.shape
    terms = weights.shape[1]
    zero = np.float32(0.0)
    for b in range(batch):
        for i in range(count):
            row = out[b, i]
            weight, source = weights[i, 0], field[b, 0]
            for m in range(rest):
                row[m] = zero + weight * source[m]
            for k in range(1, terms):
                weight, source = weights[i, k], field[b, k]
                for m in range(rest):
                    row[m] += weight * source[m]


@jit
def fold_2d(band: F32, out: F32, top: int, linear: F64, shift: F64, centre: F64) -> None:
    """``out = (M - I)(p - c) + M d(p) + shift`` for the ``float32 (rows, W, 2)`` displacement
    rows ``top ..`` of a field (``d`` ordered x, y; ``M = linear``), in float64, rounded once.
    ``out`` may be ``band`` itself."""
    m00, m01, m10, m11 = linear[0, 0], linear[0, 1], linear[1, 0], linear[1, 1]
    o00, o11 = m00 - 1.0, m11 - 1.0
    for r in range(band.shape[0]):
        y = np.float64(top + r) - centre[1]
        row0 = shift[0] + m01 * y
        row1 = shift[1] + o11 * y
        for c in range(band.shape[1]):
            x = np.float64(c) - centre[0]
            dx, dy = np.float64(band[r, c, 0]), np.float64(band[r, c, 1])
            out[r, c, 0] = np.float32((m00 * dx + m01 * dy) + (row0 + o00 * x))
            out[r, c, 1] = np.float32((m10 * dx + m11 * dy) + (row1 + m10 * x))


@jit
def fold_3d(band: F32, out: F32, top: int, linear: F64, shift: F64, centre: F64) -> None:
    """:func:`fold_2d` for ``float32 (slices, H, W, 3)`` (slices ``top ..``; ``d`` ordered x, y,
    z)."""
    offset = linear.copy()
    for j in range(3):
        offset[j, j] -= 1.0
    p = np.empty(3)
    d = np.empty(3)
    for s in range(band.shape[0]):
        p[2] = np.float64(top + s) - centre[2]
        for r in range(band.shape[1]):
            p[1] = np.float64(r) - centre[1]
            for c in range(band.shape[2]):
                p[0] = np.float64(c) - centre[0]
                for j in range(3):
                    d[j] = np.float64(band[s, r, c, j])
                for j in range(3):
                    moved = linear[j, 0] * d[0] + linear[j, 1] * d[1] + linear[j, 2] * d[2]
                    place = offset[j, 0] * p[0] + offset[j, 1] * p[1] + offset[j, 2] * p[2]
                    out[s, r, c, j] = np.float32(moved + (shift[j] + place))


# exp(x) = 2**k * exp(r), k = round(x / ln 2), |r| <= ln(2) / 2 (Cody-Waite: ln 2 in two parts,
# the first with trailing zero bits so that k * _LN2_HI is exact), exp(r) by its Taylor series to
# r**14 / 14! (< 1.1e-16 relative) in Horner form; powers of two from a table (ldexp, exact).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.0 / math.log(2.0)
_TAYLOR = np.array([1.0 / math.factorial(n) for n in range(15)])
_POW2_LOW = -1022 - 64  # table from 2**-1086: the subnormal results take two products
_POW2 = np.array([math.ldexp(1.0, k) for k in range(_POW2_LOW, 1024)])


@jit
def exp(x: float) -> float:
    """``e**x`` in float64, within 2 ulp of the C library's (``tests/deform``), from adds and
    multiplies alone: the same on every CPU and with every C library."""
    if x != x:
        return x
    if x > 709.782712893384:
        return np.inf
    if x < -745.2:
        return 0.0
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    series = _TAYLOR[14]
    for n in range(13, -1, -1):
        series = series * r + _TAYLOR[n]
    if k > 1023:  # (x within ln(2) / 2 of the largest float: 2**1024 is not a float)
        return (series * _POW2[1023 - _POW2_LOW]) * 2.0
    if k >= -1022:
        return series * _POW2[int(k) - _POW2_LOW]
    return (series * _POW2[int(k) + 64 - _POW2_LOW]) * _POW2[-64 - _POW2_LOW]


@jit
def exp_all(values: F64, out: F64) -> None:
    """``out = exp(values)`` elementwise (:func:`exp`); 1D arrays."""
    for n in range(values.shape[0]):
        out[n] = exp(values[n])


@jit
def _reflected(i: int, size: int) -> int:
    """Index ``i`` of a line of ``size`` extended by mirroring about its ends (``cba|abc|cba``),
    as often as needed."""
    i %= 2 * size
    return 2 * size - 1 - i if i >= size else i


@jit
def correlate(source: F32, weights: F32, out: F32) -> None:
    """``out[a, i, b] = sum_t weights[t] * source[a, i + t - radius, b]`` over the middle axis of
    ``float32 (A, n, B)`` arrays, for symmetric weights (``2 radius + 1`` of them, ``weights[t]
    == weights[-1 - t]``), the line extended by mirroring (:func:`_reflected`). In float32, in a
    fixed order: the centre tap, then ``w * (before + after)`` for the pairs of taps outwards.
    """
    outer, size, inner = source.shape
    radius = weights.shape[0] // 2
    if inner < 16:  # short rows: through a padded copy of each (n, B) line, flattened
        span = size * inner
        line = np.empty((size + 2 * radius) * inner, np.float32)
        total = np.empty(span, np.float32)
        for a in range(outer):
            flat = source[a].ravel()
            line[radius * inner : radius * inner + span] = flat
            for j in range(radius):  # the mirrored ends
                head = _reflected(j - radius, size) * inner
                tail = _reflected(size + j, size) * inner
                for b in range(inner):
                    line[j * inner + b] = flat[head + b]
                    line[(radius + size + j) * inner + b] = flat[tail + b]
            weight, centre = weights[radius], line[radius * inner : radius * inner + span]
            for m in range(span):  # (slices, so that the indices are provably >= 0: vectorised)
                total[m] = weight * centre[m]
            for t in range(1, radius + 1):
                weight = weights[radius + t]
                before = line[(radius - t) * inner : (radius - t) * inner + span]
                after = line[(radius + t) * inner : (radius + t) * inner + span]
                for m in range(span):
                    total[m] += weight * (before[m] + after[m])
            out[a] = total.reshape(size, inner)
        return
    row = np.empty(inner, np.float32)
    for a in range(outer):
        for i in range(size):
            weight = weights[radius]
            for b in range(inner):
                row[b] = weight * source[a, i, b]
            for t in range(1, radius + 1):
                weight = weights[radius + t]
                above, below = _reflected(i - t, size), _reflected(i + t, size)
                for b in range(inner):
                    row[b] += weight * (source[a, above, b] + source[a, below, b])
            for b in range(inner):
                out[a, i, b] = row[b]
