"""Hostile tar shards: devices, FIFOs, truncated archives, headers claiming huge members, random
bytes and mutated real shards, for every shard reader.

Each reader must return what the shard holds or raise :class:`FileFormatError`, quickly and
without allocating what a header claims. Real shards are written as ``flowsynth generate``
writes them (:class:`ShardWriter`, tiny rendered samples).
"""

from __future__ import annotations

import io
import struct
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.data.formats.shards import list_flowsynth_shards, read_shard_sample
from flowsynth.io import FileFormatError
from flowsynth.io.layout import FLOW_FILES, encode_fields
from flowsynth.io.limits import MAX_DECODED_BYTES
from flowsynth.io.shards import (
    ShardWriter,
    iter_shard,
    member_digests,
    shard_members,
    shard_name,
)
from flowsynth.render.layers import render_sample
from tests.data.checks import tiny_recipe
from tests.io.test_hostile_files import _special, fast_and_small
from tests.limits import deadline

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="devices, FIFOs and SIGALRM are POSIX"
)

#: Longest one fuzz case (one shard through every reader) may take.
CASE_SECONDS = 5.0
BLOCK = tarfile.BLOCKSIZE


def _read_dataset(path: Path) -> list[Any]:
    """The torch-free half of ``FlowsynthShards``: list the folder, decode every sample."""
    return [read_shard_sample(sample) for sample in list_flowsynth_shards(path.parent)]


SHARD_READERS: dict[str, Callable[[Path], Any]] = {
    "iter_shard": lambda path: list(iter_shard(path)),
    "member_digests": member_digests,
    "shard_members": shard_members,
    "list_and_read": _read_dataset,
}


def _write_shard(path: Path, count: int = 2) -> bytes:
    with ShardWriter(path) as shard:
        for index in range(count):
            sample = render_sample(tiny_recipe(size=(12, 16)), 0, index)
            encoded = encode_fields(sample.as_dict(), FLOW_FILES, 1)
            shard.add_sample(index, {**encoded, "json": b"{}"})
    return path.read_bytes()


@pytest.fixture(scope="module")
def real_shard(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real two-sample shard (~30 KB)."""
    return _write_shard(tmp_path_factory.mktemp("shard") / shard_name(0))


def _shard_path(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "shards"
    folder.mkdir(exist_ok=True)
    path = folder / shard_name(0)
    path.write_bytes(data)
    return path


def _header_offsets(data: bytes) -> list[int]:
    """The offset of every member header of a USTAR archive ``data``."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [info.offset for info in tar]


def _members_end(data: bytes) -> int:
    """Where the end-of-archive blocks of a USTAR archive ``data`` start."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        last = tar.getmembers()[-1]
    return last.offset_data + -(-last.size // BLOCK) * BLOCK


def _with_checksum(header: bytearray) -> bytearray:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return header


def patch_size(data: bytes, offset: int, size_field: bytes) -> bytes:
    """``data`` with the size field of the header at ``offset`` replaced, checksum fixed."""
    header = bytearray(data[offset : offset + BLOCK])
    header[124:136] = size_field
    return data[:offset] + bytes(_with_checksum(header)) + data[offset + BLOCK :]


def pax_claiming(size: int) -> bytes:
    """A tar whose first header is a pax extended header claiming ``size`` bytes of records."""
    header = bytearray(BLOCK)
    header[0:9] = b"PaxHeader"
    header[100:108] = b"0000644\0"
    header[124:136] = b"%011o\0" % size
    header[156:157] = b"x"
    header[257:263] = b"ustar\0"
    header[263:265] = b"00"
    return bytes(_with_checksum(header)) + b"30 path=" + b"a" * 21 + b"\n" + bytes(3 * BLOCK)


def test_real_shards_read(tmp_path: Path, real_shard: bytes) -> None:
    path = _shard_path(tmp_path, real_shard)
    members = dict(iter_shard(path))
    assert len(members) == 2 * (len(FLOW_FILES) + 1) and b"{}" in members.values()
    assert [m.name for m in shard_members(path)] == list(members)
    assert set(member_digests(path)) == set(members)
    assert len(_read_dataset(path)) == 2


@pytest.mark.parametrize("kind", ["zero", "fifo"])
@pytest.mark.parametrize("reader", sorted(SHARD_READERS))
def test_devices_and_fifos_are_refused(tmp_path: Path, kind: str, reader: str) -> None:
    path = _special(tmp_path, kind, shard_name(0))
    with fast_and_small(), pytest.raises(FileFormatError, match="not a regular file"):
        SHARD_READERS[reader](path)


@pytest.mark.parametrize("reader", sorted(SHARD_READERS))
def test_truncated_shards_are_refused(tmp_path: Path, real_shard: bytes, reader: str) -> None:
    offsets, end = _header_offsets(real_shard), _members_end(real_shard)
    assert real_shard[end:] == bytes(len(real_shard) - end)
    cuts = {
        "in a header": offsets[3] + 100,
        "in a member's data": offsets[3] + BLOCK + 10,
        "at a header": offsets[5],
        "with no end blocks": end,
        "in the end block": end + 100,
    }
    for cut in cuts.values():
        path = _shard_path(tmp_path, real_shard[:cut])
        with fast_and_small(), pytest.raises(FileFormatError, match="shard-000000.tar"):
            SHARD_READERS[reader](path)


@pytest.mark.parametrize(
    "size_field",
    [b"77777777777\0", b"\x80" + bytes(3) + b"\xff" * 8, b"\xff" * 12],
    ids=["octal_8GiB", "base256_2e64", "base256_negative"],
)
@pytest.mark.parametrize("reader", sorted(SHARD_READERS))
def test_member_claiming_a_huge_size_is_refused(
    tmp_path: Path, real_shard: bytes, reader: str, size_field: bytes
) -> None:
    for offset in _header_offsets(real_shard)[:2]:
        path = _shard_path(tmp_path, patch_size(real_shard, offset, size_field))
        with fast_and_small(), pytest.raises(FileFormatError, match="shard-000000.tar"):
            SHARD_READERS[reader](path)


@pytest.mark.parametrize("reader", sorted(SHARD_READERS))
def test_pax_header_claiming_a_huge_size_is_refused(tmp_path: Path, reader: str) -> None:
    for size in ((1 << 33) - 1, 1 << 31, 60 << 20):
        path = _shard_path(tmp_path, pax_claiming(size))
        with fast_and_small(), pytest.raises(FileFormatError, match="shard-000000.tar"):
            SHARD_READERS[reader](path)


@pytest.mark.parametrize("reader", sorted(SHARD_READERS))
def test_random_bytes_and_empty_files_are_refused(tmp_path: Path, reader: str) -> None:
    rng = np.random.default_rng(4)
    for data in (rng.bytes(30_000), b"", b"x" * BLOCK, rng.bytes(BLOCK) + bytes(2 * BLOCK)):
        path = _shard_path(tmp_path, data)
        with fast_and_small(), pytest.raises(FileFormatError, match="shard-000000.tar"):
            SHARD_READERS[reader](path)


def test_a_member_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        link = tarfile.TarInfo("0000000.img_0.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/dev/zero"
        tar.addfile(link)
    path = _shard_path(tmp_path, buffer.getvalue())
    for reader in SHARD_READERS.values():
        with pytest.raises(FileFormatError, match="not a regular file"):
            reader(path)


def test_an_empty_archive_lists_nothing(tmp_path: Path) -> None:
    path = _shard_path(tmp_path, bytes(2 * BLOCK))
    assert shard_members(path) == [] and list(iter_shard(path)) == []


# --- fuzz: mutated real shards ---------------------------------------------------------------

#: Values a mutation writes into a header's octal size field.
SIZE_FIELDS = [b"%011o\0" % v for v in (0, 1, 511, 512, 4096, (1 << 33) - 1)] + [
    b"\x80" + bytes(3) + struct.pack(">Q", 1 << 62),
]


@st.composite
def mutated_shards(draw: st.DrawFn, shard: bytes) -> bytes:
    """A real shard with one to four mutations: bytes set, a header's size field rewritten
    (checksum fixed, so the header still parses), bytes inserted or deleted, or a cut."""
    data = bytearray(shard)
    offsets = _header_offsets(shard)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["byte", "size", "insert", "delete", "cut"]))
        if how == "byte":
            data[at] = draw(st.integers(0, 255))
        elif how == "size":
            offset = draw(st.sampled_from(offsets))
            if offset + BLOCK <= len(data):
                field = draw(st.sampled_from(SIZE_FIELDS))
                data[:] = patch_size(bytes(data), offset, field)
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del data[at : at + draw(st.integers(1, BLOCK))]
        else:
            del data[at:]
    return bytes(data)


def check_every_shard_reader(data: bytes, folder: Path) -> None:
    """Feed ``data`` as a shard to every reader: its members or a typed error, in time."""
    path = _shard_path(folder, data)
    start = time.perf_counter()
    with deadline(2 * CASE_SECONDS):
        for reader in SHARD_READERS.values():
            try:
                result = reader(path)
            except FileFormatError:
                continue
            if reader is SHARD_READERS["iter_shard"]:
                assert sum(len(member) for _, member in result) <= len(data)
            if reader is SHARD_READERS["list_and_read"]:
                assert all(pair.image1.nbytes <= MAX_DECODED_BYTES for pair in result)
    elapsed = time.perf_counter() - start
    assert elapsed < CASE_SECONDS, f"one case took {elapsed:.2f} s"


COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,  # no .hypothesis folder in the shared tree
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=200, derandomize=True, **COMMON)
@given(data=st.data())
def test_fuzz_mutated_shards_into_every_reader(
    tmp_path: Path, real_shard: bytes, data: st.DataObject
) -> None:
    check_every_shard_reader(data.draw(mutated_shards(real_shard)), tmp_path)


@pytest.mark.slow
@settings(max_examples=3000, **COMMON)
@given(data=st.data())
def test_fuzz_mutated_shards_into_every_reader_long(
    tmp_path: Path, real_shard: bytes, data: st.DataObject
) -> None:
    check_every_shard_reader(data.draw(mutated_shards(real_shard)), tmp_path)
