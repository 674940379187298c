"""Check a generated dataset against its manifests: missing, extra, truncated or corrupt files.

``flowsynth verify DIR`` reads ``DIR/flowsynth.json`` (the recipe must rebuild to its recorded
hash) and every ``DIR/manifest/chunk-*.json``, then checks that each file a manifest lists is
there with its recorded size and sha256 (for shards: the tar, and its members by name and size;
each member's CRC-32 names the culprit when a shard's hash is wrong), and that nothing else is
in the folder but ``flowsynth.json``, ``preview.png``, ``README.md`` (the dataset card), the
lock file and ``manifest/`` (and, for sequences and the FlyingThings3D tree, the listed files'
folders below ``training/`` or ``FlyingThings3D/``).

Manifests and metadata are untrusted input: every malformed field, symbolic link or impossible
number becomes a named problem in the report, and what verification allocates is bounded by the
size of the files it reads, never by a number written in them.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowsynth import __version__
from flowsynth.io.atomic import safe_folder
from flowsynth.io.errors import FileFormatError
from flowsynth.io.layout import (
    METADATA_NAME,
    SAMPLE_DEPTH,
    SEQUENCE_ROOT,
    TREES,
    walk_tree_files,
)
from flowsynth.io.lock import LOCK_NAME
from flowsynth.io.manifest import (
    MANIFEST_DIR,
    MAX_CHUNK_SIZE,
    Chunk,
    Coverage,
    is_temp_name,
    list_manifests,
    read_manifest,
)
from flowsynth.io.manifest_checks import listing_problem, manifest_problems
from flowsynth.io.shards import MEMBER_CHECKSUM, member_digests, shard_members
from flowsynth.recipe.fields import RecipeError, recipe_hash
from flowsynth.recipe.load import from_mapping

#: Files a dataset folder may hold besides its data and manifests.
ALLOWED_EXTRAS = (METADATA_NAME, "preview.png", "README.md", LOCK_NAME)
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
        tree = f" ({meta['tree']} tree)" if isinstance(meta.get("tree"), str) else ""
        return (
            f"{self.samples} samples (indices {spans}) in {self.chunks} chunks, {self.files} "
            f"files, {self.bytes / 1e6:.1f} MB; layout {meta.get('layout')}{tree}, seed "
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
    path = out / METADATA_NAME
    try:
        if os.path.islink(path):
            raise OSError("it is a symbolic link")
        meta = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as error:
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
    except RecipeError as error:
        report.problems.append(f"{path}: the recorded recipe does not load ({error})")
    except Exception as error:  # noqa: BLE001 - the recorded recipe is untrusted input
        why = f"{type(error).__name__}: {str(error)[:200]}"
        report.problems.append(f"{path}: the recorded recipe does not load ({why})")
    else:
        if rebuilt != meta["recipe_hash"]:
            report.problems.append(f"{path}: the recorded recipe does not match recipe_hash")
    if not isinstance(meta["seed"], int) or isinstance(meta["seed"], bool):
        report.problems.append(f"{path}: seed {meta['seed']!r:.80} is not an integer")
    return _check_layout(path, meta, report)


def _check_layout(path: Path, meta: dict[str, Any], report: VerifyReport) -> bool:
    """Check the fields that decide which files a chunk has; False if they are unusable."""
    if not isinstance(meta["layout"], str) or meta["layout"] not in ("files", "shards"):
        report.problems.append(f"{path}: unknown layout {meta['layout']!r:.80}")
        return False
    tree = meta.get("tree")
    if tree is not None and (meta["layout"] != "files" or tree not in TREES):
        report.problems.append(f"{path}: unknown tree {tree!r:.80} of layout {meta['layout']!r}")
        return False
    size = meta.get("chunk_size")
    if (size is not None or meta["layout"] == "shards") and not (
        isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= MAX_CHUNK_SIZE
    ):
        report.problems.append(
            f"{path}: chunk_size {size!r:.80} is not an integer in [1, {MAX_CHUNK_SIZE}]"
        )
        return False
    files = meta.get("files")
    if files is not None and not (
        isinstance(files, list)
        and files
        and all(isinstance(f, str) and _entry_ok(f) for f in files)
        and len(set(files)) == len(files)
    ):
        report.problems.append(f"{path}: 'files' {files!r:.80} is not a list of file suffixes")
        return False
    if meta["flowsynth"] != __version__:
        report.notes.append(f"made with flowsynth {meta['flowsynth']!r:.40}, this is {__version__}")
    return True


def _entry_ok(entry: str) -> bool:
    """A pair's suffix (no ``/``), or a tree's path below one of the roots of
    :data:`~flowsynth.io.layout.SAMPLE_DEPTH` (a sequence's ``training/<folder>/<file>``; see
    :mod:`flowsynth.io.layout`): nothing that could name a path outside the folder."""
    if not entry or "\\" in entry or "\0" in entry:
        return False
    if "/" not in entry:
        return True
    parts = entry.split("/")
    depth = SAMPLE_DEPTH.get(parts[0])
    if depth is None or len(parts) < depth + 1 or (parts[0] == SEQUENCE_ROOT and len(parts) != 3):
        return False
    return all(part and part not in (".", "..") and part != MANIFEST_DIR for part in parts)


def _collect(out: Path, report: VerifyReport) -> tuple[dict[str, dict[str, Any]], list[Chunk]]:
    """Every file the trusted manifests list (name -> record), and the chunks they describe;
    each manifest that is malformed or disagrees with ``flowsynth.json`` is a problem."""
    meta = report.meta
    expected: dict[str, dict[str, Any]] = {}
    chunks: list[Chunk] = []
    try:
        manifests = list_manifests(out)
    except FileFormatError as error:  # a symbolic link in place of the manifest folder
        report.problems.append(str(error))
        return expected, chunks
    for chunk, path in manifests.items():
        try:
            manifest = read_manifest(path)
        except FileFormatError as error:
            report.problems.append(str(error))
            continue
        report.problems += manifest_problems(path, manifest, chunk, meta)
        if manifest.get("versions", meta.get("versions")) != meta.get("versions"):
            report.notes.append(
                f"{path.name}: written with {str(manifest['versions'])[:200]}, "
                f"{METADATA_NAME} records {str(meta.get('versions'))[:200]}"
            )
        if listing_problem(manifest, chunk, meta) is not None:
            continue  # (reported above) its files count as unlisted
        for name, record in manifest["files"].items():
            if name in expected and expected[name] != record:
                report.problems.append(f"{name}: recorded differently by two manifests")
            expected[name] = record
        chunks.append(chunk)
    return expected, chunks


def _check_listing(out: Path, expected: dict[str, Any], report: VerifyReport) -> None:
    """Report temporary, foreign and unlisted entries of ``out`` and its manifest folder."""
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        name = entry.name
        if entry.is_symlink():
            report.problems.append(f"{entry.path}: symbolic link, not written by flowsynth")
        elif name in ALLOWED_EXTRAS or (name == MANIFEST_DIR and entry.is_dir()):
            continue
        elif is_temp_name(name):
            report.problems.append(f"{entry.path}: stale temporary file of an interrupted run")
        elif name in SAMPLE_DEPTH and entry.is_dir() and _holds(name, expected):
            continue  # checked by _check_tree_listing
        elif entry.is_dir():
            report.problems.append(f"{entry.path}: unexpected folder")
        elif name not in expected:
            report.problems.append(f"{entry.path}: extra file, in no manifest")
    _check_tree_listing(out, expected, report)
    folder = out / MANIFEST_DIR
    if folder.is_dir() and not folder.is_symlink():
        manifests = {p.name for p in list_manifests(out).values()}
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name not in manifests:
                report.problems.append(f"{entry.path}: extra file in the manifest folder")


def _holds(folder: str, expected: dict[str, Any]) -> bool:
    prefix = folder + "/"
    return any(name.startswith(prefix) for name in expected)


def _check_tree_listing(out: Path, expected: dict[str, Any], report: VerifyReport) -> None:
    """Report temporary, foreign and unlisted entries below the tree roots of ``out``
    (``training/`` of sequences, ``FlyingThings3D/``)."""
    if not any(_holds(root, expected) for root in SAMPLE_DEPTH):
        return
    folders: set[str] = set()
    for name in expected:
        parts = name.split("/")
        folders.update("/".join(parts[:end]) for end in range(1, len(parts)))
    for relative, entry in walk_tree_files(out):
        if not _holds(relative.split("/", 1)[0], expected):
            continue  # (reported by _check_listing as an unexpected folder)
        if entry.is_symlink():
            report.problems.append(f"{entry.path}: symbolic link, not written by flowsynth")
        elif is_temp_name(entry.name):
            report.problems.append(f"{entry.path}: stale temporary file of an interrupted run")
        elif entry.is_dir():
            if relative not in folders:
                report.problems.append(f"{entry.path}: unexpected folder")
        elif relative not in expected:
            report.problems.append(f"{entry.path}: extra file, in no manifest")


def check_file(path: Path, record: dict[str, Any], quick: bool) -> list[str]:
    """Problems of one listed file (empty if it is as recorded)."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return [f"{path}: missing"]
    if not stat.S_ISREG(status.st_mode):
        return [f"{path}: not a regular file (a symbolic link or a folder)"]
    size, problems = status.st_size, []
    if size != record["bytes"]:
        problems.append(f"{path}: {size} bytes, the manifest says {record['bytes']} (truncated?)")
    elif not quick and sha256_file(path) != record["sha256"]:
        problems.append(f"{path}: corrupt (sha256 differs from the manifest)")
    if "members" in record and (problems or quick):
        problems += _check_members(path, record["members"], hashes=not quick)
    return problems


def _check_listed(out: Path, name: str, record: dict[str, Any], quick: bool) -> list[str]:
    """:func:`check_file` of a listed name, after checking that the folders on its way are
    real folders (a tree's files lie below ``training/`` or ``FlyingThings3D/``)."""
    path = out / name
    if "/" in name:
        try:
            if not safe_folder(out, path.parent, create=False):
                return [f"{path}: missing"]
        except FileFormatError as error:
            return [str(error)]
    return check_file(path, record, quick)


def _check_members(path: Path, members: dict[str, Any], *, hashes: bool) -> list[str]:
    """Name the missing, extra or altered members of a shard."""
    recorded: dict[str, Any] = next(iter(members.values()), {})
    checksum = "sha256" if "sha256" in recorded else MEMBER_CHECKSUM  # older manifests: sha256
    try:
        if hashes:
            found = member_digests(path, checksum)
        else:
            found = {m.name: {"bytes": m.size} for m in shard_members(path)}
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
    if (start or 0) < 0 or (count or 0) < 0:
        raise ValueError(f"start and count must be >= 0, got {start} and {count}")
    folder = Path(out)
    if not folder.is_dir():
        raise FileNotFoundError(f"no dataset folder {folder}")
    report = VerifyReport(folder)
    if not _check_metadata(folder, report):
        return report
    expected, chunks = _collect(folder, report)
    _check_listing(folder, expected, report)
    names = sorted(expected)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for found in pool.map(lambda n: _check_listed(folder, n, expected[n], quick), names):
            report.problems += found
    coverage = Coverage(chunks)
    report.ranges = coverage.ranges()
    report.chunks, report.files = len(chunks), len(expected)
    report.bytes = sum(record["bytes"] for record in expected.values())
    if count is not None:
        report.problems += _missing_samples(coverage, start or 0, count)
    return report


def _missing_samples(coverage: Coverage, start: int, count: int) -> list[str]:
    """The requested samples no chunk covers, counted from the covered ranges (any count)."""
    gaps, position, stop = [], start, start + count
    for first, end in coverage.ranges():
        if end <= position:
            continue
        if first >= stop:
            break
        if first > position:
            gaps.append((position, first))
        position = max(position, end)
    if position < stop:
        gaps.append((position, stop))
    if not gaps:
        return []
    missing = sum(b - a for a, b in gaps)
    shown: list[int] = []
    for a, b in gaps:
        shown += range(a, min(b, a + 20 - len(shown)))
    text = ", ".join(map(str, shown)) + (" ..." if missing > len(shown) else "")
    return [f"{missing} requested samples have no finished chunk: {text}"]
