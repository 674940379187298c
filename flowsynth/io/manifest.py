"""Per-chunk manifests: what a finished chunk wrote, so that runs resume and datasets verify.

A dataset is written in chunks of consecutive sample indices whose boundaries are multiples of
the chunk size counted from 0 (chunk ``k`` holds ``[k * size, (k + 1) * size)``, cut to the
requested range), so that runs with another ``--start`` or ``--count`` line up. After *all* of a
chunk's files are in place, its manifest ``DIR/manifest/chunk-{first:07d}-{count}.json`` is
written atomically; a chunk without a manifest is unfinished and is regenerated wholesale.

A manifest is a JSON object::

    {"first": 64, "count": 64, "layout": "files", "seed": 0, "recipe_hash": "...",
     "flowsynth": "0.1.0", "compression": 1,
     "files": {"0000064-img_0.png": {"bytes": 198587, "sha256": "..."}, ...}}

``compression`` (the PNG level, absent from older manifests) lets ``verify --repair`` write a
damaged chunk again byte for byte.

For shards, ``files`` names the one tar file, whose record also holds ``members`` (member name
-> ``{"bytes", "crc32"}``, which names a damaged member once the shard's sha256 disagrees;
manifests of 0.2.0 and early 0.3.0 builds hold a sha256 per member). Manifests hold no times or
host names: the same command writes the same bytes.

Manifests are untrusted input: a manifest counts only if its name is the canonical name of its
chunk and its contents agree with the name and with the dataset's ``flowsynth.json`` (see
:func:`flowsynth.io.manifest_checks.manifest_problems`), which bounds what reading one allocates
by the manifest's own size.
Resuming deletes a manifest only when a trusted manifest of a larger chunk, whose files are all
on disk, covers it. Every write and delete under the output folder refuses symbolic links
(:mod:`flowsynth.io.atomic`).
"""

from __future__ import annotations

import bisect
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowsynth.io.atomic import atomic_write_bytes, check_entry, safe_folder, safe_unlink
from flowsynth.io.errors import FileFormatError
from flowsynth.io.layout import sample_of_path, walk_tree_files
from flowsynth.io.limits import read_file
from flowsynth.io.manifest_checks import manifest_problems

MANIFEST_DIR = "manifest"
#: Most chunks one run or check plans: beyond it the bookkeeping alone would fill the memory.
MAX_CHUNKS = 1 << 20
#: Most samples in one chunk.
MAX_CHUNK_SIZE = 1 << 20
#: Largest manifest read (a chunk of 65536 samples lists ~100 MB).
MAX_MANIFEST_BYTES = 1 << 28
_MANIFEST_NAME = re.compile(r"^chunk-(\d+)-(\d+)\.json$")
#: Temporary files of :mod:`flowsynth.io.atomic` (``.<name>.<pid>.<thread>.<n>.tmp``).
_TEMP_NAME = re.compile(r"^\..+\.tmp$")


@dataclass(frozen=True, order=True)
class Chunk:
    """Consecutive sample indices ``[first, first + count)``, written and recorded together."""

    first: int
    count: int

    @property
    def stop(self) -> int:
        """One past the last index."""
        return self.first + self.count

    @property
    def indices(self) -> range:
        """The chunk's sample indices."""
        return range(self.first, self.stop)

    def covers(self, other: Chunk) -> bool:
        """True if every index of ``other`` is in this chunk."""
        return self.first <= other.first and other.stop <= self.stop


def plan_chunks(start: int, count: int, chunk_size: int) -> list[Chunk]:
    """The aligned chunks covering ``[start, start + count)``; the first and last may be cut.

    >>> plan_chunks(5, 7, 4)
    [Chunk(first=5, count=3), Chunk(first=8, count=4)]
    """
    if start < 0 or count < 0 or chunk_size < 1:
        raise ValueError(
            f"need start >= 0, count >= 0, chunk size >= 1; got {start}, {count}, {chunk_size}"
        )
    check_chunk_count(start, count, chunk_size)
    chunks = []
    stop = start + count
    first = start
    while first < stop:
        end = min(stop, (first // chunk_size + 1) * chunk_size)
        chunks.append(Chunk(first, end - first))
        first = end
    return chunks


def chunk_count(start: int, count: int, chunk_size: int) -> int:
    """Number of aligned chunks :func:`plan_chunks` makes for ``[start, start + count)``."""
    if count <= 0:
        return 0
    return (start + count - 1) // chunk_size - start // chunk_size + 1


def check_chunk_count(start: int, count: int, chunk_size: int) -> None:
    """Raise ``ValueError`` if ``[start, start + count)`` makes more than :data:`MAX_CHUNKS`."""
    planned = chunk_count(start, count, chunk_size)
    if planned > MAX_CHUNKS:
        raise ValueError(
            f"{count} samples from {start} make {planned} chunks of {chunk_size}, more than the "
            f"{MAX_CHUNKS} one run keeps track of; use a larger --chunk-size, or split the range "
            "into several runs with --start and --count"
        )


def manifest_path(out: Path, chunk: Chunk) -> Path:
    """``out/manifest/chunk-{first:07d}-{count}.json``."""
    return out / MANIFEST_DIR / f"chunk-{chunk.first:07d}-{chunk.count}.json"


def chunk_of_name(name: str) -> Chunk | None:
    """The chunk a manifest file name stands for; None unless it is a canonical name."""
    match = _MANIFEST_NAME.match(name)
    if match is None or len(name) > 64:
        return None
    chunk = Chunk(int(match[1]), int(match[2]))
    if chunk.count < 1 or chunk.count > MAX_CHUNK_SIZE or manifest_path(Path(), chunk).name != name:
        return None
    return chunk


def list_manifests(out: Path) -> dict[Chunk, Path]:
    """The chunks that ``out`` holds manifests for (from their canonical file names, unread).

    Raises
    ------
    UnsafePathError
        If the manifest folder is a symbolic link (or not a folder).
    """
    folder = out / MANIFEST_DIR
    if not safe_folder(out, folder, create=False):
        return {}
    found = {}
    for entry in os.scandir(folder):
        chunk = chunk_of_name(entry.name)
        if chunk is not None and entry.is_file(follow_symlinks=False):
            found[chunk] = Path(entry.path)
    return dict(sorted(found.items()))


def write_manifest(out: Path, chunk: Chunk, record: dict[str, Any]) -> Path:
    """Write a chunk's manifest atomically (call it after all the chunk's files are written)."""
    path = manifest_path(out, chunk)
    body = {**record, "first": chunk.first, "count": chunk.count}
    text = json.dumps(body, indent=1, sort_keys=True) + "\n"
    atomic_write_bytes(path, text.encode(), root=out)
    return path


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest's contents; raises :class:`FileFormatError` if it is not one."""
    try:
        data = json.loads(read_file(path, MAX_MANIFEST_BYTES).decode("utf-8"))
    except FileFormatError:
        raise
    except (OSError, ValueError, RecursionError) as error:
        raise FileFormatError(path, f"unreadable manifest ({error})") from error
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise FileFormatError(path, "not a manifest: no 'files' mapping")
    match = _MANIFEST_NAME.match(path.name)
    if match is None or (data.get("first"), data.get("count")) != (int(match[1]), int(match[2])):
        raise FileFormatError(path, "'first' and 'count' disagree with the file name")
    return data


class Coverage:
    """The union of finished chunks, for fast "is this range done?" questions."""

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        merged: list[list[int]] = []
        for chunk in sorted(chunks):
            if merged and chunk.first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], chunk.stop)
            else:
                merged.append([chunk.first, chunk.stop])
        self._starts = [m[0] for m in merged]
        self._stops = [m[1] for m in merged]

    def covers(self, chunk: Chunk) -> bool:
        """True if every index of ``chunk`` is in a finished chunk."""
        k = bisect.bisect_right(self._starts, chunk.first) - 1
        return k >= 0 and chunk.stop <= self._stops[k]

    def ranges(self) -> list[tuple[int, int]]:
        """The covered index ranges ``[(first, stop), ...]``, sorted and disjoint."""
        return list(zip(self._starts, self._stops, strict=True))


def superseded(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Chunks that lie inside another (a cut chunk later regenerated whole)."""
    dropped = []
    reach = -1  # the furthest stop of the chunks seen so far, which all start no later
    for chunk in sorted(chunks, key=lambda c: (c.first, -c.count)):
        if chunk.stop <= reach:
            dropped.append(chunk)
        reach = max(reach, chunk.stop)
    return dropped


def remove_stale_temps(out: Path) -> list[Path]:
    """Delete temporary files left by a killed writer in ``out`` and its manifest folder.

    Raises :class:`~flowsynth.io.errors.UnsafePathError` for a symbolic link (or a folder) with
    a temporary file's name, which flowsynth never makes. Only call this while no other process
    writes to ``out``.
    """
    removed = []
    for folder in (out, out / MANIFEST_DIR):
        if not safe_folder(out, folder, create=False):
            continue
        for entry in os.scandir(folder):
            if _TEMP_NAME.match(entry.name):  # a link or folder by that name is refused
                safe_unlink(out, Path(entry.path), missing_ok=True)
                removed.append(Path(entry.path))
    for _, entry in list(walk_tree_files(out)):  # the sample folders of trees (sequences...)
        if _TEMP_NAME.match(entry.name):
            safe_unlink(out, Path(entry.path), missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def is_temp_name(name: str) -> bool:
    """True for the name of a temporary file of :mod:`flowsynth.io.atomic`."""
    return _TEMP_NAME.match(name) is not None


# ---------------------------------------------------------------------------------- resuming

_SAMPLE_FILE = re.compile(r"^(\d+)-(.+)$")
_SHARD_FILE = re.compile(r"^shard-(\d+)\.tar$")


@dataclass
class ResumePlan:
    """What a run still has to write into a folder, and what it found there.

    ``todo`` pairs each chunk to write with the number of *requested* samples in it (for shards,
    a chunk grows to take in the samples of older cut chunks of its block, since a shard is
    always rewritten whole).
    """

    chunk_size: int
    todo: list[tuple[Chunk, int]]
    finished: dict[Chunk, Path]  # manifests found
    skipped: int  # requested chunks already finished
    removed: list[Path]  # stale temporary files (and superseded manifests) deleted
    replaces: dict[Chunk, list[Path]]  # chunk to write -> manifests it makes obsolete

    def replaced_by(self, chunk: Chunk) -> list[Path]:
        """Manifests of finished chunks inside ``chunk``, obsolete once it is written."""
        return self.replaces.get(chunk, [])


def _hull(chunk: Chunk, others: Sequence[Chunk]) -> Chunk:
    first = min([chunk.first, *(c.first for c in others)])
    return Chunk(first, max([chunk.stop, *(c.stop for c in others)]) - first)


def plan_resume(
    out: Path,
    start: int,
    count: int,
    chunk_size: int,
    *,
    whole_blocks: bool = False,
    meta: dict[str, Any] | None = None,
) -> ResumePlan:
    """Clean up after a killed run and find the chunks of ``[start, start + count)`` to write.

    Deletes stale temporary files and manifests of cut chunks that a later, larger chunk
    replaced. With ``whole_blocks`` (shards: one file per block of ``chunk_size`` indices), a
    chunk to write grows to take in the finished chunks of its block. Only call it while no
    other process writes to ``out``.

    With ``meta`` (the dataset's ``flowsynth.json``), a manifest of the requested range counts
    as finished only if :func:`~flowsynth.io.manifest_checks.manifest_problems` finds nothing
    wrong with it (others are left alone, and their chunks written again), and a cut chunk's
    manifest is deleted only if a trusted manifest of a larger chunk, whose files are all on
    disk, covers it.
    """
    removed = remove_stale_temps(out)
    planned = plan_chunks(start, count, chunk_size)
    finished = list_manifests(out)
    trust = _Trust(out, meta, finished)
    wanted = Coverage([Chunk(start, count)] if count else [])
    finished = {c: p for c, p in finished.items() if not _overlaps(wanted, c) or trust.ok(c)}
    dropped = superseded(list(finished))
    for chunk in dropped:
        if trust.replaced(chunk, finished):
            path = finished.pop(chunk)
            safe_unlink(out, path, missing_ok=True)
            removed.append(path)
        elif trust.ok(chunk):  # a larger one is untrusted: keep this one and write no other
            continue
        else:
            finished.pop(chunk)
    coverage = Coverage(finished)
    blocks: dict[int, list[Chunk]] = {}
    for chunk in finished:
        block = chunk.first // chunk_size
        if (chunk.stop - 1) // chunk_size == block:
            blocks.setdefault(block, []).append(chunk)
    todo, replaces = [], {}
    for chunk in planned:
        if not coverage.covers(chunk):
            inside = blocks.get(chunk.first // chunk_size, [])
            whole = _hull(chunk, inside) if whole_blocks else chunk
            todo.append((whole, chunk.count))
            replaces[whole] = [finished[o] for o in inside if o != whole and whole.covers(o)]
    return ResumePlan(chunk_size, todo, finished, len(planned) - len(todo), removed, replaces)


def _overlaps(coverage: Coverage, chunk: Chunk) -> bool:
    return any(first < chunk.stop and chunk.first < stop for first, stop in coverage.ranges())


class _Trust:
    """Which manifests of a folder agree with its metadata (each read at most once)."""

    def __init__(self, out: Path, meta: dict[str, Any] | None, found: dict[Chunk, Path]) -> None:
        self.out, self.meta, self.found = out, meta, found
        self._ok: dict[Chunk, bool] = {}
        self._data: dict[Chunk, dict[str, Any]] = {}

    def ok(self, chunk: Chunk) -> bool:
        if self.meta is None:
            return True
        if chunk not in self._ok:
            path = self.found[chunk]
            try:
                data = read_manifest(path)
            except FileFormatError:
                self._ok[chunk] = False
            else:
                self._ok[chunk] = not manifest_problems(path, data, chunk, self.meta)
                self._data[chunk] = data
        return self._ok[chunk]

    def replaced(self, chunk: Chunk, finished: dict[Chunk, Path]) -> bool:
        """True if a trusted larger chunk, its files on disk, covers ``chunk``."""
        for other in finished:
            if other != chunk and other.covers(chunk) and self.ok(other):
                if self.meta is None or self._on_disk(other):
                    return True
        return False

    def _on_disk(self, chunk: Chunk) -> bool:
        for name, record in self._data[chunk]["files"].items():
            try:
                check_entry(self.out, self.out / name)
                if os.lstat(self.out / name).st_size != record["bytes"]:
                    return False
            except (OSError, FileFormatError):
                return False
        return True


def unfinished_files(
    out: Path, layout: str, chunk_size: int, keep: Iterable[Chunk], sample_suffixes: Iterable[str]
) -> list[Path]:
    """Sample files (``{i:07d}-{suffix}``, or a tree's files below ``training/`` or
    ``FlyingThings3D/``) or shards
    (``shard-{k:06d}.tar``) of ``out`` that no chunk of ``keep`` (finished or about to be
    written) accounts for."""
    kept = list(keep)
    coverage = Coverage(kept)
    shards = {chunk.first // chunk_size for chunk in kept}
    suffixes = set(sample_suffixes)
    found = []
    if layout == "files":
        for relative, entry in walk_tree_files(out):
            sample = sample_of_path(relative)
            if sample and sample[1] in suffixes and not coverage.covers(Chunk(sample[0], 1)):
                found.append(Path(entry.path))
    for entry in os.scandir(out):
        if layout == "files":
            match = _SAMPLE_FILE.match(entry.name)
            if match and match[2] in suffixes and not coverage.covers(Chunk(int(match[1]), 1)):
                found.append(Path(entry.path))
        elif (match := _SHARD_FILE.match(entry.name)) and int(match[1]) not in shards:
            found.append(Path(entry.path))
    return found
