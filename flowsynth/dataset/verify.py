"""Check a generated dataset against its manifests: missing, extra, truncated or corrupt files.

``flowsynth verify DIR`` reads ``DIR/flowsynth.json`` (the recipe must rebuild to its recorded
hash) and every ``DIR/manifest/chunk-*.json``, then checks that each file a manifest lists is
there with its recorded size and sha256 (for shards: the tar, and its members by name and size;
each member's CRC-32 names the culprit when a shard's hash is wrong), and that nothing else is
in the folder but ``flowsynth.json``, ``preview.png``, the lock file and ``manifest/``.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowsynth import __version__
from flowsynth.io.errors import FileFormatError
from flowsynth.io.layout import FLOW_FILES, METADATA_NAME, file_name
from flowsynth.io.lock import LOCK_NAME
from flowsynth.io.manifest import (
    MANIFEST_DIR,
    Chunk,
    Coverage,
    is_temp_name,
    list_manifests,
    plan_chunks,
    read_manifest,
)
from flowsynth.io.shards import MEMBER_CHECKSUM, member_digests, member_name, shard_name

#: Files a dataset folder may hold besides its data and manifests.
ALLOWED_EXTRAS = (METADATA_NAME, "preview.png", LOCK_NAME)
_BLOCK = 1 << 20


@dataclass
class VerifyReport:
    """The outcome of :func:`verify_dataset`: ``problems`` is empty when all is well."""

    out: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    files: int = 0
    bytes: int = 0
    ranges: list[tuple[int, int]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def samples(self) -> int:
        """Number of distinct samples the manifests record."""
        return sum(stop - first for first, stop in self.ranges)

    def summary(self) -> str:
        """One line describing the dataset."""
        spans = ", ".join(f"{a}-{b - 1}" for a, b in self.ranges) or "none"
        meta = self.meta
        return (
            f"{self.samples} samples (indices {spans}) in {self.chunks} chunks, {self.files} "
            f"files, {self.bytes / 1e6:.1f} MB; layout {meta.get('layout')}, seed "
            f"{meta.get('seed')}, recipe {str(meta.get('recipe_hash'))[:12]}, flowsynth "
            f"{meta.get('flowsynth')}"
        )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _check_metadata(out: Path, report: VerifyReport) -> bool:
    """Read and check ``flowsynth.json``; False if verification cannot go on."""
    import json

    from flowsynth.recipe.fields import RecipeError, recipe_hash
    from flowsynth.recipe.load import from_mapping

    path = out / METADATA_NAME
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        report.problems.append(f"{path}: missing or unreadable ({error})")
        return False
    if not isinstance(meta, dict):
        report.problems.append(f"{path}: not a JSON object")
        return False
    report.meta = meta
    missing = [k for k in ("flowsynth", "recipe", "recipe_hash", "seed", "layout") if k not in meta]
    if missing:
        report.problems.append(f"{path}: missing keys {missing}")
        return False
    try:
        rebuilt = recipe_hash(from_mapping(meta["recipe"]))
    except (RecipeError, TypeError, AttributeError) as error:
        report.problems.append(f"{path}: the recorded recipe does not load ({error})")
    else:
        if rebuilt != meta["recipe_hash"]:
            report.problems.append(f"{path}: the recorded recipe does not match recipe_hash")
    if not isinstance(meta["seed"], int):
        report.problems.append(f"{path}: seed {meta['seed']!r} is not an integer")
    if meta["layout"] not in ("files", "shards"):
        report.problems.append(f"{path}: unknown layout {meta['layout']!r}")
        return False
    if meta["layout"] == "shards" and not isinstance(meta.get("chunk_size"), int):
        report.problems.append(f"{path}: shards need an integer chunk_size")
        return False
    if meta["flowsynth"] != __version__:
        report.notes.append(f"made with flowsynth {meta['flowsynth']}, this is {__version__}")
    return True


def _expected_names(meta: dict[str, Any], chunk: Chunk) -> tuple[set[str], set[str]]:
    """File names a chunk's manifest must list, and (for shards) its member names."""
    suffixes = meta.get("files") or list(FLOW_FILES)
    if meta["layout"] == "files":
        return {file_name(i, s) for i in chunk.indices for s in suffixes}, set()
    members = {member_name(i, s) for i in chunk.indices for s in [*suffixes, "json"]}
    return {shard_name(chunk.first // meta["chunk_size"])}, members


def _collect(out: Path, report: VerifyReport) -> tuple[dict[str, dict[str, Any]], list[Chunk]]:
    """Every file the manifests list (name -> record), and the chunks they describe."""
    meta = report.meta
    expected: dict[str, dict[str, Any]] = {}
    chunks = []
    for chunk, path in list_manifests(out).items():
        try:
            manifest = read_manifest(path)
        except FileFormatError as error:
            report.problems.append(str(error))
            continue
        for key in ("seed", "recipe_hash", "layout"):
            if manifest.get(key) != meta[key]:
                report.problems.append(
                    f"{path}: {key} {manifest.get(key)!r} differs from {METADATA_NAME}'s "
                    f"{meta[key]!r}"
                )
        if manifest.get("versions", meta.get("versions")) != meta.get("versions"):
            report.notes.append(
                f"{path.name}: written with {manifest['versions']}, "
                f"{METADATA_NAME} records {meta.get('versions')}"
            )
        names, members = _expected_names(meta, chunk)
        files = manifest["files"]
        listed = {m for record in files.values() for m in record.get("members", {})}
        if set(files) != names or listed != members:
            report.problems.append(
                f"{path}: does not list exactly the files of samples {chunk.first}-{chunk.stop - 1}"
            )
        for name, record in files.items():
            if name in expected and expected[name] != record:
                report.problems.append(f"{name}: recorded differently by two manifests")
            expected[name] = record
        chunks.append(chunk)
    return expected, chunks


def _check_listing(out: Path, expected: dict[str, Any], report: VerifyReport) -> None:
    """Report temporary, foreign and unlisted entries of ``out`` and its manifest folder."""
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        name = entry.name
        if name in ALLOWED_EXTRAS or (name == MANIFEST_DIR and entry.is_dir()):
            continue
        if is_temp_name(name):
            report.problems.append(f"{entry.path}: stale temporary file of an interrupted run")
        elif entry.is_dir():
            report.problems.append(f"{entry.path}: unexpected folder")
        elif name not in expected:
            report.problems.append(f"{entry.path}: extra file, in no manifest")
    folder = out / MANIFEST_DIR
    manifests = {p.name for p in list_manifests(out).values()}
    if folder.is_dir():
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name not in manifests:
                report.problems.append(f"{entry.path}: extra file in the manifest folder")


def _check_file(path: Path, record: dict[str, Any], quick: bool) -> list[str]:
    """Problems of one listed file (empty if it is as recorded)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return [f"{path}: missing"]
    problems = []
    if size != record["bytes"]:
        problems.append(f"{path}: {size} bytes, the manifest says {record['bytes']} (truncated?)")
    elif not quick and sha256_file(path) != record["sha256"]:
        problems.append(f"{path}: corrupt (sha256 differs from the manifest)")
    if "members" in record and (problems or quick):
        problems += _check_members(path, record["members"], hashes=not quick)
    return problems


def _check_members(path: Path, members: dict[str, Any], *, hashes: bool) -> list[str]:
    """Name the missing, extra or altered members of a shard."""
    recorded: dict[str, Any] = next(iter(members.values()), {})
    checksum = "sha256" if "sha256" in recorded else MEMBER_CHECKSUM  # older manifests: sha256
    try:
        if hashes:
            found = member_digests(path, checksum)
        else:
            with tarfile.open(path, mode="r:") as tar:
                found = {i.name: {"bytes": i.size} for i in tar if i.isfile()}
    except (FileFormatError, tarfile.TarError, EOFError, OSError) as error:
        return [f"{path}: members unreadable ({error})"]
    problems = [f"{path}: member {n} missing" for n in sorted(set(members) - set(found))]
    problems += [f"{path}: member {n} extra" for n in sorted(set(found) - set(members))]
    for name in sorted(set(found) & set(members)):
        keys = ("bytes", checksum) if hashes else ("bytes",)
        if any(found[name][k] != members[name].get(k) for k in keys):
            problems.append(f"{path}: member {name} corrupt")
    return problems


def verify_dataset(
    out: str | os.PathLike[str],
    *,
    start: int | None = None,
    count: int | None = None,
    quick: bool = False,
    threads: int = 4,
) -> VerifyReport:
    """Check a dataset folder against its ``flowsynth.json`` and manifests.

    Parameters
    ----------
    out : path
        The dataset folder.
    start, count : int, optional
        Also require every sample of ``[start, start + count)`` (default start 0).
    quick : bool
        Check sizes only, without hashing (shards: member names and sizes).
    threads : int
        Files hashed at once.

    Returns
    -------
    VerifyReport
        ``problems`` names every bad file; empty when the dataset is complete and intact.
    """
    folder = Path(out)
    if not folder.is_dir():
        raise FileNotFoundError(f"no dataset folder {folder}")
    report = VerifyReport(folder)
    if not _check_metadata(folder, report):
        return report
    expected, chunks = _collect(folder, report)
    _check_listing(folder, expected, report)
    paths = [folder / name for name in sorted(expected)]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for found in pool.map(lambda p: _check_file(p, expected[p.name], quick), paths):
            report.problems += found
    coverage = Coverage(chunks)
    report.ranges = coverage.ranges()
    report.chunks, report.files = len(chunks), len(expected)
    report.bytes = sum(record["bytes"] for record in expected.values())
    if count is not None:
        report.problems += _missing_samples(coverage, plan_chunks(start or 0, count, max(count, 1)))
    return report


def _missing_samples(coverage: Coverage, wanted: Iterable[Chunk]) -> list[str]:
    missing = []
    for chunk in wanted:
        for index in chunk.indices:
            if not coverage.covers(Chunk(index, 1)):
                missing.append(index)
    if not missing:
        return []
    shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
    return [f"{len(missing)} requested samples have no finished chunk: {shown}"]
