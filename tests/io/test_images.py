"""Images, grey images and labels: PNG round trips, conversions, hostile files, fuzzing."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import cv2
import imageio.v3
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.io import (
    FileFormatError,
    decode_image,
    decode_png,
    encode_png,
    read_grey,
    read_image,
    read_label,
    read_png,
    write_png,
)

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
RNG_SEED = 3


def rgb(height: int = 3, width: int = 4, dtype: type = np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(RNG_SEED).integers(0, top, (height, width, 3), dtype=dtype)


def ppm(image: np.ndarray) -> bytes:
    height, width = image.shape[:2]
    return f"P6\n# comment\n{width} {height}\n255\n".encode() + image.tobytes()


def png_with_ihdr(width: int, height: int) -> bytes:
    fields = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + fields + crc


@pytest.mark.parametrize(
    "array",
    [
        rgb(),
        rgb(dtype=np.uint16),
        rgb()[..., 0].copy(),
        rgb(dtype=np.uint16)[..., 0].copy(),
        np.dstack([rgb(), rgb()[..., :1]]),
    ],
    ids=["rgb8", "rgb16", "grey8", "grey16", "rgba8"],
)
def test_png_round_trip(tmp_path: Path, array: np.ndarray) -> None:
    for compression in (0, 1, 2, 9):
        data = encode_png(array, compression)
        decoded = decode_png(data)
        assert decoded.dtype == array.dtype and np.array_equal(decoded, array)
        if array.dtype == np.uint8 or array.ndim == 2:  # (pillow has no 16-bit colour)
            # Another decoder (pillow, through imageio) reads every variant alike.
            other = np.asarray(imageio.v3.imread(data, extension=".png"))
            assert np.array_equal(other.reshape(array.shape), array)
    write_png(tmp_path / "p" / "a.png", array)
    assert np.array_equal(read_png(tmp_path / "p" / "a.png"), array)


def test_png_channel_order_is_rgb_on_disk() -> None:
    image = np.zeros((1, 1, 3), np.uint8)
    image[0, 0] = [255, 0, 0]
    bgr = cv2.imdecode(np.frombuffer(encode_png(image), np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr[0, 0].tolist() == [0, 0, 255]


def test_bool_masks_are_stored_as_0_255() -> None:
    mask = np.array([[True, False], [False, True]])
    assert decode_png(encode_png(mask)).tolist() == [[255, 0], [0, 255]]


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 2), np.float32), np.zeros((2, 2, 2), np.uint8), np.zeros((2, 2, 3), np.int32)],
)
def test_encode_png_rejects_unstorable_arrays(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode_png(bad)
    with pytest.raises(ValueError, match="compression"):
        encode_png(rgb(), compression=10)


def test_read_image_converts_grey_16_bit_and_alpha(tmp_path: Path) -> None:
    grey = rgb()[..., 0].copy()
    write_png(tmp_path / "g.png", grey)
    assert np.array_equal(read_image(tmp_path / "g.png"), np.dstack([grey] * 3))
    deep = np.array([[0, 257, 65535, 128, 129]], np.uint16)
    write_png(tmp_path / "d.png", deep)
    assert read_image(tmp_path / "d.png")[..., 0].tolist() == [[0, 1, 255, 0, 1]]
    rgba = np.dstack([rgb(), np.zeros((3, 4, 1), np.uint8)])
    write_png(tmp_path / "a.png", rgba)
    assert np.array_equal(read_image(tmp_path / "a.png"), rgba[..., :3])


def test_ppm_and_jpeg_decode_to_rgb() -> None:
    image = rgb()
    assert np.array_equal(decode_image(ppm(image)), image)
    flat = np.full((16, 16, 3), (200, 40, 10), np.uint8)
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(flat, cv2.COLOR_RGB2BGR))
    decoded = decode_image(buffer.tobytes())
    assert decoded.shape == flat.shape and np.abs(decoded.astype(int) - flat).max() <= 4


def test_read_grey_keeps_depth_and_converts_colour(tmp_path: Path) -> None:
    deep = rgb(dtype=np.uint16)[..., 0].copy()
    write_png(tmp_path / "d.png", deep)
    assert read_grey(tmp_path / "d.png").dtype == np.uint16
    assert np.array_equal(read_grey(tmp_path / "d.png"), deep)
    write_png(tmp_path / "c.png", rgb())
    grey = read_grey(tmp_path / "c.png")
    assert grey.shape == (3, 4) and grey.dtype == np.uint8


def test_read_label_keeps_values_and_refuses_colour(tmp_path: Path) -> None:
    labels = np.array([[0, 1, 2], [300, 7, 0]], np.uint16)
    write_png(tmp_path / "l.png", labels)
    assert np.array_equal(read_label(tmp_path / "l.png"), labels)
    as_rgb = np.dstack([labels.astype(np.uint8)] * 3)
    write_png(tmp_path / "same.png", as_rgb)
    assert np.array_equal(read_label(tmp_path / "same.png"), labels.astype(np.uint8))
    write_png(tmp_path / "colour.png", rgb())
    with pytest.raises(FileFormatError, match=r"colour\.png.*label"):
        read_label(tmp_path / "colour.png")


def test_every_truncation_raises(tmp_path: Path) -> None:
    png = encode_png(rgb(2, 3))
    for data, decode in ((png, decode_png), (png, decode_image), (ppm(rgb(2, 3)), decode_image)):
        for length in range(len(data)):
            with pytest.raises(FileFormatError):
                decode(data[:length])
    path = tmp_path / "t.png"
    for length in range(len(png)):
        path.write_bytes(png[:length])
        for read in (read_image, read_grey, read_label, read_png):
            with pytest.raises(FileFormatError, match=r"t\.png"):
                read(path)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "unknown image format"),
        (b"hello world", "unknown image format"),
        (b"P6\n30000 30000\n255\n" + bytes(64), "limit"),
        (b"P6\n# only a comment", "PNM header"),
        (b"BM" + bytes(16) + struct.pack("<ii", 4, -(2**31)), "limit"),
        (b"GIF89a" + struct.pack("<HH", 0, 5) + bytes(20), "positive"),
        (b"\xff\xd8\xff\xd9", "JPEG"),
        (b"II*\x00" + struct.pack("<I", 999), "TIFF"),
        (png_with_ihdr(30000, 30000) + bytes(64), "limit"),
        (png_with_ihdr(3, 3) + bytes(64), "truncated"),
    ],
)
def test_hostile_or_unknown_files_raise(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        decode_image(data)
    path = tmp_path / "bad.img"
    path.write_bytes(data)
    with pytest.raises(FileFormatError, match=r"bad\.img"):
        read_image(path)


def test_huge_png_claim_raises_without_allocating() -> None:
    # 8000 x 8000 passes the size limits; the missing IEND stops it before OpenCV allocates.
    data = png_with_ihdr(8000, 8000) + bytes(64)
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError):
            decode_image(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def check_decodes_or_raises(data: bytes) -> None:
    try:
        image = decode_image(data)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    except FileFormatError:
        pass
    try:
        array = decode_png(data)
        assert array.dtype in (np.uint8, np.uint16) and array.ndim in (2, 3)
    except FileFormatError:
        pass


VALID_FILES = [
    encode_png(rgb(2, 2), 0),
    encode_png(rgb(2, 2, np.uint16)[..., 0], 0),
    ppm(rgb(2, 2)),
    cv2.imencode(".jpg", rgb(8, 8))[1].tobytes(),
    cv2.imencode(".bmp", rgb(2, 2))[1].tobytes(),
    cv2.imencode(".tiff", rgb(2, 2))[1].tobytes(),
]


@FUZZ
@given(st.binary(max_size=80))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    check_decodes_or_raises(data)


@FUZZ
@given(st.sampled_from(VALID_FILES), st.data())
def test_fuzz_mutated_valid_files(valid: bytes, data: st.DataObject) -> None:
    mutated = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    check_decodes_or_raises(bytes(mutated[: data.draw(st.integers(0, len(mutated)))]))


def test_middlebury_frames(data_subdir) -> None:
    root = data_subdir("middlebury")
    for colour in sorted((root / "other-data").glob("*/frame1[01].png")):
        image = read_image(colour)
        grey = read_grey(root / "other-data-gray" / colour.parent.name / colour.name)
        assert image.dtype == np.uint8 and image.shape == (*grey.shape, 3), colour


def test_flyingchairs_frames(data_subdir) -> None:
    paths = sorted(data_subdir("flyingchairs", "data").glob("*_img[12].ppm"))
    assert paths
    for path in paths:
        image = read_image(path)
        assert image.shape == (384, 512, 3) and image.std() > 10, path


def test_segmentation_labels(data_subdir) -> None:
    label = read_label(data_subdir("isbi2012_em", "train", "label") / "0.png")
    assert label.shape == (512, 512) and set(np.unique(label)) == {0, 255}
    vessels = read_label(data_subdir("retina_drive", "training", "1st_manual") / "21_manual1.gif")
    assert vessels.shape == (584, 565) and set(np.unique(vessels)) == {0, 255}
