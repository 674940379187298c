"""flowsynth's PNG writer (ISA-L deflate in the PNG container): any reader decodes it exactly."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from flowsynth.io import png
from flowsynth.io.images import decode_png


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """``[(type, payload)]`` of a PNG, checking every CRC."""
    assert data[:8] == png.SIGNATURE
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        chunks.append((kind, payload))
        position += 12 + length
    return chunks


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
@pytest.mark.parametrize("level", list(png.LEVELS))
def test_every_layout_decodes_exactly(dtype: type, channels: int | None, level: int) -> None:
    rng = np.random.default_rng(channels or 0)
    shape = (13, 17) if channels is None else (13, 17, channels)
    top = np.iinfo(dtype).max
    array = rng.integers(0, top, shape, endpoint=True, dtype=dtype)
    array[3:6] = array[2]  # repeated rows and flat runs, as in masks
    array[:, 5:9] = top
    data = png.encode(array, level)
    kinds = [kind for kind, _ in _chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and set(kinds[1:-1]) == {b"IDAT"}
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if channels in (3, 4):  # OpenCV decodes to BGR(A)
        decoded = decoded[..., [2, 1, 0, 3][:channels]]
    if channels == 2:  # OpenCV expands grey + alpha to BGRA: check grey and alpha
        decoded = decoded[..., [0, 3]]
    assert decoded.dtype == dtype
    np.testing.assert_array_equal(decoded.reshape(array.shape), array)


def test_a_stream_split_over_several_idat_chunks_decodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(png, "_MAX_CHUNK", 100)
    image = np.random.default_rng(1).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    data = png.encode(image)
    assert sum(kind == b"IDAT" for kind, _ in _chunks(data)) > 3
    np.testing.assert_array_equal(decode_png(data), image)


def test_filters_are_the_pngs_sub_and_up() -> None:
    colour = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 7
    rows = png.filtered_rows(colour)
    assert rows[:, 0].tolist() == [1, 1]  # sub
    np.testing.assert_array_equal(rows[0, 4:], (colour[0, 1:] - colour[0, :-1]).ravel())
    grey = np.array([[1, 2], [5, 1]], dtype=np.uint16)
    rows = png.filtered_rows(grey)
    assert rows[:, 0].tolist() == [2, 2]  # up, on big-endian bytes
    assert rows[0, 1:].tolist() == [0, 1, 0, 2]
    assert rows[1, 1:].tolist() == [0, 4, 0, 255]


def test_the_same_array_gives_the_same_bytes() -> None:
    image = np.random.default_rng(2).integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert png.encode(image) == png.encode(image.copy())


@pytest.mark.parametrize(
    ("array", "level", "message"),
    [
        (np.zeros((2, 2), np.uint8), 4, "level"),
        (np.zeros((2, 2), np.float32), 1, "uint8 or uint16"),
        (np.zeros((2, 2, 5), np.uint8), 1, "arrays"),
        (np.zeros((0, 2), np.uint8), 1, "non-empty"),
        (np.zeros(4, np.uint8), 1, "arrays"),
    ],
)
def test_bad_input_is_refused(array: np.ndarray, level: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        png.encode(array, level)
