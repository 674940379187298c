"""WebDataset-compatible tar shards: one shard per chunk, deterministic bytes.

``DIR/shard-{k:06d}.tar`` holds chunk ``k`` (samples ``[k * chunk_size, (k + 1) * chunk_size)``
cut to the generated range). Its members are, per sample ``i`` in increasing order and by name
within a sample::

    {i:07d}.flow_01.flo  {i:07d}.flow_10.flo  {i:07d}.img_0.png  {i:07d}.img_1.png
    {i:07d}.json  {i:07d}.mb_01.png ... {i:07d}.seg_1.png

A stereo recipe's shards hold its :data:`~flowsynth.io.layout.STEREO_FILES` the same way
(``{i:07d}.left.png``, ``{i:07d}.disp_left.pfm``, ...).

WebDataset splits a member name at its first dot into the sample key (``0000042``) and the field
(``img_0.png``), so each sample's files arrive together. ``{i:07d}.json`` holds the index, seed
and recipe hash. ``tar xf`` gives the per-file layout except for the separator: the shard member
``0000042.img_0.png`` is the file ``0000042-img_0.png``, plus one ``.json`` per sample.

The bytes are reproducible: USTAR format, fixed mtime (0), uid/gid 0, empty user and group
names, mode 0644, members in a fixed order. A shard is written to a temporary file and renamed
into place, so a reader never sees half a shard.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import struct
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, cast

from isal import isal_zlib

from flowsynth.io.atomic import atomic_path
from flowsynth.io.errors import FileFormatError
from flowsynth.io.limits import MAX_FILE_BYTES, BoundedReader, open_regular, read_at_most
from flowsynth.io.pagecache import release

SHARD_MTIME = 0
SHARD_MODE = 0o644
_COPY_BUFFER = 1 << 24


def shard_name(k: int) -> str:
    """``shard-000003.tar`` for chunk 3."""
    return f"shard-{k:06d}.tar"


def member_name(index: int, field: str) -> str:
    """``0000042.img_0.png`` for field ``img_0.png`` of sample 42."""
    return f"{index:07d}.{field}"


#: How a shard's members are fingerprinted in its manifest record; the shard itself has a sha256.
#: A member's CRC-32 names the culprit when the shard's sha256 is wrong, at 1/80 of the cost of
#: a second sha256 over the same bytes (ISA-L: 0.03 ms for a 1.5 MB ``.flo``). Older manifests
#: (0.2.0, early 0.3.0 builds) hold a sha256 per member; :func:`member_digests` computes either.
MEMBER_CHECKSUM = "crc32"


def _crc32(data: bytes) -> str:
    return f"{isal_zlib.crc32(data):08x}"


_CHECKSUMS = {"crc32": _crc32, "sha256": lambda data: hashlib.sha256(data).hexdigest()}


def _digest(data: bytes, checksum: str = MEMBER_CHECKSUM) -> dict[str, Any]:
    return {"bytes": len(data), checksum: _CHECKSUMS[checksum](data)}


class _HashingFile:
    """A write-only file wrapper that hashes and counts what passes through it."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._file.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()


class ShardWriter:
    """Write one shard atomically; use as a context manager, then read :attr:`record`.

    Examples
    --------
    >>> with ShardWriter(out / shard_name(0)) as shard:  # doctest: +SKIP
    ...     shard.add_sample(0, {"img_0.png": png_bytes, "json": b"{}"})
    >>> shard.record["sha256"]  # doctest: +SKIP
    """

    def __init__(self, path: Path, *, root: Path | None = None) -> None:
        self.path = path
        self.root = root  # the output folder: the shard is written inside it through no link
        self.members: dict[str, dict[str, Any]] = {}
        self.record: dict[str, Any] = {}

    def __enter__(self) -> ShardWriter:
        self._stack = contextlib.ExitStack()
        temp = self._stack.enter_context(atomic_path(self.path, root=self.root))
        self._hashing = _HashingFile(self._stack.enter_context(open(temp, "wb")))
        # Closed in __exit__; it only calls write() and tell() on the wrapper. A copy buffer
        # as large as a member passes each member's bytes in one write (and one hash update).
        self._tar = tarfile.TarFile(
            fileobj=cast(BinaryIO, self._hashing),
            mode="w",
            format=tarfile.USTAR_FORMAT,
            copybufsize=_COPY_BUFFER,
        )
        return self

    def add_sample(self, index: int, fields: dict[str, bytes]) -> None:
        """Add sample ``index``'s fields (field name -> bytes), members sorted by name."""
        for field in sorted(fields):
            name = member_name(index, field)
            data = fields[field]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = SHARD_MTIME
            info.mode = SHARD_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            self._tar.addfile(info, io.BytesIO(data))
            self.members[name] = _digest(data)
        # Start writing this sample back and drop the earlier ones, written back by now
        # (see flowsynth.io.pagecache): a shard's pages need not stay cached.
        self._hashing.flush()
        release(self._hashing.fileno())

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            try:
                self._tar.close()  # writes the end-of-archive blocks
            except BaseException as failure:
                self._stack.__exit__(type(failure), failure, failure.__traceback__)
                raise
        # Closes the file, then renames it into place (or deletes it after an error).
        self._stack.__exit__(kind, error, traceback)
        if kind is None:
            self.record = {
                "bytes": self._hashing.size,
                "sha256": self._hashing.sha256.hexdigest(),
                "members": self.members,
            }


class ShardMember(NamedTuple):
    """One regular member of a shard: its name and where its bytes lie."""

    name: str
    offset: int  # of the member's data, from the start of the shard
    size: int


#: Largest single read the tar parser may make: a header block, or a pax or GNU long-name
#: header (flowsynth writes neither; other writers' are a few hundred bytes).
MAX_TAR_HEADER_BYTES = 1 << 20
_TAR_ERRORS = (tarfile.TarError, EOFError, ValueError, IndexError, OverflowError, struct.error)


def scan_shard(file: BinaryIO, source: str | os.PathLike[str]) -> list[ShardMember]:
    """The regular members of the tar archive open as ``file`` (a regular file), in order.

    Reads the headers only. Every member's bytes must lie inside the file and hold at most
    ``MAX_FILE_BYTES``, and the archive must end in an end-of-archive (all-zero) block: a
    truncated shard, or one whose headers claim more than it holds, raises instead of listing
    fewer members or allocating what a header claims (``tarfile`` would silently stop at a
    truncated or corrupt header after the first).

    Raises
    ------
    FileFormatError
        Not a tar archive, a member that is not a regular file, a member past the end of the
        file or over the size limit, or no end-of-archive block; names ``source``.
    """
    file.seek(0)
    bounded = BoundedReader(file, MAX_TAR_HEADER_BYTES)
    members = []
    try:
        with tarfile.open(fileobj=cast(BinaryIO, bounded), mode="r:") as tar:
            while (info := tar.next()) is not None:
                # tarfile keeps every TarInfo (a member list, not in typeshed): drop them, the
                # list below is enough.
                cast(Any, tar).members.clear()
                if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or info.issparse():
                    raise FileFormatError(source, f"member {info.name!r} is not a regular file")
                end = info.offset_data + info.size
                if info.size > MAX_FILE_BYTES or end > bounded.size:
                    raise FileFormatError(
                        source,
                        f"member {info.name!r} claims {info.size} bytes at byte "
                        f"{info.offset_data}, past the end of the {bounded.size}-byte file "
                        "or over the limit (truncated, corrupt or hostile)",
                    )
                members.append(ShardMember(info.name, info.offset_data, info.size))
            end_block = tar.offset
    except _TAR_ERRORS as error:
        raise FileFormatError(source, f"not a readable tar shard ({error})") from None
    file.seek(end_block)
    if read_at_most(file, tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
        raise FileFormatError(
            source,
            f"no end-of-archive block after {len(members)} member(s), at byte {end_block} "
            "(truncated or corrupt tar shard)",
        )
    return members


def shard_members(path: str | os.PathLike[str]) -> list[ShardMember]:
    """The regular members of the shard ``path`` (see :func:`scan_shard`).

    Raises
    ------
    OSError
        The file cannot be opened (e.g. ``FileNotFoundError``).
    FileFormatError
        Not a regular file (a device or FIFO), or not a sound tar shard.
    """
    with open_regular(path) as file:
        return scan_shard(file, path)


def read_member(file: BinaryIO, member: ShardMember, source: str | os.PathLike[str]) -> bytes:
    """The bytes of ``member`` of the shard open as ``file``; raises if the file holds fewer."""
    file.seek(member.offset)
    data = read_at_most(file, member.size)
    if len(data) != member.size:
        raise FileFormatError(source, f"member {member.name!r} is truncated")
    return data


def iter_shard(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(member name, bytes)`` for every member of a shard, in order.

    Only a regular file is read, and the whole archive is checked (:func:`scan_shard`) before
    the first member is returned.

    Raises
    ------
    FileFormatError
        If the file is not a sound tar shard (see :func:`shard_members`).
    """
    with open_regular(path) as file:
        for member in scan_shard(file, path):
            yield member.name, read_member(file, member, path)


def member_digests(path: Path, checksum: str = MEMBER_CHECKSUM) -> dict[str, dict[str, Any]]:
    """Member name -> ``{"bytes", checksum}`` for every member of a shard.

    ``checksum`` is ``"crc32"`` (what manifests record) or ``"sha256"`` (older manifests:
    flowsynth 0.2.0 and early 0.3.0 builds).
    """
    if checksum not in _CHECKSUMS:
        raise ValueError(f"checksum must be one of {sorted(_CHECKSUMS)}, got {checksum!r}")
    return {name: _digest(data, checksum) for name, data in iter_shard(path)}
