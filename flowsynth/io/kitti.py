"""KITTI optical flow PNGs: 16-bit RGB with ``(u, v, valid)`` in the R, G, B channels.

``flow = (value - 2**15) / 64`` and ``valid = B > 0``. The representable range is
``[-512, 511.984375]`` in steps of ``1/64``. Flow at invalid pixels is undefined in the format;
the readers here return 0 there.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.base.conventions import check_flow
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.errors import FileFormatError
from flowsynth.io.headers import check_png_chunks, check_png_plausible, png_header
from flowsynth.io.images import cv2_decode
from flowsynth.io.limits import check_decoded_size, read_file

_OFFSET = 2**15
_SCALE = 64.0
FLOW_MIN = -_OFFSET / _SCALE
FLOW_MAX = (2**16 - 1 - _OFFSET) / _SCALE
#: Memory decoding needs per pixel: the 16-bit RGB image, two float32 (u, v) arrays (the
#: result and a temporary), the valid mask and its negation, with a margin.
_BYTES_PER_PIXEL = 32


def _check_header(data: bytes, name: str) -> None:
    header = png_header(data, name)
    if header.bit_depth != 16 or header.colour_type != 2:
        raise FileFormatError(
            name,
            "KITTI flow PNG must be 16-bit RGB (bit depth 16, colour type 2), got bit depth "
            f"{header.bit_depth}, colour type {header.colour_type}",
        )
    check_png_plausible(header, check_png_chunks(data, name), name)
    check_decoded_size(header.width, header.height, _BYTES_PER_PIXEL, name)


def decode_kitti_flow(
    data: bytes, name: str = "<bytes>"
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Decode the bytes of a KITTI flow PNG.

    Returns
    -------
    flow : float32 (H, W, 2)
        ``(u, v)``; 0 where not valid.
    valid : bool (H, W)

    Raises
    ------
    FileFormatError
        Not a 16-bit RGB PNG of plausible size (for the limits and for the file's length),
        or the PNG does not decode.
    """
    _check_header(data, name)
    decoded = cv2_decode(data, name, cv2.IMREAD_UNCHANGED)
    if decoded.dtype != np.uint16 or decoded.ndim != 3 or decoded.shape[2] != 3:
        raise FileFormatError(name, f"decoded to {decoded.dtype} {decoded.shape}, not uint16 RGB")
    # OpenCV returns BGR: channel 2 is u, 1 is v, 0 is valid.
    valid = decoded[..., 0] > 0
    flow = (decoded[..., 2:0:-1].astype(np.float32) - _OFFSET) / np.float32(_SCALE)
    flow[~valid] = 0.0
    return flow, valid


def encode_kitti_flow(
    flow: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_], compression: int = 1
) -> bytes:
    """Encode flow and its valid mask as KITTI flow PNG bytes.

    Parameters
    ----------
    flow : float32 (H, W, 2)
        Rounded to 1/64 px and clipped to ``[FLOW_MIN, FLOW_MAX]``; ignored where not valid.
    valid : bool (H, W)
    compression : int
        zlib level 0..9.

    Raises
    ------
    ValueError
        Wrong shapes or dtypes, or non-finite flow at a valid pixel.
    """
    check_flow(flow)
    if not 0 <= compression <= 9:
        raise ValueError(f"compression must be 0..9, got {compression}")
    if valid.dtype != np.bool_ or valid.shape != flow.shape[:2]:
        raise ValueError(f"valid must be bool {flow.shape[:2]}, got {valid.dtype} {valid.shape}")
    if not np.isfinite(flow[valid]).all():
        raise ValueError("flow is not finite at some valid pixels; mark them invalid")
    stored = np.where(valid[..., None], flow, np.float32(0.0))
    stored = np.clip(np.rint(stored * _SCALE) + _OFFSET, 0, 2**16 - 1).astype(np.uint16)
    bgr = np.dstack([valid.astype(np.uint16), stored[..., 1], stored[..., 0]])
    ok, buffer = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, int(compression)])
    if not ok:
        raise ValueError(f"OpenCV could not encode a KITTI flow PNG of shape {flow.shape}")
    return buffer.tobytes()


def read_kitti_flow(
    path: str | os.PathLike[str],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Read a KITTI flow PNG (see :func:`decode_kitti_flow`).

    Returns
    -------
    flow : float32 (H, W, 2)
    valid : bool (H, W)
    """
    return decode_kitti_flow(read_file(path), os.fspath(path))


def write_kitti_flow(
    path: str | os.PathLike[str],
    flow: npt.NDArray[np.float32],
    valid: npt.NDArray[np.bool_],
    compression: int = 1,
) -> None:
    """Write flow and valid mask to ``path`` as a KITTI flow PNG, atomically.

    See :func:`encode_kitti_flow` for rounding and clipping.
    """
    atomic_write_bytes(path, encode_kitti_flow(flow, valid, compression))
