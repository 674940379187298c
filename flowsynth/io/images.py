"""Images, grey images and label maps: PNG, PNM (PPM/PGM), JPEG, GIF, BMP and TIFF in; PNG out.

Every reader sniffs the format, checks the size in the header, its plausibility for the file's
length and the memory decoding needs (:mod:`flowsynth.io.headers`,
:func:`flowsynth.io.limits.check_decoded_size`) before OpenCV decodes, reads only regular files
(:func:`flowsynth.io.limits.read_file`), and turns any failure into :class:`FileFormatError`
naming the file.
Colour arrays are RGB throughout; OpenCV's BGR order never leaves this module.
"""

from __future__ import annotations

import os
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.io import png
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.errors import FileFormatError
from flowsynth.io.headers import image_info, png_header
from flowsynth.io.limits import check_decoded_size, read_file

Source = str | os.PathLike[str]
_INTEGER_DTYPES = (np.uint8, np.uint16)
#: Rows converted at a time from 16 to 8 bits, bounding the uint32 temporaries.
_ROWS_PER_BLOCK = 256


def cv2_decode(data: bytes, source: Source, flags: int) -> npt.NDArray[Any]:
    """``cv2.imdecode`` with every failure raised as :class:`FileFormatError`.

    Check the header size first: OpenCV allocates whatever a header claims (up to 2^30 px).
    """
    try:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as error:
        raise FileFormatError(source, f"could not decode image: {error}") from None
    if decoded is None:
        raise FileFormatError(source, "could not decode image (corrupt or unsupported)")
    return decoded


def _swap_red_blue(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """RGB <-> BGR, or RGBA <-> BGRA, of ``(H, W, 3 or 4)``: a new contiguous array."""
    return array[..., [2, 1, 0, 3][: array.shape[2]]]


def _decode_checked(
    data: bytes,
    source: Source,
    flags: int,
    *,
    extra_bytes: int = 0,
    extra_samples: int = 0,
) -> npt.NDArray[Any]:
    """Check the header, plausibility and decoded size of ``data``, then decode it.

    ``extra_bytes`` (per pixel) and ``extra_samples`` (per pixel, of the file's sample size)
    are the memory the calling reader needs on top of the decoder's.
    """
    info = image_info(data, source)
    per_pixel = info.decoder_bytes + extra_bytes + extra_samples * info.sample_bytes
    check_decoded_size(info.width, info.height, per_pixel, source)
    decoded = cv2_decode(data, source, flags)
    if decoded.dtype not in _INTEGER_DTYPES:
        raise FileFormatError(source, f"unsupported sample type {decoded.dtype}")
    return decoded


def decode_image(data: bytes, name: str = "<bytes>") -> npt.NDArray[np.uint8]:
    """Decode an image file's bytes to RGB.

    Grey images are repeated into three channels, alpha is dropped and 16-bit samples are
    rounded to 8 bits (``65535 -> 255``).

    Returns
    -------
    uint8 (H, W, 3)
        RGB.
    """
    # Extra: the 8-bit image and its RGB copy.
    decoded = _decode_checked(data, name, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH, extra_bytes=6)
    if decoded.dtype == np.uint16:
        wide = decoded
        decoded = np.empty(wide.shape, np.uint8)
        for start in range(0, wide.shape[0], _ROWS_PER_BLOCK):
            block = wide[start : start + _ROWS_PER_BLOCK].astype(np.uint32)
            decoded[start : start + _ROWS_PER_BLOCK] = (block + 128) // 257
        del wide
    return _swap_red_blue(decoded)


def read_image(path: Source) -> npt.NDArray[np.uint8]:
    """Read an image file as RGB (see :func:`decode_image`).

    Returns
    -------
    uint8 (H, W, 3)

    Raises
    ------
    FileFormatError
        Unknown format, implausible size, or a file that does not decode; names the file.
    """
    return decode_image(read_file(path), os.fspath(path))


def read_grey(path: Source) -> npt.NDArray[np.uint8 | np.uint16]:
    """Read an image file as one channel, keeping its bit depth.

    Grey images come back unchanged; colour images are converted with OpenCV's luma weights.

    Returns
    -------
    uint8 or uint16 (H, W)
    """
    flags = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH
    # Extra: the grey image, for decoders that convert from colour.
    return _decode_checked(read_file(path), path, flags, extra_samples=1)


def read_label(path: Source) -> npt.NDArray[np.uint8 | np.uint16]:
    """Read a label or mask image with its values unchanged.

    A colour file whose colour channels are all equal (a grey map saved as RGB, as in GIFs)
    is accepted; any other colour file is not a label map and raises. Palette PNGs are
    expanded to colours by the decoder, so their indices cannot be read here.

    Returns
    -------
    uint8 or uint16 (H, W)
    """
    # Extra: the channel comparisons and the contiguous copy.
    decoded = _decode_checked(read_file(path), path, cv2.IMREAD_UNCHANGED, extra_samples=4)
    if decoded.ndim == 2:
        return decoded
    colour = decoded[..., :3]
    if not (
        np.array_equal(colour[..., 0], colour[..., 1])
        and np.array_equal(colour[..., 0], colour[..., 2])
    ):
        raise FileFormatError(path, "colour image with unequal channels, not a label map")
    return np.ascontiguousarray(colour[..., 0])


def _png_ready(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Check a PNG-writable array: ``uint8``/``uint16`` ``(H, W)`` or ``(H, W, 3 or 4)`` RGB(A).

    Bool becomes 0 / 255 ``uint8`` and a single channel axis is dropped.
    """
    if array.dtype == np.bool_:
        array = array.view(np.uint8) * np.uint8(255)
    if array.dtype not in _INTEGER_DTYPES:
        raise ValueError(f"PNG holds uint8, uint16 or bool arrays, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4)):
        return array
    raise ValueError(f"PNG holds (H, W), (H, W, 3) or (H, W, 4) arrays, got {array.shape}")


def _to_cv2_layout(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Check a PNG-writable array and convert it to OpenCV's channel order."""
    array = _png_ready(array)
    return _swap_red_blue(array) if array.ndim == 3 else array


def encode_png(array: npt.NDArray[np.generic], compression: int = 1) -> bytes:
    """Encode an array as PNG bytes.

    Parameters
    ----------
    array : uint8 or uint16 (H, W), (H, W, 3) RGB or (H, W, 4) RGBA; or bool (H, W)
        Bool is stored as 0 / 255 uint8.
    compression : int
        0-3: fast, :mod:`flowsynth.io.png` with ISA-L deflate at that level (1, the default, is
        as small as zlib's level 1 at a quarter of the time); 4-9: OpenCV's libpng with zlib at
        that level and adaptive row filters, for the smallest files at several times the time.

    Returns
    -------
    bytes
    """
    if not 0 <= compression <= 9:
        raise ValueError(f"compression must be 0..9, got {compression}")
    array = np.asarray(array)
    if compression in png.LEVELS:
        ready = _png_ready(array)
        return png.encode(cast("npt.NDArray[np.uint8 | np.uint16]", ready), compression)
    layout = _to_cv2_layout(array)
    ok, buffer = cv2.imencode(".png", layout, [cv2.IMWRITE_PNG_COMPRESSION, int(compression)])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {layout.dtype} {layout.shape} array as PNG")
    return buffer.tobytes()


def write_png(path: Source, array: npt.NDArray[np.generic], compression: int = 1) -> None:
    """Write an array to ``path`` as PNG, atomically (see :func:`encode_png`)."""
    atomic_write_bytes(path, encode_png(array, compression))


def decode_png(data: bytes, name: str = "<bytes>") -> npt.NDArray[np.uint8 | np.uint16]:
    """Decode PNG bytes to the array they store: the inverse of :func:`encode_png`.

    Returns
    -------
    uint8 or uint16 (H, W), (H, W, 3) RGB or (H, W, 4) RGBA
        Palette images come back as RGB(A).
    """
    png_header(data, name)  # a PNG, not any image
    # Extra: the RGB(A) copy.
    decoded = _decode_checked(data, name, cv2.IMREAD_UNCHANGED, extra_samples=4)
    return _swap_red_blue(decoded) if decoded.ndim == 3 else decoded


def read_png(path: Source) -> npt.NDArray[np.uint8 | np.uint16]:
    """Read a PNG file as the array it stores (see :func:`decode_png`)."""
    return decode_png(read_file(path), os.fspath(path))
