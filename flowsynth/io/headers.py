"""Image sizes read from file headers, so that no decoder allocates for a hostile header.

Each ``*_size`` function takes the first bytes of a file and returns ``(width, height)`` or
raises :class:`FileFormatError`; :func:`image_size` sniffs the format first. Only the formats
:mod:`flowsynth.io.images` accepts are known: PNG, PNM (PBM/PGM/PPM), JPEG, GIF, BMP, TIFF.
"""

from __future__ import annotations

import os
import re
import struct
from typing import NamedTuple

from flowsynth.io.errors import FileFormatError
from flowsynth.io.limits import check_dimensions

Source = str | os.PathLike[str]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND"
# PBM/PGM/PPM header: magic, width, height and (except for bitmaps) maxval, with comments.
_PNM_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n)*(\d{1,10})")
# JPEG start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class PngHeader(NamedTuple):
    """The fields of a PNG's IHDR chunk that decide how it decodes."""

    width: int
    height: int
    bit_depth: int
    colour_type: int


def png_header(data: bytes, source: Source = "<bytes>") -> PngHeader:
    """Parse and size-check the signature and IHDR chunk (the first 33 bytes) of a PNG."""
    if len(data) < 8 or data[:8] != PNG_SIGNATURE:
        raise FileFormatError(source, "not a PNG file (bad signature)")
    if len(data) < 33:
        raise FileFormatError(source, "PNG truncated inside its IHDR chunk")
    length, chunk_type = struct.unpack(">I4s", data[8:16])
    if length != 13 or chunk_type != b"IHDR":
        raise FileFormatError(source, "PNG does not start with a 13-byte IHDR chunk")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", data[16:26])
    check_dimensions(width, height, source)
    return PngHeader(width, height, bit_depth, colour_type)


def check_png_chunks(data: bytes, source: Source = "<bytes>") -> None:
    """Walk a PNG's chunk lengths and raise unless they end in an IEND chunk inside ``data``.

    Catches truncated files cheaply, before the decoder (which reports them only on stderr).
    """
    position = 8
    while position + 12 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        position += 12 + length
        if chunk_type == _PNG_IEND:
            if position > len(data):
                break
            return
    raise FileFormatError(source, "PNG truncated (no complete IEND chunk)")


def _pnm_size(data: bytes, source: Source) -> tuple[int, int]:
    position = 2
    numbers = []
    for _ in range(2 if data[1:2] in (b"1", b"4") else 3):
        match = _PNM_TOKEN.match(data, position)
        if match is None:
            raise FileFormatError(source, "PNM header truncated or malformed")
        numbers.append(int(match.group(1)))
        position = match.end()
    return numbers[0], numbers[1]


def _jpeg_size(data: bytes, source: Source) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise FileFormatError(source, f"JPEG marker expected at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        if marker in (0xD9, 0xDA):
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_SOF:
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    raise FileFormatError(source, "JPEG has no frame header (truncated or malformed)")


def _tiff_size(data: bytes, source: Source) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset : offset + 2])
        fields = {}
        for index in range(count):
            start = offset + 2 + 12 * index
            tag, kind = struct.unpack(order + "HH", data[start : start + 4])
            value_format = order + ("H" if kind == 3 else "I")
            (fields[tag],) = struct.unpack_from(value_format, data, start + 8)
        return fields[256], fields[257]
    except (struct.error, KeyError):
        raise FileFormatError(source, "TIFF header truncated or has no image size") from None


def image_size(data: bytes, source: Source = "<bytes>") -> tuple[str, int, int]:
    """Sniff an image file's format and size-check it from its header.

    Parameters
    ----------
    data : bytes
        The file's bytes (the header is enough for every format but TIFF, whose size sits
        at an offset given in the header).
    source : str | os.PathLike[str]
        The file's path or name, for messages.

    Returns
    -------
    tuple[str, int, int]
        ``(format, width, height)``; format is one of ``png pnm jpeg gif bmp tiff``.
    """
    if data[:8] == PNG_SIGNATURE:
        header = png_header(data, source)
        return "png", header.width, header.height
    if len(data) >= 2 and data[0:1] == b"P" and data[1:2] in b"123456":
        kind, width, height = "pnm", *_pnm_size(data, source)
    elif data[:3] == b"\xff\xd8\xff":
        kind, width, height = "jpeg", *_jpeg_size(data, source)
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        kind, width, height = "gif", *struct.unpack("<HH", data[6:10])
    elif data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        kind, height = "bmp", abs(height)  # negative height: rows stored top-down
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        kind, width, height = "tiff", *_tiff_size(data, source)
    else:
        known = "PNG, PNM, JPEG, GIF, BMP or TIFF"
        raise FileFormatError(source, f"unknown image format (expected {known})")
    check_dimensions(width, height, source)
    return kind, width, height
