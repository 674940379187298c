"""The on-disk layout of flow datasets: FlyingChairs2-style files, one set per sample.

``DIR/{i:07d}-img_0.png``, ``-img_1.png`` (RGB), ``-flow_01.flo``, ``-flow_10.flo`` (Middlebury),
``-occ_01.png``, ``-occ_10.png``, ``-mb_01.png``, ``-mb_10.png`` (0/255 masks, 255 = occluded or
boundary), ``-seg_0.png``, ``-seg_1.png`` (16-bit instance ids, 0 = background), so that
FlyingChairs2 loaders read them unchanged. ``DIR/flowsynth.json`` describes the dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.flo import encode_flo
from flowsynth.io.images import encode_png
from flowsynth.io.pagecache import DropBehind

#: File suffix -> (sample field, kind of encoding), in writing order.
FLOW_FILES: dict[str, tuple[str, str]] = {
    "img_0.png": ("image1", "png"),
    "img_1.png": ("image2", "png"),
    "flow_01.flo": ("flow", "flo"),
    "flow_10.flo": ("flow_backward", "flo"),
    "occ_01.png": ("occlusion", "png"),
    "occ_10.png": ("occlusion_backward", "png"),
    "mb_01.png": ("motion_boundary", "png"),
    "mb_10.png": ("motion_boundary_backward", "png"),
    "seg_0.png": ("segmentation1", "png"),
    "seg_1.png": ("segmentation2", "png"),
}

METADATA_NAME = "flowsynth.json"


class DatasetMismatchError(RuntimeError):
    """An output folder holds a dataset made from another recipe, seed, layout or chunk size."""


def file_name(index: int, suffix: str) -> str:
    """``0000042-img_0.png`` for sample 42."""
    return f"{index:07d}-{suffix}"


def encode_fields(
    fields: dict[str, np.ndarray], files: dict[str, tuple[str, str]], compression: int
) -> dict[str, bytes]:
    """Encode a sample's fields: file suffix -> bytes."""
    encoders: dict[str, Callable[[np.ndarray], bytes]] = {
        "png": lambda a: encode_png(a, compression),
        "flo": encode_flo,
    }
    return {suffix: encoders[kind](fields[name]) for suffix, (name, kind) in files.items()}


def write_encoded(
    directory: Path,
    index: int,
    encoded: dict[str, bytes],
    drop_behind: DropBehind | None = None,
) -> dict[str, Any]:
    """Write one sample's files atomically; returns ``{name: {"sha256", "bytes"}}``.

    With ``drop_behind``, the files leave the page cache once written back (its ``step`` is the
    caller's, after each sample). A symbolic link under a sample's name, or one in place of
    the folder, is refused (:class:`~flowsynth.io.errors.UnsafePathError`).
    """
    records = {}
    for suffix, data in encoded.items():
        name = file_name(index, suffix)
        atomic_write_bytes(directory / name, data, drop_behind=drop_behind, root=directory)
        records[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return records
