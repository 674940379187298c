"""The compiled arithmetic of procedural textures, with the same bytes whatever the CPU's
instruction set: fractal value noise in integer arithmetic, colour tables, and the float-to-level
scaling of the other patterns.

An octave is a random ``uint8`` grid with an integer cell size, upsampled by cubic convolution
(Keys' kernel with ``a = -0.75``, the kernel of OpenCV's ``INTER_CUBIC``); the octaves are
averaged with weights halving from each to the next, and the central range of the average is
stretched over ``[0, 255]``. Only the pixels of a region are computed, and the value of a pixel
does not depend on the region it is computed in.

Why not ``cv2.resize``: OpenCV's 8-bit cubic resize ends in float SIMD code whose rounding
depends on the instruction set it dispatches to (SSE, AVX2 with FMA, NEON), so one seed gave
other textures on other CPUs (and with ``cv2.setUseOptimized(False)``). Here every step after
the weights (computed once in Python floats, which round alike everywhere) is integer arithmetic
in compiled loops, which also skips the 2-3 cells of context a resized crop computes and throws
away on each side.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from flowsynth.base.compiled import jit

#: Keys' cubic convolution parameter (OpenCV's ``INTER_CUBIC``).
CUBIC_A = -0.75
#: Fixed-point scales of the horizontal and vertical weights (bits); with ``|weights| <= 1.16``
#: the vertical sums stay below 2**30, within ``int32``.
_H_BITS, _V_BITS = 11, 10
#: Bits of an octave's value (0..255 scaled) when octaves are summed.
_SUM_BITS = 13

Grid = npt.NDArray[np.uint8]
Weights = npt.NDArray[np.int32]
Table = npt.NDArray[np.uint8]


def cubic_weights(t: float) -> tuple[float, float, float, float]:
    """Keys' cubic weights of the 4 taps around a sample at fraction ``t`` in ``[0, 1)`` past
    the second tap."""
    a = CUBIC_A
    w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    return w0, w1, w2, 1.0 - w0 - w1 - w2


@functools.lru_cache(maxsize=1024)
def phase_weights(cell: int, bits: int) -> Weights:
    """``int32 (cell, 4)``: the fixed-point (``2**bits``) weights of a pixel ``r`` pixels into
    its cell, each row summing to exactly ``2**bits`` (the largest weight takes the rounding).

    Pixel ``p`` samples the grid at ``(p + 0.5) / cell + 2.5`` (cell centres upsampled, 3
    cells of margin before the first pixel), a fraction ``((2 r + 1 + 5 cell) mod 2 cell) /
    2 cell`` past tap ``(2 p + 1 + 5 cell) // 2 cell``.
    """
    scale = 1 << bits
    table = np.empty((cell, 4), np.int32)
    for r in range(cell):
        t = ((2 * r + 1 + 5 * cell) % (2 * cell)) / (2 * cell)
        weights = [round(w * scale) for w in cubic_weights(t)]
        largest = max(range(4), key=lambda k: weights[k])
        weights[largest] += scale - sum(weights)
        table[r] = weights
    table.setflags(write=False)
    return table


@jit
def _tap(p: int, cell: int) -> int:
    """The grid index of the second of pixel ``p``'s four taps."""
    return (2 * p + 1 + 5 * cell) // (2 * cell)


@jit
def add_octave(
    grid: Grid,
    cell: int,
    x0: int,
    y0: int,
    horizontal: Weights,
    vertical: Weights,
    amplitude: int,
    total: npt.NDArray[np.int32],
) -> None:
    """Add ``amplitude`` times one octave of one channel, at ``2**_SUM_BITS`` per grey level and
    cut to ``[0, 255]`` levels, to ``total`` (``int32 (h, w)``: the region of ``h x w`` pixels
    from ``(x0, y0)``).

    ``grid`` is ``uint8 (rows, columns)`` over the whole extent (a cell per ``cell`` pixels, 3
    cells of margin before and at least 3 after); ``horizontal`` and ``vertical`` are
    :func:`phase_weights` of ``cell`` at ``_H_BITS`` and ``_V_BITS``. First the grid rows that
    the region's pixels reach are interpolated along x at the region's columns, then those rows
    along y (every sum within ``int32``).
    """
    height, width = total.shape
    first = _tap(y0, cell) - 1
    rows = _tap(y0 + height - 1, cell) + 3 - first
    along_x = np.empty((rows, width), np.int32)
    for j in range(width):
        s, w = _tap(x0 + j, cell) - 1, horizontal[(x0 + j) % cell]
        for r in range(rows):
            source = grid[first + r]
            along_x[r, j] = np.int32(
                np.int32(source[s]) * w[0]
                + np.int32(source[s + 1]) * w[1]
                + np.int32(source[s + 2]) * w[2]
                + np.int32(source[s + 3]) * w[3]
            )
    shift = _H_BITS + _V_BITS - _SUM_BITS
    half, top = np.int32(1 << (shift - 1)), np.int32(255 << _SUM_BITS)
    gain = np.int32(amplitude)
    for i in range(height):
        r = _tap(y0 + i, cell) - 1 - first
        w = vertical[(y0 + i) % cell]
        w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
        a, b, c, d = along_x[r], along_x[r + 1], along_x[r + 2], along_x[r + 3]
        out = total[i]
        for j in range(width):
            value = np.int32(a[j] * w0 + b[j] * w1 + c[j] * w2 + d[j] * w3)
            # An octave is an image: its overshoot past black and white is cut.
            level = min(max(np.int32((value + half) >> shift), np.int32(0)), top)
            out[j] = np.int32(out[j] + gain * level)


@jit
def _paint(pixel: npt.NDArray[np.uint8], table: Table, level: int) -> None:
    """``pixel`` (3 bytes) becomes the colour of ``level`` in ``table``."""
    pixel[0], pixel[1], pixel[2] = table[level, 0], table[level, 1], table[level, 2]


#: Bits of the fixed-point reciprocal with which :func:`stretch` divides.
_RECIPROCAL_BITS = 40


@jit
def stretch(
    total: npt.NDArray[np.int32], weight: int, reciprocal: int, table: Table
) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)`` colours of the levels of octave sums ``total`` (``int32 (channels,
    h, w)``, 1 or 3 channels) of total ``weight`` through ``table`` (``uint8 (256, 3)``):
    colour channel ``c`` is ``table[level, c]`` of the one noise channel, or of channel ``c``.

    A level is the average ``m`` (``total / (weight 2**_SUM_BITS)``, in grey levels)
    stretched from ``[38.25, 216.75]`` (the central 70 %) over ``[0, 255]``, as
    ``|m - 38.25| / 0.7`` rounded and saturated: averages below the range fold back up (the
    pattern of 0.3.0's ``cv2.convertScaleAbs``). In integers, ``n = |10 total - 382.5 unit|``
    with ``unit = weight 2**_SUM_BITS`` (even), divided by ``7 unit`` as a multiplication by
    ``reciprocal = round(2**_RECIPROCAL_BITS / (7 unit))`` and a shift.
    """
    channels, height, width = total.shape
    low = np.int64(765 * (weight << _SUM_BITS) // 2)
    factor, round_half = np.int64(reciprocal), np.int64(1) << (_RECIPROCAL_BITS - 1)
    colours = np.empty((height, width, 3), np.uint8)
    level = np.empty(width, np.int64)
    for i in range(height):
        out = colours[i]
        for c in range(channels):
            row = total[c, i]
            for j in range(width):  # (a pass of arithmetic only, which vectorises)
                n = abs(10 * np.int64(row[j]) - low)
                level[j] = min((n * factor + round_half) >> _RECIPROCAL_BITS, 255)
            if channels == 1:
                for j in range(width):
                    _paint(out[j], table, level[j])
            else:
                for j in range(width):
                    out[j, c] = table[level[j], c]
    return colours


def _covers(grid: Grid, cell: int, region: tuple[int, int, int, int]) -> bool:
    """Whether ``grid`` (cells of ``cell`` pixels) holds the four taps of every pixel of
    ``region``, which must not reach before the extent (an empty region is held by any grid)."""
    x0, y0, width, height = region
    if width <= 0 or height <= 0:
        return True
    if min(x0, y0) < 0 or cell < 2:
        return False
    last_x = (2 * (x0 + width - 1) + 1 + 5 * cell) // (2 * cell) + 2
    last_y = (2 * (y0 + height - 1) + 1 + 5 * cell) // (2 * cell) + 2
    return last_x < grid.shape[1] and last_y < grid.shape[0]


def noise(
    grids: list[Grid], cells: list[int], region: tuple[int, int, int, int], table: Table
) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)``: fractal noise over ``region = (x0, y0, w, h)`` of the extent that
    the ``grids`` cover (one per octave, ``uint8 (rows, columns, channels)`` with 1 or 3
    channels, cell sizes ``cells``), coloured through ``table`` (see :func:`stretch`). Octave
    ``o`` of ``n`` weighs ``2**(n - 1 - o)``."""
    x0, y0, width, height = region
    channels = grids[0].shape[2]
    if channels not in (1, 3):
        raise ValueError(f"noise has 1 or 3 channels, got {channels}")
    for grid, cell in zip(grids, cells, strict=True):  # (the kernels read unchecked)
        if grid.ndim != 3 or grid.shape[2] != channels or not _covers(grid, cell, region):
            raise ValueError(f"a noise grid {grid.shape} of cell {cell} misses region {region}")
    total = np.zeros((channels, height, width), np.int32)
    count = len(grids)
    for octave, (grid, cell) in enumerate(zip(grids, cells, strict=True)):
        horizontal, vertical = phase_weights(cell, _H_BITS), phase_weights(cell, _V_BITS)
        for c in range(channels):
            plane = np.ascontiguousarray(grid[:, :, c])
            add_octave(
                plane, cell, x0, y0, horizontal, vertical, 1 << (count - 1 - octave), total[c]
            )
    weight = (1 << count) - 1
    reciprocal = round(2**_RECIPROCAL_BITS / (7 * (weight << _SUM_BITS)))
    return stretch(total, weight, reciprocal, table)


@jit
def colourise(levels: npt.NDArray[np.uint8], table: Table) -> npt.NDArray[np.uint8]:
    """``table[levels]``: ``uint8 (h, w, 3)`` colours of ``uint8 (h, w)`` levels through a
    ``uint8 (256, 3)`` table."""
    height, width = levels.shape
    colours = np.empty((height, width, 3), np.uint8)
    for i in range(height):
        row, out = levels[i], colours[i]
        for j in range(width):
            _paint(out[j], table, row[j])
    return colours


@jit
def pulled(table: npt.NDArray[np.float64], contrast: float) -> Table:
    """``uint8 (256, 3)``: a float colour table pulled toward its mean colour by ``contrast``
    (``mean + contrast (colour - mean)``), rounded half up and saturated."""
    levels, channels = table.shape
    out = np.empty((levels, channels), np.uint8)
    for c in range(channels):
        mean = 0.0
        for k in range(levels):
            mean += table[k, c]
        mean /= levels
        for k in range(levels):
            value = mean + contrast * (table[k, c] - mean) + 0.5
            out[k, c] = np.uint8(min(max(value, 0.0), 255.0))
    return out


@jit
def ramp(colours: npt.NDArray[np.float64], contrast: float) -> Table:
    """``uint8 (256, 3)``: a piecewise-linear ramp through ``colours`` (``float64 (n, 3)``, n >=
    2, evenly spaced over the 256 levels), pulled toward its mean by ``contrast``
    (:func:`pulled`)."""
    count = colours.shape[0]
    table = np.empty((256, 3), np.float64)
    for level in range(256):
        position = level * (count - 1) / 255.0
        k = min(int(position), count - 2)
        t = position - k
        for c in range(3):
            table[level, c] = colours[k, c] * (1.0 - t) + colours[k + 1, c] * t
    return pulled(table, contrast)


@jit
def wave_table(
    colours: npt.NDArray[np.float64],
    contrast: float,
    sharpness: float,
    sine: npt.NDArray[np.float64],
) -> Table:
    """``uint8 (256, 3)``: two colours blended by a soft square wave over one period
    (``0.5 + 0.5 tanh(sharpness sin)``, ``sine`` being the sine of the 256 phases) and pulled
    toward their mean by ``contrast`` (:func:`pulled`). ``tanh`` is the C library's, as
    Python's ``math.tanh``."""
    table = np.empty((256, 3), np.float64)
    for level in range(256):
        wave = 0.5 + 0.5 * math.tanh(sharpness * sine[level])
        for c in range(3):
            table[level, c] = colours[0, c] + wave * (colours[1, c] - colours[0, c])
    return pulled(table, contrast)


@jit
def scale_abs(field: npt.NDArray[np.float32], alpha: float, beta: float) -> npt.NDArray[np.uint8]:
    """``uint8`` of ``|field * alpha + beta|`` rounded half to even and saturated: what
    ``cv2.convertScaleAbs`` computes, in float32 with one rounding per operation (OpenCV's
    SIMD code fuses the multiply-add on some CPUs and not on others)."""
    height, width = field.shape
    a, b = np.float32(alpha), np.float32(beta)
    levels = np.empty((height, width), np.uint8)
    for i in range(height):
        for j in range(width):
            value = np.rint(np.abs(field[i, j] * a + b))
            levels[i, j] = np.uint8(min(value, np.float32(255.0)))
    return levels
