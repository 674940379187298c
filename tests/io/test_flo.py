"""Middlebury .flo: round trips, OpenCV interop, hostile files, fuzzing, real data."""

from __future__ import annotations

import pickle
import struct
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.io import FileFormatError, decode_flo, encode_flo, flo_valid, read_flo, write_flo
from flowsynth.io.limits import MAX_PIXELS

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def small_flow(height: int = 3, width: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(scale=5, size=(height, width, 2)).astype(np.float32)


def header(width: int, height: int, tag: float = 202021.25) -> bytes:
    return struct.pack("<fii", tag, width, height)


def bits(array: np.ndarray) -> np.ndarray:
    return array.view(np.uint32)


def test_encode_layout_is_tag_width_height_then_uv_rows() -> None:
    flow = small_flow(2, 3)
    data = encode_flo(flow)
    assert data[:4] == b"PIEH"
    assert struct.unpack("<ii", data[4:12]) == (3, 2)
    assert len(data) == 12 + 8 * 6
    assert np.array_equal(np.frombuffer(data, "<f4", offset=12).reshape(2, 3, 2), flow)


def test_round_trip_bytes_is_bit_exact_including_nan_inf_and_unknown() -> None:
    flow = small_flow()
    flow[0, 0] = [np.nan, np.inf]
    flow[1, 2] = [-np.inf, 1e10]
    decoded = decode_flo(encode_flo(flow))
    assert decoded.dtype == np.float32 and decoded.shape == flow.shape
    assert np.array_equal(bits(decoded), bits(flow))
    assert decoded.flags.writeable


def test_round_trip_file(tmp_path: Path) -> None:
    flow = small_flow(5, 1)
    write_flo(tmp_path / "sub" / "a.flo", flow)
    assert np.array_equal(read_flo(tmp_path / "sub" / "a.flo"), flow)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.flo"]


def test_flo_valid_marks_unknown_and_non_finite() -> None:
    flow = np.zeros((1, 4, 2), np.float32)
    flow[0, 1, 0] = 2e9
    flow[0, 2, 1] = np.nan
    flow[0, 3, 0] = -np.inf
    assert flo_valid(flow).tolist() == [[True, False, False, False]]


def test_opencv_reads_what_we_write(tmp_path: Path) -> None:
    flow = small_flow()
    write_flo(tmp_path / "a.flo", flow)
    assert np.array_equal(cv2.readOpticalFlow(str(tmp_path / "a.flo")), flow)


def test_we_read_what_opencv_writes(tmp_path: Path) -> None:
    flow = small_flow(4, 7)
    assert cv2.writeOpticalFlow(str(tmp_path / "b.flo"), flow)
    assert np.array_equal(read_flo(tmp_path / "b.flo"), flow)


def test_encode_rejects_wrong_dtype_or_shape() -> None:
    with pytest.raises(ValueError):
        encode_flo(np.zeros((2, 2, 2), np.float64))
    with pytest.raises(ValueError):
        encode_flo(np.zeros((2, 2, 3), np.float32))


def test_every_truncation_raises(tmp_path: Path) -> None:
    data = encode_flo(small_flow(2, 3))
    path = tmp_path / "t.flo"
    for length in range(len(data)):
        with pytest.raises(FileFormatError):
            decode_flo(data[:length])
        path.write_bytes(data[:length])
        with pytest.raises(FileFormatError, match="t.flo"):
            read_flo(path)


def test_trailing_bytes_raise() -> None:
    with pytest.raises(FileFormatError, match="trailing"):
        decode_flo(encode_flo(small_flow()) + b"\0")


@pytest.mark.parametrize("tag", [0.0, 202021.0, float("nan")])
def test_wrong_tag_raises_naming_the_file(tmp_path: Path, tag: float) -> None:
    path = tmp_path / "bad.flo"
    path.write_bytes(header(1, 1, tag) + bytes(8))
    with pytest.raises(FileFormatError, match=r"bad\.flo.*tag"):
        read_flo(path)


@pytest.mark.parametrize(
    "width, height", [(0, 1), (1, 0), (-1, 5), (1 << 16, 1), (1 << 15, 1 << 15)]
)
def test_implausible_sizes_raise(width: int, height: int) -> None:
    with pytest.raises(FileFormatError, match="decode"):
        decode_flo(header(width, height) + bytes(8), name="decode")


def test_huge_claim_in_tiny_file_raises_without_allocating(tmp_path: Path) -> None:
    side = int(MAX_PIXELS**0.5)  # passes the size limits, so only the length check stops it
    path = tmp_path / "huge.flo"
    path.write_bytes(header(side, side) + bytes(64))
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match="truncated"):
            read_flo(path)
        with pytest.raises(FileFormatError, match="truncated"):
            decode_flo(path.read_bytes())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_error_pickles_and_names_source() -> None:
    error = FileFormatError("x/y.flo", "bad tag")
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == "x/y.flo: bad tag" and isinstance(clone, ValueError)


def check_decodes_or_raises(data: bytes, path: Path) -> None:
    path.write_bytes(data)
    for decode in (decode_flo, lambda _: read_flo(path)):
        try:
            flow = decode(data)
        except FileFormatError:
            continue
        assert flow.dtype == np.float32 and flow.ndim == 3 and flow.shape[2] == 2
        assert len(data) == 12 + 8 * flow.shape[0] * flow.shape[1]


@FUZZ
@given(st.binary(max_size=80))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    check_decodes_or_raises(data, tmp_path / "f.flo")


@FUZZ
@given(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1), st.binary(max_size=80))
def test_fuzz_valid_tag_random_header(tmp_path: Path, width: int, height: int, body: bytes) -> None:
    check_decodes_or_raises(header(width, height) + body, tmp_path / "f.flo")


@FUZZ
@given(st.data())
def test_fuzz_mutated_valid_file(tmp_path: Path, data: st.DataObject) -> None:
    mutated = bytearray(encode_flo(small_flow(2, 2)))
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    check_decodes_or_raises(bytes(mutated[:cut]), tmp_path / "f.flo")


def test_middlebury_ground_truth(data_subdir) -> None:
    from flowsynth.io import read_image

    root = data_subdir("middlebury")
    paths = sorted((root / "other-gt-flow").glob("*/flow10.flo"))
    assert len(paths) == 8
    for path in paths:
        flow = read_flo(path)
        frame = read_image(root / "other-data" / path.parent.name / "frame10.png")
        assert flow.shape == (*frame.shape[:2], 2), path
        assert np.array_equal(flow, cv2.readOpticalFlow(str(path)), equal_nan=True)
        assert flo_valid(flow).mean() > 0.5, path


def test_flyingchairs_flow(data_subdir) -> None:
    folder = data_subdir("flyingchairs", "data")
    paths = sorted(folder.glob("*_flow.flo"))
    assert paths
    for path in paths:
        flow = read_flo(path)
        assert flow.shape == (384, 512, 2) and np.isfinite(flow).all(), path
