"""Drop-behind: written files are released at once and again one step later, and leave the cache."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import sys
from pathlib import Path

import pytest

from flowsynth.io import pagecache
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.layout import FLOW_FILES, write_encoded
from flowsynth.io.pagecache import DropBehind
from flowsynth.io.shards import ShardWriter

needs_fadvise = pytest.mark.skipif(not pagecache.SUPPORTED, reason="no posix_fadvise here")


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def advice(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Every POSIX_FADV_DONTNEED call, as (inode, size of the file at that moment)."""
    calls: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def recording(fd: int, offset: int, length: int, advice: int) -> None:
        assert (offset, length, advice) == (0, 0, os.POSIX_FADV_DONTNEED)
        status = os.fstat(fd)
        calls.append((status.st_ino, status.st_size))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", recording)
    return calls


@needs_fadvise
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_each_file_is_released_when_written_and_again_one_step_later(
    tmp_path: Path, advice: list[tuple[int, int]]
) -> None:
    before = open_descriptors()
    inode = {}
    with DropBehind() as behind:
        for step in range(3):
            for name in ("a", "b"):
                path = tmp_path / f"{step}{name}"
                atomic_write_bytes(path, bytes(5000 + step), drop_behind=behind)
                inode[path.name] = path.stat().st_ino
            # Written: released once each; the files of two steps ago were released again.
            released = [ino for ino, _ in advice]
            assert released.count(inode[f"{step}a"]) == released.count(inode[f"{step}b"]) == 1
            if step >= 2:
                assert released.count(inode[f"{step - 2}a"]) == 2
            behind.step()
            assert len(open_descriptors() - before) == 2  # the last step's files, held
    assert open_descriptors() == before  # leaving the context closes every duplicate
    released = [ino for ino, _ in advice]
    assert all(released.count(ino) == 2 for ino in inode.values())
    # The advice came after the data was in the file, never on an empty file.
    assert all(size > 0 for _, size in advice)


@needs_fadvise
def test_write_encoded_and_shards_hand_their_files_over(
    tmp_path: Path, advice: list[tuple[int, int]]
) -> None:
    encoded = {suffix: bytes([n]) * (1000 + n) for n, suffix in enumerate(FLOW_FILES)}
    with DropBehind() as behind:
        write_encoded(tmp_path, 7, encoded, behind)
        assert len(advice) == len(FLOW_FILES)
    assert len(advice) == 2 * len(FLOW_FILES)
    advice.clear()
    with ShardWriter(tmp_path / "shard-000000.tar") as shard:
        shard.add_sample(0, encoded)
        shard.add_sample(1, encoded)
    # One release per sample, of the growing shard (its earlier samples are dropped then).
    sizes = [size for _, size in advice]
    assert len(sizes) == 2 and 0 < sizes[0] < sizes[1]


def resident_pages(path: Path) -> int:
    """How many of ``path``'s pages are in the page cache (mincore; maps without reading)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    pages = -(-size // mmap.PAGESIZE)
    with open(path, "rb") as file:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, file.fileno(), 0)
        assert address not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
    try:
        vector = ctypes.create_string_buffer(pages)
        assert libc.mincore(address, size, vector) == 0, ctypes.get_errno()
        return sum(byte & 1 for byte in vector.raw)
    finally:
        libc.munmap(address, size)


@needs_fadvise
@pytest.mark.skipif(sys.platform != "linux", reason="mincore residency is checked on Linux")
def test_dropped_files_leave_the_page_cache(tmp_path: Path) -> None:
    data = os.urandom(64 * mmap.PAGESIZE)
    kept, dropped = tmp_path / "kept.bin", tmp_path / "dropped.bin"
    atomic_write_bytes(kept, data)
    if resident_pages(kept) == 0:
        pytest.skip("this file system does not keep written pages cached")
    with DropBehind() as behind:
        atomic_write_bytes(dropped, data, drop_behind=behind)
        with open(dropped, "rb") as file:
            os.fsync(file.fileno())  # written back now, so the next release can drop it
        behind.step()
        behind.step()
        assert resident_pages(dropped) == 0
    assert resident_pages(kept) == 64  # nothing else was dropped
    assert dropped.read_bytes() == data == kept.read_bytes()  # and nothing changed


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_without_fadvise_nothing_is_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagecache, "SUPPORTED", False)
    before = open_descriptors()
    with DropBehind() as behind:
        atomic_write_bytes(tmp_path / "a", b"abc", drop_behind=behind)
        assert open_descriptors() == before
        behind.step()
    assert (tmp_path / "a").read_bytes() == b"abc"


@needs_fadvise
@pytest.mark.parametrize("layout", ["files", "shards"])
def test_generation_drops_what_it_writes(
    tmp_path: Path, advice: list[tuple[int, int]], layout: str
) -> None:
    from flowsynth.dataset.write import generate_dataset
    from flowsynth.recipe.load import load_recipe
    from tests.render.helpers import SMALL

    recipe = load_recipe("default", SMALL)
    generate_dataset(recipe, 0, tmp_path, count=3, chunk_size=3, workers=1, layout=layout)
    data = [p for p in tmp_path.iterdir() if p.is_file() and p.suffix in (".png", ".flo", ".tar")]
    released = {ino for ino, _ in advice}
    assert data and {p.stat().st_ino for p in data} <= released
