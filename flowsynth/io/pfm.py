"""Portable float map (``.pfm``) files: ``PF`` (3 channels) and ``Pf`` (1 channel).

Layout: ``PF`` or ``Pf``, whitespace, width, whitespace, height, whitespace, a scale, exactly
one whitespace character, then float32 samples. A negative scale means little-endian, a positive
one big-endian; its magnitude is not applied. Rows are stored bottom to top.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.errors import FileFormatError
from flowsynth.io.limits import check_dimensions, check_length, open_regular, read_at_most

#: A valid header is far shorter; a longer one is refused unparsed.
MAX_HEADER_BYTES = 256
_HEADER = re.compile(
    rb"(P[Ff])\s+(\d{1,9})\s+(\d{1,9})\s+([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?)\s"
)


class _Header(NamedTuple):
    channels: int
    width: int
    height: int
    dtype: str
    size: int  # header bytes

    @property
    def total_bytes(self) -> int:
        return self.size + 4 * self.channels * self.width * self.height


def _parse_header(head: bytes, source: str | os.PathLike[str]) -> _Header:
    match = _HEADER.match(head[:MAX_HEADER_BYTES])
    if match is None:
        if head[:2] not in (b"PF", b"Pf"):
            raise FileFormatError(source, f"bad PFM magic {bytes(head[:2])!r} (expected PF or Pf)")
        raise FileFormatError(source, "PFM header truncated or malformed")
    magic, width_text, height_text, scale_text = match.groups()
    width, height, scale = int(width_text), int(height_text), float(scale_text)
    check_dimensions(width, height, source)
    if scale == 0.0 or not np.isfinite(scale):
        raise FileFormatError(source, f"PFM scale must be finite and non-zero, got {scale}")
    channels = 3 if magic == b"PF" else 1
    return _Header(channels, width, height, "<f4" if scale < 0 else ">f4", match.end())


def _to_array(body: bytes, header: _Header) -> npt.NDArray[np.float32]:
    values = np.frombuffer(body, header.dtype).astype(np.float32)
    shape: tuple[int, ...] = (header.height, header.width)
    if header.channels == 3:
        shape += (3,)
    return np.ascontiguousarray(values.reshape(shape)[::-1])


def encode_pfm(image: npt.NDArray[np.floating]) -> bytes:
    """Encode a float image as PFM bytes (little-endian, scale ``-1``).

    Parameters
    ----------
    image : float (H, W) or (H, W, 1) -> ``Pf``; float (H, W, 3) -> ``PF``
        Stored as float32.
    """
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"PFM holds (H, W) or (H, W, 3) images, got shape {image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"PFM holds float images, got {image.dtype}")
    height, width = image.shape[:2]
    magic = "PF" if image.ndim == 3 else "Pf"
    header = f"{magic}\n{width} {height}\n-1.0\n".encode("ascii")
    return header + np.ascontiguousarray(image[::-1], dtype="<f4").tobytes()


def decode_pfm(data: bytes, name: str = "<bytes>") -> npt.NDArray[np.float32]:
    """Decode PFM bytes.

    Parameters
    ----------
    data : bytes
        The whole file (any bytes-like object).
    name : str
        Names the data in error messages.

    Returns
    -------
    float32 (H, W) for ``Pf`` or (H, W, 3) for ``PF``
        Rows top to bottom; a new, writable array.

    Raises
    ------
    FileFormatError
        Bad magic or header, implausible size, or not exactly the size the header implies.
    """
    header = _parse_header(bytes(data[:MAX_HEADER_BYTES]), name)
    check_length(len(data), header.total_bytes, name)
    return _to_array(data[header.size :], header)


def read_pfm(path: str | os.PathLike[str]) -> npt.NDArray[np.float32]:
    """Read a PFM file, checking its header against the file size before reading on.

    Returns
    -------
    float32 (H, W) or (H, W, 3)

    Raises
    ------
    FileFormatError
        Not a valid PFM file, or not a regular file (a device or FIFO); the message names it.
    OSError
        The file cannot be read.
    """
    with open_regular(path) as file:
        header = _parse_header(read_at_most(file, MAX_HEADER_BYTES), path)
        check_length(os.fstat(file.fileno()).st_size, header.total_bytes, path)
        file.seek(header.size)
        # One byte more than expected: the file may have changed since fstat.
        body = read_at_most(file, header.total_bytes - header.size + 1)
    check_length(header.size + len(body), header.total_bytes, path)
    return _to_array(body, header)


def write_pfm(path: str | os.PathLike[str], image: npt.NDArray[np.floating]) -> None:
    """Write a float image to ``path`` as PFM, atomically (see :func:`encode_pfm`)."""
    atomic_write_bytes(path, encode_pfm(image))
