"""KITTI 16-bit flow PNGs: round trips, channel layout, hostile files, fuzzing, real data."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.io import (
    FileFormatError,
    decode_kitti_flow,
    encode_kitti_flow,
    read_kitti_flow,
    write_kitti_flow,
)
from flowsynth.io.kitti import FLOW_MAX, FLOW_MIN

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def small_flow_and_valid(height: int = 3, width: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    steps = rng.integers(-20000, 20000, size=(height, width, 2))
    valid = rng.random((height, width)) < 0.7
    return (steps / 64).astype(np.float32), valid


def png_with_ihdr(width: int, height: int, bit_depth: int = 16, colour_type: int = 2) -> bytes:
    fields = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + fields + crc


def test_round_trip_is_exact_on_the_1_64_grid(tmp_path: Path) -> None:
    flow, valid = small_flow_and_valid()
    write_kitti_flow(tmp_path / "k" / "f.png", flow, valid)
    decoded, decoded_valid = read_kitti_flow(tmp_path / "k" / "f.png")
    assert decoded.dtype == np.float32 and decoded.shape == flow.shape
    assert decoded_valid.dtype == np.bool_ and np.array_equal(decoded_valid, valid)
    assert np.array_equal(decoded[valid], flow[valid])
    assert not decoded[~valid].any()


def test_rounding_clipping_and_non_finite_invalid_pixels() -> None:
    flow = np.array([[[0.01, -0.01], [1000, -1000], [np.nan, np.inf]]], np.float32)
    valid = np.array([[True, True, False]])
    decoded, decoded_valid = decode_kitti_flow(encode_kitti_flow(flow, valid))
    assert decoded[0, 0].tolist() == [0.015625 * round(0.01 * 64), -0.015625 * round(0.01 * 64)]
    assert decoded[0, 1].tolist() == [FLOW_MAX, FLOW_MIN]
    assert decoded[0, 2].tolist() == [0, 0] and decoded_valid.tolist() == [[True, True, False]]


def test_channel_layout_matches_the_kitti_devkit() -> None:
    flow = np.array([[[1.0, -2.0]]], np.float32)
    data = encode_kitti_flow(flow, np.array([[True]]))
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr is not None and bgr.dtype == np.uint16 and bgr.shape == (1, 1, 3)
    assert bgr[0, 0].tolist() == [1, 2**15 - 128, 2**15 + 64]  # B valid, G v, R u


def test_encode_rejects_bad_inputs() -> None:
    flow, valid = small_flow_and_valid()
    with pytest.raises(ValueError, match="valid"):
        encode_kitti_flow(flow, valid.astype(np.uint8))
    with pytest.raises(ValueError, match="valid"):
        encode_kitti_flow(flow, valid[:, :2])
    flow[valid.nonzero()[0][0], valid.nonzero()[1][0]] = np.nan
    with pytest.raises(ValueError, match="finite"):
        encode_kitti_flow(flow, valid)
    with pytest.raises(ValueError, match="compression"):
        encode_kitti_flow(np.zeros((1, 1, 2), np.float32), np.ones((1, 1), bool), 10)


def test_every_truncation_raises(tmp_path: Path) -> None:
    data = encode_kitti_flow(*small_flow_and_valid(2, 3))
    path = tmp_path / "t.png"
    for length in range(len(data)):
        with pytest.raises(FileFormatError):
            decode_kitti_flow(data[:length])
        path.write_bytes(data[:length])
        with pytest.raises(FileFormatError, match=r"t\.png"):
            read_kitti_flow(path)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"GIF89a" + bytes(40), "signature"),
        (png_with_ihdr(4, 4, bit_depth=8), "16-bit RGB"),
        (png_with_ihdr(4, 4, colour_type=0), "16-bit RGB"),
        (png_with_ihdr(4, 4, colour_type=6), "16-bit RGB"),
        (png_with_ihdr(1 << 20, 4), "limit"),
        (png_with_ihdr(30000, 30000), "limit"),
        (png_with_ihdr(0, 4), "positive"),
        (png_with_ihdr(4000, 4000) + bytes(100), "truncated"),
    ],
)
def test_wrong_or_hostile_headers_raise(data: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        decode_kitti_flow(data, name="x.png")


def test_a_grey_or_8_bit_png_is_refused() -> None:
    ok, buffer = cv2.imencode(".png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(FileFormatError, match="16-bit"):
        decode_kitti_flow(buffer.tobytes())


def check_decodes_or_raises(data: bytes, path: Path) -> None:
    path.write_bytes(data)
    for decode in (decode_kitti_flow, lambda _: read_kitti_flow(path)):
        try:
            flow, valid = decode(data)
        except FileFormatError:
            continue
        assert flow.dtype == np.float32 and flow.ndim == 3 and flow.shape[2] == 2
        assert valid.dtype == np.bool_ and valid.shape == flow.shape[:2]


@FUZZ
@given(st.binary(max_size=80))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    check_decodes_or_raises(data, tmp_path / "f.png")


@FUZZ
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.binary(max_size=60))
def test_fuzz_random_ihdr(tmp_path: Path, width: int, height: int, body: bytes) -> None:
    check_decodes_or_raises(png_with_ihdr(width, height) + body, tmp_path / "f.png")


@FUZZ
@given(st.data())
def test_fuzz_mutated_valid_file(tmp_path: Path, data: st.DataObject) -> None:
    mutated = bytearray(encode_kitti_flow(*small_flow_and_valid(2, 2), compression=0))
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    check_decodes_or_raises(bytes(mutated[:cut]), tmp_path / "f.png")


def test_kitti2012_flow_noc(data_subdir) -> None:
    from flowsynth.io import read_grey

    training = data_subdir("kitti2012", "training")
    paths = sorted((training / "flow_noc").glob("*_10.png"))
    assert len(paths) == 2
    for path in paths:
        flow, valid = read_kitti_flow(path)
        frame = read_grey(training / "image_0" / path.name)
        assert valid.shape == frame.shape and flow.shape == (*frame.shape, 2)
        assert valid.mean() > 0.1, path  # sparse, but a large share of pixels
        assert np.isfinite(flow).all() and np.abs(flow[valid]).max() < FLOW_MAX
        assert np.abs(flow[valid]).max() > 10  # real motion, not a decoding of zeros
