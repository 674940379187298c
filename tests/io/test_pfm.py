"""PFM: round trips, byte layout, OpenCV interop, hostile files, fuzzing."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.io import FileFormatError, decode_pfm, encode_pfm, read_pfm, write_pfm

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def small_image(*shape: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 3), (1, 1), (1, 5, 3)])
def test_round_trip_bytes_and_file(tmp_path: Path, shape: tuple[int, ...]) -> None:
    image = small_image(*shape)
    image.flat[0] = np.nan
    image.flat[-1] = -np.inf
    decoded = decode_pfm(encode_pfm(image))
    assert decoded.dtype == np.float32 and decoded.shape == shape and decoded.flags.writeable
    assert np.array_equal(decoded.view(np.uint32), image.view(np.uint32))
    write_pfm(tmp_path / "d" / "x.pfm", image)
    assert np.array_equal(read_pfm(tmp_path / "d" / "x.pfm"), image, equal_nan=True)


def test_single_channel_trailing_axis_and_float64_are_accepted() -> None:
    image = small_image(2, 3, 1).astype(np.float64)
    decoded = decode_pfm(encode_pfm(image))
    assert decoded.shape == (2, 3) and decoded.dtype == np.float32
    assert np.array_equal(decoded, image[..., 0].astype(np.float32))


@pytest.mark.parametrize("bad", [np.zeros((2, 2), np.uint8), np.zeros((2, 2, 2), np.float32)])
def test_encode_rejects_unstorable_arrays(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode_pfm(bad)


def test_rows_are_stored_bottom_to_top_little_endian() -> None:
    image = np.array([[1, 2], [3, 4]], np.float32)
    data = encode_pfm(image)
    assert data.startswith(b"Pf\n2 2\n-1.0\n")
    assert np.frombuffer(data[-16:], "<f4").tolist() == [3, 4, 1, 2]


def test_big_endian_and_loose_whitespace_headers_decode() -> None:
    image = np.array([[1.5, -2], [3, 4]], np.float32)
    body = image[::-1].astype(">f4").tobytes()
    assert np.array_equal(decode_pfm(b"Pf 2 2 1.0\n" + body), image)
    assert np.array_equal(decode_pfm(b"Pf\n2\n2\n\n+2.5e0 " + body), image)


def test_opencv_interop() -> None:
    # OpenCV's colour order is BGR, so a PF file it writes holds the channels reversed.
    image = small_image(3, 2, 3)
    decoded = cv2.imdecode(np.frombuffer(encode_pfm(image), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded is not None and np.array_equal(decoded, image[..., ::-1])
    ok, buffer = cv2.imencode(".pfm", image)
    assert ok and np.array_equal(decode_pfm(buffer.tobytes()), image[..., ::-1])
    grey = small_image(3, 2)
    ok, buffer = cv2.imencode(".pfm", grey)
    assert ok and np.array_equal(decode_pfm(buffer.tobytes()), grey)


def test_every_truncation_raises(tmp_path: Path) -> None:
    data = encode_pfm(small_image(2, 2, 3))
    path = tmp_path / "t.pfm"
    for length in range(len(data)):
        with pytest.raises(FileFormatError):
            decode_pfm(data[:length])
        path.write_bytes(data[:length])
        with pytest.raises(FileFormatError, match=r"t\.pfm"):
            read_pfm(path)


@pytest.mark.parametrize(
    "head, message",
    [
        (b"P6\n2 2\n255\n", "magic"),
        (b"PF\n2 2\n0\n", "scale"),
        (b"PF\n2 2\n1e999\n", "scale"),
        (b"PF\n0 2\n-1\n", "positive"),
        (b"PF\n99999 99999\n-1\n", "limit"),
        (b"PF\n2 x\n-1\n", "malformed"),
        (b"PF\n2 2\n-1", "malformed"),
        (b"PF" + b" " * 300 + b"2 2\n-1\n", "malformed"),
    ],
)
def test_bad_headers_raise(head: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        decode_pfm(head + bytes(48))


def test_trailing_bytes_raise() -> None:
    with pytest.raises(FileFormatError, match="trailing"):
        decode_pfm(encode_pfm(small_image(2, 2)) + b"\n")


def test_huge_claim_in_tiny_file_raises_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.pfm"
    path.write_bytes(b"PF\n8000 8000\n-1\n" + bytes(64))
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match="truncated"):
            read_pfm(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def check_decodes_or_raises(data: bytes, path: Path) -> None:
    path.write_bytes(data)
    for decode in (decode_pfm, lambda _: read_pfm(path)):
        try:
            image = decode(data)
        except FileFormatError:
            continue
        assert image.dtype == np.float32 and (image.ndim == 2 or image.shape[2:] == (3,))


@FUZZ
@given(st.binary(max_size=80))
def test_fuzz_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    check_decodes_or_raises(data, tmp_path / "f.pfm")


@FUZZ
@given(
    st.sampled_from([b"PF", b"Pf"]),
    st.text("0123456789 \n\t-+.eE", max_size=20),
    st.binary(max_size=60),
)
def test_fuzz_plausible_headers(tmp_path: Path, magic: bytes, head: str, body: bytes) -> None:
    check_decodes_or_raises(magic + head.encode() + body, tmp_path / "f.pfm")


@FUZZ
@given(st.data())
def test_fuzz_mutated_valid_file(tmp_path: Path, data: st.DataObject) -> None:
    mutated = bytearray(encode_pfm(small_image(2, 2, 3)))
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    check_decodes_or_raises(bytes(mutated[:cut]), tmp_path / "f.pfm")
