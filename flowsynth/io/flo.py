"""Middlebury ``.flo`` optical flow files.

Layout (little-endian): float32 tag ``202021.25`` (the bytes ``PIEH``), int32 width, int32
height, then ``height x width x 2`` float32 ``(u, v)`` in row-major order. Values above
``1e9`` in magnitude mean "unknown" (see :func:`flo_valid`); NaN and inf are stored as given.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from flowsynth.base.conventions import UNKNOWN_FLOW_THRESHOLD, check_flow
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.errors import FileFormatError
from flowsynth.io.limits import check_dimensions, check_length, open_regular, read_at_most

FLO_TAG = 202021.25
HEADER_BYTES = 12
_HEADER = np.dtype([("tag", "<f4"), ("width", "<i4"), ("height", "<i4")])


def _parse_header(header: bytes, source: str | os.PathLike[str]) -> tuple[int, int]:
    """``(width, height)`` from the first 12 bytes, checked; raises FileFormatError."""
    if len(header) < HEADER_BYTES:
        raise FileFormatError(source, f"only {len(header)} bytes, shorter than the .flo header")
    fields = np.frombuffer(header, _HEADER, count=1)[0]
    if fields["tag"] != np.float32(FLO_TAG):
        raise FileFormatError(source, f"bad .flo tag {bytes(header[:4])!r} (expected b'PIEH')")
    width, height = int(fields["width"]), int(fields["height"])
    check_dimensions(width, height, source)
    return width, height


def _expected_bytes(width: int, height: int) -> int:
    return HEADER_BYTES + 8 * width * height


def encode_flo(flow: npt.NDArray[np.float32]) -> bytes:
    """Encode flow as the bytes of a ``.flo`` file.

    Parameters
    ----------
    flow : float32 (H, W, 2)
        ``(u, v)`` per pixel; non-finite values are stored unchanged.

    Returns
    -------
    bytes
        ``12 + 8 * H * W`` bytes.
    """
    check_flow(flow)
    height, width = flow.shape[:2]
    header = np.array([(FLO_TAG, width, height)], _HEADER).tobytes()
    # One copy of the data: join reads the array's buffer directly.
    return b"".join([header, np.ascontiguousarray(flow, dtype="<f4").data.cast("B")])


def decode_flo(data: bytes, name: str = "<bytes>") -> npt.NDArray[np.float32]:
    """Decode the bytes of a ``.flo`` file.

    Parameters
    ----------
    data : bytes
        The whole file (any bytes-like object).
    name : str
        Names the data in error messages.

    Returns
    -------
    float32 (H, W, 2)
        A new, writable array.

    Raises
    ------
    FileFormatError
        Wrong tag, implausible size, or not exactly ``12 + 8 * H * W`` bytes.
    """
    width, height = _parse_header(data[:HEADER_BYTES], name)
    check_length(len(data), _expected_bytes(width, height), name)
    values = np.frombuffer(data, "<f4", offset=HEADER_BYTES)
    return values.astype(np.float32).reshape(height, width, 2)


def read_flo(path: str | os.PathLike[str]) -> npt.NDArray[np.float32]:
    """Read a ``.flo`` file, checking its header against the file size before reading on.

    Returns
    -------
    float32 (H, W, 2)

    Raises
    ------
    FileFormatError
        The file is not a valid ``.flo`` file, or not a regular file (a device or FIFO);
        the message names it.
    OSError
        The file cannot be read.
    """
    with open_regular(path) as file:
        width, height = _parse_header(read_at_most(file, HEADER_BYTES), path)
        expected = _expected_bytes(width, height)
        check_length(os.fstat(file.fileno()).st_size, expected, path)
        # One byte more than expected: the file may have changed since fstat.
        body = read_at_most(file, expected - HEADER_BYTES + 1)
    check_length(HEADER_BYTES + len(body), expected, path)
    return np.frombuffer(body, "<f4").astype(np.float32).reshape(height, width, 2)


def write_flo(path: str | os.PathLike[str], flow: npt.NDArray[np.float32]) -> None:
    """Write flow to ``path`` as a ``.flo`` file, atomically.

    Parameters
    ----------
    path : str | os.PathLike[str]
        Destination; parent directories are created.
    flow : float32 (H, W, 2)
    """
    atomic_write_bytes(path, encode_flo(flow))


def flo_valid(flow: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Where ``.flo`` flow is known: both components finite and at most ``1e9`` in magnitude.

    Parameters
    ----------
    flow : float32 (H, W, 2)

    Returns
    -------
    bool (H, W)
    """
    check_flow(flow)
    with np.errstate(invalid="ignore"):
        return np.all(np.abs(flow) <= UNKNOWN_FLOW_THRESHOLD, axis=2)
