"""Fuzzing every reader with mutated valid files: only typed errors, and never slow.

Valid ``.flo``, ``.pfm``, PNG (8 and 16-bit), KITTI flow PNG, JPEG, GIF and two-page TIFF files
are mutated (bytes set, 16/32-bit fields overwritten with edge values such as sizes, bytes
inserted or deleted, the file cut) and fed to every decoder and file reader. Each must return an
array or raise :class:`FileFormatError` (the pair reader: ``PairFileError``, one of them),
within ``CASE_SECONDS``.
The default run is a few hundred cases; ``-m slow`` runs many more.
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import imageio.v3 as iio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.deform.pairs import PairFileError, read_array
from flowsynth.io import (
    FileFormatError,
    decode_flo,
    decode_image,
    decode_kitti_flow,
    decode_pfm,
    decode_png,
    encode_flo,
    encode_kitti_flow,
    encode_pfm,
    encode_png,
    read_flo,
    read_grey,
    read_image,
    read_kitti_flow,
    read_label,
    read_pfm,
    read_png,
)
from flowsynth.io.limits import MAX_DECODED_BYTES
from tests.io.test_hostile_tiff_pages import tiff_volume
from tests.limits import deadline

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM is POSIX")

#: Longest one case (one file through every reader) may take.
CASE_SECONDS = 5.0


def _valid_files() -> dict[str, bytes]:
    rng = np.random.default_rng(11)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    flow = rng.normal(0, 3, (3, 4, 2)).astype(np.float32)
    noise = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    progressive = [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    return {
        "flo": encode_flo(flow),
        "pfm_grey": encode_pfm(flow[..., 0]),
        "pfm_colour": encode_pfm(rng.random((3, 2, 3)).astype(np.float32)),
        "png8": encode_png(rgb, 0),
        "png8_zlib": encode_png(rgb[..., 0].copy(), 9),
        "png16": cv2.imencode(".png", (rgb.astype(np.uint16) * 257))[1].tobytes(),
        "kitti": encode_kitti_flow(flow, rng.random((3, 4)) < 0.7, compression=0),
        "jpeg": cv2.imencode(".jpg", noise)[1].tobytes(),
        "jpeg_progressive": cv2.imencode(".jpg", rgb, progressive)[1].tobytes(),
        "gif": iio.imwrite("<bytes>", rgb, extension=".gif"),
        "tiff_pages": tiff_volume([rgb[..., 0].copy(), rgb[..., 1].copy()], deflate=True)[0],
    }


VALID = _valid_files()
#: Values a mutation writes over a 16- or 32-bit field: sizes, signs, limits.
EDGE_VALUES = [0, 1, 2, 255, 256, 8000, 8192, 32767, 32768, 65535, 2**31 - 1, 2**31, 2**32 - 1]

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "decode_flo": decode_flo,
    "decode_pfm": decode_pfm,
    "decode_image": decode_image,
    "decode_png": decode_png,
    "decode_kitti_flow": decode_kitti_flow,
}
FILE_READERS: dict[str, Callable[[Path], Any]] = {
    "read_flo": read_flo,
    "read_pfm": read_pfm,
    "read_image": read_image,
    "read_grey": read_grey,
    "read_label": read_label,
    "read_png": read_png,
    "read_kitti_flow": read_kitti_flow,
}


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A valid file with one to four mutations."""
    data = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["byte", "field16", "field32", "insert", "delete", "cut"]))
        if how == "byte":
            data[at] = draw(st.integers(0, 255))
        elif how in ("field16", "field32"):
            size, top = (2, 0xFFFF) if how == "field16" else (4, 0xFFFFFFFF)
            value = draw(st.sampled_from(EDGE_VALUES)) & top
            order = draw(st.sampled_from("<>"))
            field = struct.pack(order + ("H" if size == 2 else "I"), value)
            data[at : at + size] = field
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


def _check_result(result: Any) -> None:
    arrays = result if isinstance(result, tuple) else (result,)
    for array in arrays:
        assert isinstance(array, np.ndarray)
        assert array.nbytes <= MAX_DECODED_BYTES


def check_every_reader(data: bytes, folder: Path) -> None:
    """Feed ``data`` to every reader: an array or a typed error, each case in time."""
    start = time.perf_counter()
    with deadline(2 * CASE_SECONDS):
        for decode in DECODERS.values():
            try:
                _check_result(decode(data))
            except FileFormatError:
                pass
        for suffix in (".flo", ".pfm", ".png"):
            path = folder / f"f{suffix}"
            path.write_bytes(data)
            for reader in FILE_READERS.values():
                try:
                    _check_result(reader(path))
                except FileFormatError:
                    pass
        for suffix in (".png", ".jpg", ".gif", ".tif"):
            path = folder / f"pair{suffix}"
            path.write_bytes(data)
            try:
                _check_result(read_array(path))
            except PairFileError:
                pass
    elapsed = time.perf_counter() - start
    assert elapsed < CASE_SECONDS, f"one case took {elapsed:.2f} s"


#: Pillow (behind imageio) warns about, and skips, tags of a mutated TIFF that point past its end.
PIL_TIFF_WARNING = "ignore:Tag data larger than file"
COMMON = {
    "deadline": None,
    "database": None,  # no .hypothesis folder in the shared tree
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


def test_the_seed_files_are_valid(tmp_path: Path) -> None:
    assert decode_flo(VALID["flo"]).shape == (3, 4, 2)
    assert decode_pfm(VALID["pfm_colour"]).shape == (3, 2, 3)
    assert decode_kitti_flow(VALID["kitti"])[0].shape == (3, 4, 2)
    for name in ("png8", "png8_zlib", "png16", "kitti", "jpeg", "jpeg_progressive", "gif"):
        assert decode_image(VALID[name]).ndim == 3, name
    for name in ("tiff_pages",):
        assert decode_image(VALID[name]).ndim == 3, name
    check_every_reader(VALID["gif"], tmp_path)


@pytest.mark.filterwarnings(PIL_TIFF_WARNING)
@settings(max_examples=500, derandomize=True, **COMMON)
@given(mutated_files())
def test_fuzz_mutated_files_into_every_reader(tmp_path: Path, data: bytes) -> None:
    check_every_reader(data, tmp_path)


@pytest.mark.slow
@pytest.mark.filterwarnings(PIL_TIFF_WARNING)
@settings(max_examples=5000, **COMMON)
@given(mutated_files())
def test_fuzz_mutated_files_into_every_reader_long(tmp_path: Path, data: bytes) -> None:
    check_every_reader(data, tmp_path)
