"""A fast PNG writer: fixed row filters and ISA-L deflate, in the PNG container.

Datasets spend most of their writing time encoding PNGs. zlib (inside libpng and OpenCV) deflates
a 512x384 RGB frame in 4.5-6 ms at its fastest useful settings; Intel's ISA-L (the ``isal``
package) does it in ~1.2 ms for a file of about the same size, and a 0/255 mask in ~0.05 ms
instead of 0.3-1 ms (``benchmarks/bench_generate.py``). libpng and OpenCV cannot take another
deflate, so this module writes the container itself: the signature, one ``IHDR``, the ``IDAT``
chunks and ``IEND`` (PNG specification, 3rd edition, sections 5 and 11), with each row filtered
by one fixed filter: "sub" for colour images, whose neighbouring pixels are alike, and "up" for
masks and label maps, whose rows repeat. Any PNG reader decodes the result.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt
from isal import isal_zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: ISA-L compression levels; 1 is as small as zlib's level 1 at a quarter of the time.
LEVELS = range(4)
#: PNG colour type by channel count: grey, grey + alpha, RGB, RGBA.
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_FILTER_SUB, _FILTER_UP = 1, 2
#: Largest IDAT chunk written (a chunk length must stay below 2**31).
_MAX_CHUNK = 1 << 30


def _chunk(kind: bytes, data: bytes | memoryview) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + bytes(data) + struct.pack(">I", crc)


def filtered_rows(array: npt.NDArray[np.uint8 | np.uint16]) -> npt.NDArray[np.uint8]:
    """The PNG scanlines of ``array``: ``uint8 (H, 1 + row bytes)``, filter type byte first.

    ``array`` is ``(H, W)`` or ``(H, W, C)``, ``uint8`` or ``uint16`` (stored big-endian). Colour
    rows use the "sub" filter (each byte minus the byte one pixel to the left), others "up" (each
    byte minus the byte above); both are byte-wise differences modulo 256.
    """
    height = array.shape[0]
    big_endian = array.astype(array.dtype.newbyteorder(">"), copy=False)
    rows = np.ascontiguousarray(big_endian).view(np.uint8).reshape(height, -1)
    out = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    if array.ndim == 3:
        step = array.shape[2] * array.dtype.itemsize  # bytes per pixel
        out[:, 0] = _FILTER_SUB
        out[:, 1 : step + 1] = rows[:, :step]
        np.subtract(rows[:, step:], rows[:, :-step], out=out[:, step + 1 :])
    else:
        out[:, 0] = _FILTER_UP
        out[:1, 1:] = rows[:1]
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    return out


def encode(array: npt.NDArray[np.uint8 | np.uint16], level: int = 1) -> bytes:
    """PNG bytes of ``uint8``/``uint16`` ``(H, W)`` or ``(H, W, C)`` (C = 1..4, RGB(A) order).

    ``level`` is ISA-L's (0-3). Deterministic: the same array and level give the same bytes.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 0..3, got {level}")
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG holds uint8 or uint16 samples, got {array.dtype}")
    channels = 1 if array.ndim == 2 else array.shape[2] if array.ndim == 3 else 0
    if channels not in _COLOUR_TYPE or 0 in array.shape:
        raise ValueError(f"PNG holds non-empty (H, W) or (H, W, 1..4) arrays, got {array.shape}")
    height, width = array.shape[:2]
    if channels == 1 and array.ndim == 3:
        array = array[..., 0]
    header = struct.pack(
        ">IIBBBBB", width, height, 8 * array.dtype.itemsize, _COLOUR_TYPE[channels], 0, 0, 0
    )
    stream = memoryview(isal_zlib.compress(filtered_rows(array), level))
    parts = [SIGNATURE, _chunk(b"IHDR", header)]
    for start in range(0, max(len(stream), 1), _MAX_CHUNK):
        parts.append(_chunk(b"IDAT", stream[start : start + _MAX_CHUNK]))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)
