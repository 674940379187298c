"""Image sizes read from file headers, so that no decoder allocates for a hostile header.

Each ``*_size`` function takes the first bytes of a file and returns ``(width, height)`` or
raises :class:`FileFormatError`; :func:`image_size` sniffs the format first. Only the formats
:mod:`flowsynth.io.images` accepts are known: PNG, PNM (PBM/PGM/PPM), JPEG, GIF, BMP, TIFF.

:func:`image_info` also checks that the size is plausible for the file's length (a decoder
fills in missing data, so a small file claiming a huge size would otherwise decode) and
estimates the memory a decoder needs per pixel, for
:func:`flowsynth.io.limits.check_decoded_size`.
"""

from __future__ import annotations

import os
import re
import struct
from typing import NamedTuple

from flowsynth.io.errors import FileFormatError
from flowsynth.io.limits import MAX_DECODED_BYTES, check_dimensions

Source = str | os.PathLike[str]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND"
_PNG_IDAT = b"IDAT"
#: Samples per pixel by PNG colour type: grey, RGB, palette, grey + alpha, RGBA.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Largest expansion of deflate (PNG, TIFF) data: 258 bytes from 2 bits, plus a margin.
_DEFLATE_RATIO = 1040
#: Largest expansion of LZW (GIF, TIFF): a 12-bit code yields at most 4096 bytes.
_LZW_RATIO = 2731
#: A valid JPEG codes each 8x8 block of its full-resolution component in at least 1 bit.
_JPEG_PIXELS_PER_BYTE = 512
#: A run-length BMP codes a run of up to 255 pixels in 2 bytes; rows may end early, so
#: this is only a plausibility bound.
_BMP_RLE_PIXELS_PER_BYTE = 4096
#: Margin for the plausibility checks, so tiny valid files always pass.
_SLACK_BYTES = 4096
# PBM/PGM/PPM header: magic, width, height and (except for bitmaps) maxval, with comments.
_PNM_TOKEN = re.compile(rb"(?:\s|#[^\n]*\n)*(\d{1,10})")
# JPEG start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Arithmetic-coded frames (C9-CB, CD-CF): they can code a block in a tiny fraction of a bit, so
# no file length bounds their size; refused (they are rare).
_JPEG_ARITHMETIC = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
#: Most start-of-scan markers accepted in a JPEG: each scan is a pass over the whole image.
MAX_JPEG_SCANS = 256
#: Most pages (image directories) accepted in a TIFF: slices of a volume.
MAX_TIFF_PAGES = 1 << 13


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


def check_png_chunks(data: bytes, source: Source = "<bytes>") -> int:
    """Walk a PNG's chunk lengths and raise unless they end in an IEND chunk inside ``data``.

    Catches truncated files cheaply, before the decoder (which reports them only on stderr).

    Returns
    -------
    int
        The total length of the IDAT chunks: the compressed image data.
    """
    position = 8
    idat_bytes = 0
    while position + 12 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        position += 12 + length
        if chunk_type == _PNG_IDAT:
            idat_bytes += length
        if chunk_type == _PNG_IEND:
            if position > len(data):
                break
            return idat_bytes
    raise FileFormatError(source, "PNG truncated (no complete IEND chunk)")


def check_png_plausible(header: PngHeader, idat_bytes: int, source: Source = "<bytes>") -> None:
    """Raise unless ``idat_bytes`` of deflate data can hold the image ``header`` claims.

    Deflate expands at most 1032-fold (258 bytes per 2-bit length/distance code), so a PNG
    claiming more scanline bytes than that is corrupt or hostile.
    """
    bits = header.bit_depth * _PNG_CHANNELS.get(header.colour_type, 4)
    raw_bytes = (header.width * header.height * bits + 7) // 8
    if raw_bytes > _DEFLATE_RATIO * idat_bytes + _SLACK_BYTES:
        raise FileFormatError(
            source,
            f"PNG claims {header.width}x{header.height} ({raw_bytes} bytes of samples) but "
            f"holds only {idat_bytes} bytes of image data: implausible, corrupt or hostile",
        )


class ImageInfo(NamedTuple):
    """What :func:`image_info` reads from an image file's header.

    Attributes
    ----------
    kind : one of ``png pnm jpeg gif bmp tiff``.
    width, height : the size, checked against the limits.
    sample_bytes : bytes per decoded sample (1, 2 for 16-bit files, up to 8 for float TIFF).
    decoder_bytes : estimated memory per pixel the decoder needs: its output of up to four
        channels plus its internal buffers (JPEG coefficients, the GIF canvas, TIFF strips).
    pages : the number of images in the file (TIFF pages, each checked; else 1). ``width``,
        ``height`` and the estimates are those of the first, which a 2D reader decodes.
    """

    kind: str
    width: int
    height: int
    sample_bytes: int
    decoder_bytes: int
    pages: int = 1


def _implausible(source: Source, kind: str, width: int, height: int, size: int) -> None:
    raise FileFormatError(
        source,
        f"{kind} claims {width}x{height} pixels, implausible for a file of {size} bytes "
        "(truncated, corrupt or hostile)",
    )


def _pnm_info(data: bytes, source: Source) -> tuple[int, int, int]:
    """``(width, height, sample_bytes)`` of a PBM/PGM/PPM, checked against the file length."""
    magic = data[1:2]
    position = 2
    numbers = []
    for _ in range(2 if magic in (b"1", b"4") else 3):
        match = _PNM_TOKEN.match(data, position)
        if match is None:
            raise FileFormatError(source, "PNM header truncated or malformed")
        numbers.append(int(match.group(1)))
        position = match.end()
    width, height = numbers[0], numbers[1]
    check_dimensions(width, height, source)
    maxval = numbers[2] if len(numbers) == 3 else 1
    if not 1 <= maxval <= 65535:
        raise FileFormatError(source, f"PNM maxval must be 1..65535, got {maxval}")
    sample_bytes = 2 if maxval > 255 else 1
    samples = width * height * (3 if magic in (b"3", b"6") else 1)
    # Text formats: a bitmap's digits may touch; other samples need a separator each.
    needed = {
        b"1": samples,
        b"2": 2 * samples - 1,
        b"3": 2 * samples - 1,
        b"4": (width + 7) // 8 * height,
    }.get(magic, samples * sample_bytes)
    if needed > len(data) - position:
        _implausible(source, "PNM", width, height, len(data))
    return width, height, sample_bytes


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
            if marker in _JPEG_ARITHMETIC:
                raise FileFormatError(source, "arithmetic-coded JPEG is not supported")
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    raise FileFormatError(source, "JPEG has no frame header (truncated or malformed)")


def _jpeg_info(data: bytes, source: Source) -> tuple[int, int]:
    width, height = _jpeg_size(data, source)
    check_dimensions(width, height, source)
    if width * height > _JPEG_PIXELS_PER_BYTE * len(data):
        _implausible(source, "JPEG", width, height, len(data))
    # Entropy-coded data stuffs 0xFF as FF 00, so every FF DA is a start-of-scan marker.
    scans = data.count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS:
        raise FileFormatError(source, f"JPEG has {scans} scans, over the limit of {MAX_JPEG_SCANS}")
    return width, height


def _gif_info(data: bytes, source: Source) -> tuple[int, int]:
    width, height = struct.unpack("<HH", data[6:10])
    check_dimensions(width, height, source)
    # Each pixel is at least one LZW-decoded byte of some frame.
    if width * height > _LZW_RATIO * len(data) + _SLACK_BYTES:
        _implausible(source, "GIF", width, height, len(data))
    return width, height


def _bmp_info(data: bytes, source: Source) -> tuple[int, int]:
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes, no compression
        width, height, _, bits = struct.unpack("<hhHH", data[18:26])
        compression = 0
    else:
        width, height = struct.unpack("<ii", data[18:26])
    height = abs(height)  # negative height: rows stored top-down
    check_dimensions(width, height, source)
    if header_size != 12:
        if len(data) < 34:
            raise FileFormatError(source, "BMP header truncated")
        bits, compression = struct.unpack("<HI", data[28:34])
    if compression in (0, 3, 6):  # uncompressed (3, 6: with bit fields)
        if bits not in (1, 4, 8, 16, 24, 32):
            raise FileFormatError(source, f"unsupported BMP bit depth {bits}")
        if (width * bits + 31) // 32 * 4 * height > len(data):
            _implausible(source, "BMP", width, height, len(data))
    elif compression in (1, 2):  # run-length coded, 8 or 4 bits
        if width * height > _BMP_RLE_PIXELS_PER_BYTE * len(data) + _SLACK_BYTES:
            _implausible(source, "BMP", width, height, len(data))
    else:
        raise FileFormatError(source, f"unsupported BMP compression {compression}")
    return width, height


_TIFF_TYPE_SIZES = {1: 1, 3: 2, 4: 4, 16: 8}  # BYTE, SHORT, LONG, LONG8
_TIFF_FORMATS = {1: "B", 3: "H", 4: "I", 16: "Q"}
#: The fields read: width, height, bits per sample, compression, samples per pixel.
_TIFF_TAGS = frozenset({256, 257, 258, 259, 277})


def _tiff_directory(
    data: bytes, offset: int, order: str, source: Source
) -> tuple[dict[int, int], int]:
    """The first value of each integer field :func:`_tiff_page` reads from the TIFF directory
    at ``offset``, and the offset of the next directory (0 after the last)."""
    try:
        (count,) = struct.unpack_from(order + "H", data, offset)
        end = offset + 2 + 12 * count
        (following,) = struct.unpack_from(order + "I", data, end)
        fields = {}
        entries = struct.iter_unpack(order + "HHII", data[offset + 2 : end])
        for index, (tag, kind, values, position) in enumerate(entries):
            if tag not in _TIFF_TAGS or kind not in _TIFF_FORMATS or values < 1:
                continue
            if _TIFF_TYPE_SIZES[kind] * values <= 4:  # stored in the entry, not at an offset
                position = offset + 2 + 12 * index + 8
            (fields[tag],) = struct.unpack_from(order + _TIFF_FORMATS[kind], data, position)
    except struct.error:
        raise FileFormatError(source, "TIFF header truncated or malformed") from None
    return fields, following


def _tiff_pages(data: bytes, source: Source) -> list[dict[int, int]]:
    """The integer fields of every directory (page) of a TIFF, following the chain.

    At most :data:`MAX_TIFF_PAGES` pages; a chain that loops or runs past the end of ``data``
    raises. A truncated chain after the first page raises too: its pages would be missing.
    """
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        raise FileFormatError(source, "TIFF header truncated or malformed")
    (offset,) = struct.unpack(order + "I", data[4:8])
    pages: list[dict[int, int]] = []
    seen: set[int] = set()
    while offset:
        if offset in seen:
            raise FileFormatError(source, f"TIFF directory chain loops back to byte {offset}")
        if len(pages) == MAX_TIFF_PAGES:
            raise FileFormatError(source, f"TIFF has more than {MAX_TIFF_PAGES} pages, the limit")
        seen.add(offset)
        fields, offset = _tiff_directory(data, offset, order, source)
        pages.append(fields)
    if not pages:
        raise FileFormatError(source, "TIFF has no image directory")
    return pages


def _tiff_page(fields: dict[int, int], source: Source) -> tuple[int, int, int, int, int]:
    """``(width, height, sample_bytes, raw_bytes, compression ratio bound)`` of one page."""
    if 256 not in fields or 257 not in fields:
        raise FileFormatError(source, "TIFF header truncated or has no image size")
    width, height = fields[256], fields[257]
    check_dimensions(width, height, source)
    bits, samples = fields.get(258, 1), fields.get(277, 1)
    if not 1 <= bits <= 64 or not 1 <= samples <= 16:
        raise FileFormatError(
            source, f"unsupported TIFF layout: {samples} samples of {bits} bits per pixel"
        )
    raw_bytes = (width * height * bits * samples + 7) // 8
    ratio = 1 if fields.get(259, 1) == 1 else _LZW_RATIO  # uncompressed, or at most LZW's
    return width, height, max(1, (bits + 7) // 8), raw_bytes, ratio


def _tiff_info(data: bytes, source: Source) -> tuple[int, int, int, int]:
    """``(width, height, sample_bytes, pages)`` of a TIFF: the size of its first page, checked
    for plausibility and decoded size over all its pages.

    Every page's image data must fit in the file (its raw size over the best compression
    ratio, summed over the pages), and decoding every page (a volume reader does) must need at
    most ``MAX_DECODED_BYTES`` by the estimate :func:`image_info` makes per pixel.
    """
    pages = [_tiff_page(fields, source) for fields in _tiff_pages(data, source)]
    width, height, sample_bytes, _, _ = pages[0]
    # sum(raw / ratio) > len(data) (+ a slack for compressed data), in integers: times LZW's.
    scaled = sum(raw * (_LZW_RATIO // ratio) for *_, raw, ratio in pages)
    compressed = any(ratio > 1 for *_, ratio in pages)
    if scaled > _LZW_RATIO * len(data) + (_SLACK_BYTES if compressed else 0):
        if len(pages) == 1:
            _implausible(source, "TIFF", width, height, len(data))
        raise FileFormatError(
            source,
            f"TIFF's {len(pages)} pages claim {sum(page[3] for page in pages)} bytes of "
            f"samples, implausible for a file of {len(data)} bytes (truncated, corrupt or "
            "hostile)",
        )
    # The decoder's output and a strip buffer per pixel, as image_info estimates for one page.
    needed = sum(w * h * 8 * b for w, h, b, *_ in pages)
    if needed > MAX_DECODED_BYTES:
        raise FileFormatError(
            source,
            f"TIFF's {len(pages)} pages need about {needed} bytes to decode, over the "
            f"{MAX_DECODED_BYTES}-byte limit",
        )
    return width, height, sample_bytes, len(pages)


def image_info(data: bytes, source: Source = "<bytes>") -> ImageInfo:
    """Sniff an image file's format, size-check it from its header and check plausibility.

    Parameters
    ----------
    data : bytes
        The whole file: the size must be plausible for its length (for PNG, the chunks up to
        IEND must be present).
    source : str | os.PathLike[str]
        The file's path or name, for messages.

    Raises
    ------
    FileFormatError
        Unknown format, a size over the limits, a truncated PNG, or a size implausible for
        the file's length.
    """
    sample_bytes, overhead, pages = 1, 0, 1
    if data[:8] == PNG_SIGNATURE:
        header = png_header(data, source)
        check_png_plausible(header, check_png_chunks(data, source), source)
        kind, width, height = "png", header.width, header.height
        sample_bytes = 2 if header.bit_depth == 16 else 1
    elif len(data) >= 2 and data[0:1] == b"P" and data[1:2] in b"123456":
        kind, (width, height, sample_bytes) = "pnm", _pnm_info(data, source)
    elif data[:3] == b"\xff\xd8\xff":
        # libjpeg holds coefficients of the whole image for progressive files.
        kind, (width, height), overhead = "jpeg", _jpeg_info(data, source), 8
    elif data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        kind, (width, height), overhead = "gif", _gif_info(data, source), 5
    elif data[:2] == b"BM" and len(data) >= 26:
        kind, (width, height) = "bmp", _bmp_info(data, source)
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        kind, (width, height, sample_bytes, pages) = "tiff", _tiff_info(data, source)
        overhead = 4 * sample_bytes  # a strip or tile buffer, up to the whole image
    else:
        known = "PNG, PNM, JPEG, GIF, BMP or TIFF"
        raise FileFormatError(source, f"unknown image format (expected {known})")
    return ImageInfo(kind, width, height, sample_bytes, 4 * sample_bytes + overhead, pages)


def image_size(data: bytes, source: Source = "<bytes>") -> tuple[str, int, int]:
    """Sniff an image file's format and size-check it from its header (see :func:`image_info`).

    Returns
    -------
    tuple[str, int, int]
        ``(format, width, height)``; format is one of ``png pnm jpeg gif bmp tiff``.
    """
    info = image_info(data, source)
    return info.kind, info.width, info.height
