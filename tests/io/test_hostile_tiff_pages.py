"""Multi-page TIFF volumes: the header check covers every page (count, plausibility, decoded
size), so a small volume whose later pages claim a huge size is refused before decoding."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from flowsynth.deform.pairs import PairFileError, read_array
from flowsynth.io import FileFormatError, read_grey, read_image
from flowsynth.io import headers as headers_module
from flowsynth.io.headers import image_info
from flowsynth.io.limits import MAX_DECODED_BYTES
from tests.io.test_hostile_files import fast_and_small

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM is POSIX")

_SHORT, _LONG = 3, 4


def tiff_volume(pages: list[np.ndarray], *, deflate: bool) -> tuple[bytes, list[int]]:
    """A little-endian TIFF of grey ``uint8`` pages, one strip each (deflate or raw), and the
    offset of each page's directory."""
    data = bytearray(b"II*\x00" + bytes(4))
    offsets = []
    link = 4  # where the offset of the next directory goes
    for page in pages:
        height, width = page.shape
        strip = zlib.compress(page.tobytes()) if deflate else page.tobytes()
        strip_at = len(data)
        data += strip + bytes(len(strip) % 2)
        entries = [
            (256, _LONG, width),
            (257, _LONG, height),
            (258, _SHORT, 8),
            (259, _SHORT, 8 if deflate else 1),
            (262, _SHORT, 1),
            (273, _LONG, strip_at),
            (277, _SHORT, 1),
            (278, _LONG, height),
            (279, _LONG, len(strip)),
        ]
        offsets.append(len(data))
        struct.pack_into("<I", data, link, len(data))
        data += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            packed = struct.pack("<Hxx" if kind == _SHORT else "<I", value)
            data += struct.pack("<HHI", tag, kind, 1) + packed
        link = len(data)
        data += bytes(4)  # the next directory: none yet
    return bytes(data), offsets


def patch_page_size(data: bytes, directory: int, width: int, height: int) -> bytes:
    """``data`` with the page whose directory is at ``directory`` claiming ``width x height``."""
    patched = bytearray(data)
    (count,) = struct.unpack_from("<H", patched, directory)
    for index in range(count):
        start = directory + 2 + 12 * index
        (tag,) = struct.unpack_from("<H", patched, start)
        if tag in (256, 257):
            struct.pack_into("<I", patched, start + 8, width if tag == 256 else height)
    return bytes(patched)


def _pages(count: int, side: int) -> list[np.ndarray]:
    rng = np.random.default_rng(9)  # noise: deflate cannot shrink it
    return [rng.integers(0, 256, (side, side), dtype=np.uint8) for _ in range(count)]


def test_a_hand_made_volume_reads(tmp_path: Path) -> None:
    pages = _pages(3, 16)
    for deflate in (False, True):
        data, _ = tiff_volume(pages, deflate=deflate)
        info = image_info(data)
        assert (info.kind, info.width, info.height, info.pages) == ("tiff", 16, 16, 3)
        path = tmp_path / f"v{int(deflate)}.tif"
        path.write_bytes(data)
        np.testing.assert_array_equal(read_array(path), np.stack(pages))
        np.testing.assert_array_equal(read_grey(path), pages[0])


def test_later_pages_claiming_more_than_the_budget_are_refused(tmp_path: Path) -> None:
    data, directories = tiff_volume(_pages(3, 128), deflate=True)
    assert len(data) < 60_000
    huge = patch_page_size(data, directories[1], 6000, 6000)
    huge = patch_page_size(huge, directories[2], 6000, 6000)
    # Each page alone is within the limits: only their sum is over the budget.
    assert 6000 * 6000 * 8 < MAX_DECODED_BYTES < 2 * 6000 * 6000 * 8
    pattern = r"3 pages need about \d+ bytes to decode"
    with fast_and_small(), pytest.raises(FileFormatError, match=pattern):
        image_info(huge)
    path = tmp_path / "volume.tif"
    path.write_bytes(huge)
    with fast_and_small(), pytest.raises(PairFileError, match="to decode") as error:
        read_array(path)
    assert isinstance(error.value.__cause__, FileFormatError)
    for reader in (read_image, read_grey):
        with fast_and_small(), pytest.raises(FileFormatError, match=r"volume\.tif.*to decode"):
            reader(path)


def test_later_pages_within_the_budget_pass_the_check() -> None:
    data, directories = tiff_volume(_pages(3, 128), deflate=True)
    for directory in directories[1:]:
        data = patch_page_size(data, directory, 4096, 4096)
    info = image_info(data)  # 2 x 16.8 Mpx x 8 bytes: within the budget; not decoded here
    assert (info.width, info.height, info.pages) == (128, 128, 3)


def test_an_uncompressed_later_page_too_big_for_the_file_is_implausible() -> None:
    data, directories = tiff_volume(_pages(2, 16), deflate=False)
    with fast_and_small(), pytest.raises(FileFormatError, match="2 pages claim .* implausible"):
        image_info(patch_page_size(data, directories[1], 8000, 8000))
    with pytest.raises(FileFormatError, match="limit of 32768 pixels a side"):
        image_info(patch_page_size(data, directories[1], 40000, 1))


def test_directory_chains_that_loop_or_run_long_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, directories = tiff_volume(_pages(3, 8), deflate=False)
    looped = bytearray(data)
    struct.pack_into("<I", looped, len(looped) - 4, directories[1])  # the last page links back
    with fast_and_small(), pytest.raises(FileFormatError, match="loops back to byte"):
        image_info(bytes(looped))
    cut = bytearray(data)
    struct.pack_into("<I", cut, len(cut) - 4, len(cut) + 100)  # a page past the end
    with pytest.raises(FileFormatError, match="TIFF header truncated"):
        image_info(bytes(cut))
    monkeypatch.setattr(headers_module, "MAX_TIFF_PAGES", 2)
    with pytest.raises(FileFormatError, match="more than 2 pages"):
        image_info(data)


def test_the_page_walk_is_fast_at_the_page_limit() -> None:
    limit = headers_module.MAX_TIFF_PAGES
    data, _ = tiff_volume(_pages(1, 1) * (limit + 1), deflate=False)
    with fast_and_small(), pytest.raises(FileFormatError, match=f"more than {limit} pages"):
        image_info(data)
