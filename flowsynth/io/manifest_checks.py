"""Checks of untrusted manifests against their chunk and the dataset's ``flowsynth.json``.

A manifest (see :mod:`flowsynth.io.manifest`) counts only if it lists exactly the files (and,
for shards, the members) of its chunk, each with a well-formed size and digest, and if its seed,
recipe hash and layout agree with the dataset's metadata. The names a chunk must list are
counted before any is built, so what a check allocates stays bounded by the manifest's own size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowsynth.io.layout import FLOW_FILES, file_name
from flowsynth.io.shards import MEMBER_CHECKSUM, member_name, shard_name

if TYPE_CHECKING:  # manifest.py imports this module: Chunk is named for the annotations only
    from flowsynth.io.manifest import Chunk

_HEX = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "crc32": re.compile(r"^[0-9a-f]{8}$")}


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def expected_names(meta: dict[str, Any], chunk: Chunk) -> tuple[set[str], set[str]]:
    """File names a chunk's manifest must list, and (for shards) its member names.

    ``meta`` is a checked ``flowsynth.json`` (layout, the sample ``files``, ``chunk_size``).
    """
    suffixes = meta.get("files") or list(FLOW_FILES)
    if meta["layout"] == "files":
        return {file_name(i, s) for i in chunk.indices for s in suffixes}, set()
    members = {member_name(i, s) for i in chunk.indices for s in [*suffixes, "json"]}
    return {shard_name(chunk.first // meta["chunk_size"])}, members


def _record_problem(record: Any, keys: tuple[str, ...]) -> str | None:
    """What is wrong with a ``{"bytes", checksum}`` record, or None."""
    if not isinstance(record, dict):
        return f"record {record!r:.40} is not a JSON object"
    if not _is_size(record.get("bytes")):
        return f"'bytes' {record.get('bytes')!r:.40} is not a size"
    for key in keys:
        if not isinstance(record.get(key), str) or not _HEX[key].match(record[key]):
            return f"{key!r} {record.get(key)!r:.80} is not a {key} digest"
    return None


def listing_problem(data: dict[str, Any], chunk: Chunk, meta: dict[str, Any]) -> str | None:
    """What is wrong with the names and records a manifest (read by :func:`read_manifest`)
    lists for ``chunk`` of the dataset ``meta`` describes, or None."""
    files, shards = data["files"], meta["layout"] == "shards"
    size: int = meta["chunk_size"] if shards else 1  # a checked metadata: int >= 1 for shards
    if shards and chunk.first // size != (chunk.stop - 1) // size:
        return f"chunk crosses a shard boundary (shards of {size})"
    per_sample = len(meta.get("files") or FLOW_FILES)
    span = f"samples {chunk.first}-{chunk.stop - 1}"
    # Counted before any name is built: memory stays bounded by the manifest's own size.
    if len(files) != (1 if shards else chunk.count * per_sample):
        return f"lists {len(files)} files, not exactly the files of {span}"
    names, members = expected_names(meta, chunk)
    if set(files) != names:
        return f"does not list exactly the files of {span}"
    for name, record in files.items():
        why = _record_problem(record, ("sha256",))
        if why is None and shards:
            why = _members_problem(record.get("members"), members)
        elif why is None and "members" in record:
            why = "a file of the per-file layout has 'members'"
        if why is not None:
            return f"{name}: {why}"
    return None


def _members_problem(table: Any, expected: set[str]) -> str | None:
    if not isinstance(table, dict) or len(table) != len(expected) or set(table) != expected:
        return f"does not list exactly the members of its samples (members {str(table):.40})"
    first: Any = next(iter(table.values()), {})
    checksum = "sha256" if isinstance(first, dict) and "sha256" in first else MEMBER_CHECKSUM
    for name, record in table.items():
        why = _record_problem(record, (checksum,))
        if why is not None:
            return f"member {name}: {why}"
    return None


def manifest_problems(
    path: Path, data: dict[str, Any], chunk: Chunk, meta: dict[str, Any]
) -> list[str]:
    """What makes a manifest (read by :func:`read_manifest`) untrustworthy for ``chunk`` of the
    dataset described by ``meta`` (a checked ``flowsynth.json``); empty if nothing does."""
    problems = [
        f"{path}: {key} {data.get(key)!r:.80} differs from the dataset's {meta.get(key)!r:.80}"
        for key in ("seed", "recipe_hash", "layout")
        if data.get(key) != meta.get(key)
    ]
    why = listing_problem(data, chunk, meta)
    return problems if why is None else [*problems, f"{path}: {why}"]
