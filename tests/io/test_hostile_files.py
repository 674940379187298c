"""Hostile files: devices, FIFOs and small files claiming huge sizes, for every reader.

Each reader must refuse them with :class:`FileFormatError` quickly and without allocating what
the header claims. A ``deadline`` (SIGALRM) turns a hang into a failure.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import imageio.v3 as iio
import numpy as np
import pytest

from flowsynth.dataset.kinds import load_texture_images
from flowsynth.deform.pairs import PairFileError, read_array
from flowsynth.io import (
    FileFormatError,
    decode_image,
    decode_kitti_flow,
    decode_png,
    read_flo,
    read_grey,
    read_image,
    read_kitti_flow,
    read_label,
    read_pfm,
    read_png,
)
from flowsynth.io.limits import MAX_DECODED_BYTES, read_file
from tests.limits import deadline

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="devices, FIFOs and SIGALRM are POSIX"
)

#: Time and traced memory a refusal may take.
FAST_S = 1.0
SMALL_PEAK = 50 << 20

FILE_READERS: dict[str, Callable[[Path], Any]] = {
    "read_image": read_image,
    "read_grey": read_grey,
    "read_label": read_label,
    "read_png": read_png,
    "read_kitti_flow": read_kitti_flow,
    "read_flo": read_flo,
    "read_pfm": read_pfm,
    "read_file": read_file,
    "load_texture_images": lambda path: load_texture_images(path.parent),
}


@contextlib.contextmanager
def fast_and_small() -> Iterator[None]:
    """Fail unless the block takes under ``FAST_S`` and traces under ``SMALL_PEAK`` bytes."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with deadline(5.0):
            yield
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < FAST_S, f"took {elapsed:.2f} s"
    assert peak < SMALL_PEAK, f"traced {peak} bytes"


# --- finding 8: devices and FIFOs ------------------------------------------------------------


def _special(tmp_path: Path, kind: str, name: str) -> Path:
    folder = tmp_path / kind
    folder.mkdir()
    path = folder / name
    if kind == "zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["zero", "fifo"])
@pytest.mark.parametrize("reader", sorted(FILE_READERS))
def test_devices_and_fifos_are_refused(tmp_path: Path, kind: str, reader: str) -> None:
    suffix = {"read_flo": ".flo", "read_pfm": ".pfm"}.get(reader, ".png")
    path = _special(tmp_path, kind, "x" + suffix)
    with fast_and_small(), pytest.raises(FileFormatError, match="not a regular file"):
        FILE_READERS[reader](path)


@pytest.mark.parametrize("kind", ["zero", "fifo"])
def test_pair_reader_refuses_devices_and_fifos(tmp_path: Path, kind: str) -> None:
    path = _special(tmp_path, kind, "x.png")
    with fast_and_small(), pytest.raises(PairFileError) as error:
        read_array(path)
    assert isinstance(error.value.__cause__, FileFormatError)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.png").mkdir()
    with pytest.raises(FileFormatError, match="directory"):
        read_image(tmp_path / "d.png")


def test_read_file_does_not_trust_st_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(100))
    assert read_file(path, 100) == bytes(100)
    with pytest.raises(FileFormatError, match="100 bytes exceeds the 99-byte limit"):
        read_file(path, 99)
    real_fstat = os.fstat

    def lying_fstat(descriptor: int) -> os.stat_result:
        fields = list(real_fstat(descriptor))
        fields[6] = 0  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr(os, "fstat", lying_fstat)
    with pytest.raises(FileFormatError, match="exceeds the 99-byte limit"):
        read_file(path, 99)


# --- finding 10: small files claiming huge sizes ---------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def patch_png_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a PNG) with its IHDR claiming ``width x height``, CRC fixed."""
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + _png_chunk(b"IHDR", ihdr) + data[33:]


def zeros_png(width: int, height: int, bit_depth: int, colour_type: int, channels: int) -> bytes:
    """A PNG of zeros whose deflate stream really is that big (up to 1032:1 compressed)."""
    raw_bytes = height * (1 + width * channels * bit_depth // 8)
    piece_raw = 1 << 20
    compressor = zlib.compressobj(9)
    head = compressor.compress(bytes(piece_raw)) + compressor.flush(zlib.Z_FULL_FLUSH)
    piece = compressor.compress(bytes(piece_raw)) + compressor.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the same input compresses to the same bytes: repeat them.
    stream = head + piece * (raw_bytes // piece_raw) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", stream)
        + _png_chunk(b"IEND", b"")
    )


def small_rgb(height: int = 16, width: int = 16) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (height, width, 3), dtype=np.uint8)


def patched_png16() -> bytes:
    image = np.zeros((64, 64, 3), np.uint16)
    return patch_png_size(cv2.imencode(".png", image)[1].tobytes(), 8192, 8192)


def patched_png8() -> bytes:
    return patch_png_size(cv2.imencode(".png", small_rgb())[1].tobytes(), 8000, 8000)


def patched_gif() -> bytes:
    data = bytearray(iio.imwrite("<bytes>", small_rgb(4, 4), extension=".gif"))
    data[6:10] = struct.pack("<HH", 8000, 8000)  # the logical screen
    return bytes(data)


def patched_jpeg() -> bytes:
    data = bytearray(cv2.imencode(".jpg", small_rgb(64, 64))[1].tobytes())
    position = 2
    while data[position + 1] not in (0xC0, 0xC1, 0xC2):
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    data[position + 5 : position + 9] = struct.pack(">HH", 8000, 8000)
    return bytes(data)


def patched_bmp() -> bytes:
    data = bytearray(cv2.imencode(".bmp", small_rgb())[1].tobytes())
    data[18:26] = struct.pack("<ii", 8000, 8000)
    return bytes(data)


def patched_ppm() -> bytes:
    return b"P6\n8000 8000\n255\n" + small_rgb().tobytes()


def patched_pgm16() -> bytes:
    return b"P5\n8000 8000\n65535\n" + bytes(1000)


def patched_tiff() -> bytes:
    data = bytearray(cv2.imencode(".tiff", small_rgb())[1].tobytes())
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    for index in range(count):
        start = offset + 2 + 12 * index
        tag, kind = struct.unpack(order + "HH", data[start : start + 4])
        if tag in (256, 257):
            value_format = order + ("H" if kind == 3 else "I")
            struct.pack_into(value_format, data, start + 8, 8000)
    return bytes(data)


PATCHED = {
    "png16_8192": patched_png16,
    "png8_8000": patched_png8,
    "gif_8000": patched_gif,
    "jpeg_8000": patched_jpeg,
    "bmp_8000": patched_bmp,
    "ppm_8000": patched_ppm,
    "pgm16_8000": patched_pgm16,
    "tiff_8000": patched_tiff,
}


def test_patched_files_decode_before_patching() -> None:
    # The files are valid but for the size: the checks, not corruption, stop them.
    png16 = cv2.imencode(".png", np.zeros((64, 64, 3), np.uint16))[1].tobytes()
    assert decode_image(png16).shape[0] == 64
    assert decode_image(iio.imwrite("<bytes>", small_rgb(4, 4), extension=".gif")).shape[0] == 4
    assert decode_image(cv2.imencode(".jpg", small_rgb(64, 64))[1].tobytes()).shape[0] == 64
    assert len(patched_gif()) < 100


@pytest.mark.parametrize("make", PATCHED.values(), ids=list(PATCHED))
def test_small_file_claiming_a_huge_size_is_refused(tmp_path: Path, make: Callable) -> None:
    data = make()
    with fast_and_small(), pytest.raises(FileFormatError, match="implausible"):
        decode_image(data)
    path = tmp_path / "huge.img"
    path.write_bytes(data)
    for reader in (read_image, read_grey, read_label):
        with fast_and_small(), pytest.raises(FileFormatError, match=r"huge\.img.*implausible"):
            reader(path)
    with fast_and_small(), pytest.raises(PairFileError) as error:
        read_array(path.rename(tmp_path / "huge.png"))
    assert isinstance(error.value.__cause__, FileFormatError)


def test_patched_pngs_are_refused_by_the_png_and_kitti_readers() -> None:
    for data in (patched_png8(), patched_png16()):
        with fast_and_small(), pytest.raises(FileFormatError, match="implausible|16-bit"):
            decode_kitti_flow(data)
        with fast_and_small(), pytest.raises(FileFormatError, match="implausible"):
            decode_png(data)


@pytest.fixture(scope="module")
def zeros_png16_8192() -> bytes:
    # A real 391 KB 16-bit PNG of 8192 x 8192 zeros: plausible for its length, too big to decode.
    return zeros_png(8192, 8192, 16, 2, 3)


def test_maximally_compressed_png_is_refused_before_decoding(
    tmp_path: Path, zeros_png16_8192: bytes
) -> None:
    data = zeros_png16_8192
    assert len(data) < 400_000
    path = tmp_path / "zeros.png"
    path.write_bytes(data)
    for decode in (decode_kitti_flow, decode_image, decode_png):
        with fast_and_small(), pytest.raises(FileFormatError, match="to decode"):
            decode(data)
    for reader in (read_kitti_flow, read_image, read_png, read_grey, read_label):
        with fast_and_small(), pytest.raises(FileFormatError, match=r"zeros\.png.*to decode"):
            reader(path)


def test_a_compressed_png_within_the_limits_still_decodes() -> None:
    data = zeros_png(2048, 1024, 16, 2, 3)  # 12 MiB of samples
    flow, valid = decode_kitti_flow(data)
    assert flow.shape == (1024, 2048, 2) and not valid.any()
    assert decode_image(data).shape == (1024, 2048, 3)
    assert 2048 * 1024 * 64 < MAX_DECODED_BYTES


def test_arithmetic_jpeg_and_scan_bombs_are_refused() -> None:
    data = bytearray(cv2.imencode(".jpg", small_rgb(64, 64))[1].tobytes())
    position = data.index(b"\xff\xc0")
    data[position + 1] = 0xC9
    with pytest.raises(FileFormatError, match="arithmetic"):
        decode_image(bytes(data))
    valid = cv2.imencode(".jpg", small_rgb(256, 256))[1].tobytes()
    many_scans = valid[:-2] + b"\xff\xda\x00\x02" * 300 + b"\xff\xd9"
    with pytest.raises(FileFormatError, match="scans"):
        decode_image(many_scans)


def test_npy_claiming_a_huge_shape_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    header = {"descr": "<u2", "fortran_order": False, "shape": (40000, 40000)}
    np.lib.format.write_array_header_1_0(buffer, header)
    data = buffer.getvalue() + bytes(32)
    path = tmp_path / "huge.npy"
    path.write_bytes(data)
    with fast_and_small(), pytest.raises(PairFileError, match="truncated"):
        read_array(path)
    np.save(tmp_path / "ok.npy", np.arange(6, dtype=np.uint16).reshape(2, 3))
    assert read_array(tmp_path / "ok.npy").tolist() == [[0, 1, 2], [3, 4, 5]]
