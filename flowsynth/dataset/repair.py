"""Repair a generated dataset: write again exactly the chunks whose files are damaged.

A sample is a pure function of (recipe, seed, index), and ``DIR/flowsynth.json`` records the
resolved recipe, the seed, the layout, the chunk size and the input folders; each manifest
records the PNG compression its chunk was written with. So a chunk with a missing, cut or
altered file (or an unreadable manifest) is rewritten byte for byte as the first run wrote it:
its manifest is deleted, which makes it an unfinished chunk, and ``generate_dataset`` writes it
again. Files in no manifest that are not flowsynth's sample files are never deleted.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowsynth.dataset.verify import check_file, verify_dataset
from flowsynth.io.atomic import safe_unlink
from flowsynth.io.errors import FileFormatError
from flowsynth.io.layout import sample_of_path, walk_tree_files
from flowsynth.io.lock import folder_lock
from flowsynth.io.manifest import Chunk, list_manifests, read_manifest
from flowsynth.io.manifest_checks import manifest_problems
from flowsynth.recipe.load import from_mapping

__all__ = ["RepairSummary", "complete_dataset", "damaged_chunks", "repair_dataset"]

_SAMPLE_FILE = re.compile(r"^(\d+)-(.+)$")
_SHARD_FILE = re.compile(r"^shard-(\d+)\.tar$")
DEFAULT_COMPRESSION = 1


@dataclass(frozen=True)
class RepairSummary:
    """What :func:`repair_dataset` rewrote."""

    chunks: list[Chunk]
    samples: int


def _meta_of(out: Path) -> dict[str, Any]:
    """The checked ``flowsynth.json``, or ``ValueError`` saying why the folder cannot be
    repaired."""
    report = verify_dataset(out, quick=True)
    meta = report.meta
    needed = ("recipe", "recipe_hash", "seed", "layout", "chunk_size")
    if (
        not meta
        or any(meta.get(k) is None for k in needed)
        or any("flowsynth.json" in p for p in report.problems)
    ):
        why = next((p for p in report.problems if "flowsynth.json" in p), "it lacks chunk_size")
        raise ValueError(f"cannot repair {out}: its flowsynth.json is not usable ({why})")
    return meta


def damaged_chunks(out: Path, meta: dict[str, Any]) -> dict[Chunk, int | None]:
    """The chunks of ``out`` to write again -> the compression they were written with (None:
    unknown): chunks whose manifest is untrusted or lists a missing, cut or altered file, and
    runs of sample files (pairs', sequences' or a tree's) that no manifest lists (a deleted
    manifest)."""
    damaged: dict[Chunk, int | None] = {}
    listed: set[str] = set()
    for chunk, path in list_manifests(out).items():
        try:
            data = read_manifest(path)
        except FileFormatError:
            damaged[chunk] = None
            continue
        level = data.get("compression")
        level = level if isinstance(level, int) and 0 <= level <= 9 else None
        if manifest_problems(path, data, chunk, meta):
            damaged[chunk] = level
            continue
        listed.update(data["files"])
        if any(check_file(out / name, record, False) for name, record in data["files"].items()):
            damaged[chunk] = level
    for chunk in _orphan_chunks(out, meta, listed):
        damaged.setdefault(chunk, None)
    return dict(sorted(damaged.items()))


def _orphan_chunks(out: Path, meta: dict[str, Any], listed: set[str]) -> list[Chunk]:
    """Chunks of the sample files (or shards) no manifest lists: per aligned block, the span
    of the indices found."""
    size, suffixes = meta["chunk_size"], set(meta.get("files") or ())
    spans: dict[int, tuple[int, int]] = {}

    def add(index: int) -> None:
        low, high = spans.get(index // size, (index, index))
        spans[index // size] = (min(low, index), max(high, index))

    if meta["layout"] == "files":
        for relative, entry in walk_tree_files(out):
            sample = sample_of_path(relative)
            if relative in listed or not entry.is_file(follow_symlinks=False) or sample is None:
                continue
            if not suffixes or sample[1] in suffixes:
                add(sample[0])
    for entry in os.scandir(out):
        if entry.name in listed or not entry.is_file(follow_symlinks=False):
            continue
        if meta["layout"] == "files":
            match = _SAMPLE_FILE.match(entry.name)
            if match is None or (suffixes and match[2] not in suffixes):
                continue
            add(int(match[1]))
        elif (match := _SHARD_FILE.match(entry.name)) is not None:
            block = int(match[1])
            spans[block] = (block * size, (block + 1) * size - 1)  # a shard holds whole blocks
    return [Chunk(low, high - low + 1) for low, high in spans.values()]


def repair_dataset(
    out: str | os.PathLike[str],
    *,
    textures: str | os.PathLike[str] | None = None,
    examples: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    compression: int | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> RepairSummary:
    """Write again every damaged chunk of the dataset in ``out``, as the first run wrote it.

    Parameters
    ----------
    out : path
        A dataset folder with a usable ``flowsynth.json``.
    textures, examples : path, (path, path), optional
        The texture folder, or the example image and label folders, if they moved since the
        dataset was written (default: the folders ``flowsynth.json`` records).
    compression : int, optional
        PNG level for chunks whose manifest does not say (default: the level most manifests
        record, else 1).
    workers : int, optional
        Worker processes.

    Raises
    ------
    ValueError
        If ``flowsynth.json`` is missing or unusable, or a recorded input folder is gone.
    """
    folder = Path(out).resolve()
    meta = _meta_of(folder)
    inputs = _inputs(folder, meta, textures, examples)
    with folder_lock(folder):
        damaged = damaged_chunks(folder, meta)
        fallback = _fallback_level(folder, compression)
        for chunk, path in list_manifests(folder).items():
            if chunk in damaged:
                safe_unlink(folder, path, missing_ok=True)
    for chunk, level in damaged.items():
        level = fallback if level is None else level
        _write(folder, meta, chunk.first, chunk.count, level, inputs, workers, progress)
    return RepairSummary(list(damaged), sum(chunk.count for chunk in damaged))


def complete_dataset(
    out: str | os.PathLike[str],
    *,
    start: int,
    count: int,
    textures: str | os.PathLike[str] | None = None,
    examples: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    compression: int | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> None:
    """Write the samples of ``[start, start + count)`` that no chunk of ``out`` holds, with
    the recipe, seed, layout and inputs its ``flowsynth.json`` records."""
    folder = Path(out).resolve()
    meta = _meta_of(folder)
    inputs = _inputs(folder, meta, textures, examples)
    level = _fallback_level(folder, compression)
    _write(folder, meta, start, count, level, inputs, workers, progress)


_Inputs = tuple[Any, Any]


def _inputs(
    folder: Path,
    meta: dict[str, Any],
    textures: str | os.PathLike[str] | None,
    examples: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None,
) -> _Inputs:
    """The texture folder and example folders to use: those given, else those recorded; each
    must exist."""
    textures = textures if textures is not None else meta.get("texture_folder")
    if examples is None and meta.get("examples"):
        examples = (meta["examples"][0], meta["examples"][1])
    for path in [textures, *(examples or ())]:
        if path is not None and not Path(path).is_dir():
            raise ValueError(
                f"cannot repair {folder}: its input folder {path} does not exist; pass where it "
                "is now (--textures, or --images and --labels)"
            )
    return textures, examples


def _fallback_level(folder: Path, compression: int | None) -> int:
    """The PNG level for chunks whose manifest does not record one."""
    if compression is not None:
        return compression
    levels = [level for level in _recorded_levels(folder) if level is not None]
    return Counter(levels).most_common(1)[0][0] if levels else DEFAULT_COMPRESSION


def _write(
    folder: Path,
    meta: dict[str, Any],
    start: int,
    count: int,
    compression: int,
    inputs: _Inputs,
    workers: int | None,
    progress: bool,
) -> None:
    # numba kernels load on import: only a repair that renders pays for them.
    from flowsynth.dataset.write import generate_dataset, layout_option

    generate_dataset(
        from_mapping(meta["recipe"]),
        meta["seed"],
        folder,
        count=count,
        start=start,
        layout=layout_option(meta),
        chunk_size=meta["chunk_size"],
        compression=compression,
        textures=inputs[0],
        examples=inputs[1],
        executor="serial" if workers == 1 else "loky",
        workers=workers,
        progress=progress,
    )


def _recorded_levels(out: Path) -> list[int | None]:
    levels: list[int | None] = []
    for path in list_manifests(out).values():
        try:
            level = read_manifest(path).get("compression")
        except FileFormatError:
            continue
        levels.append(level if isinstance(level, int) and 0 <= level <= 9 else None)
    return levels
