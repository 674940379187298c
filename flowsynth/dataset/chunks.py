"""One chunk of a dataset, rendered and written by a worker, then recorded in its manifest.

A ``ChunkTask`` holds plain values only (the resolved recipe as a dict, absolute paths), so it
travels to loky processes and Dask workers alike; the worker rebuilds the recipe, checks its
hash, writes the chunk's files atomically and its manifest last, and returns only that small
record.
"""

from __future__ import annotations

import functools
import json
import platform
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth import __version__
from flowsynth.dataset.kinds import sample_encoder
from flowsynth.io.layout import (
    DatasetMismatchError,
    write_encoded,
)
from flowsynth.io.manifest import Chunk, write_manifest
from flowsynth.io.pagecache import DropBehind
from flowsynth.io.shards import ShardWriter, shard_name
from flowsynth.recipe.fields import recipe_hash
from flowsynth.recipe.load import from_mapping
from flowsynth.recipe.schema import ElasticRecipe, FlowRecipe


def library_versions() -> dict[str, str]:
    """The versions that decide the bytes written: Python, numpy, OpenCV, ISA-L (PNG deflate)."""
    import isal

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": _opencv_version(),
        "isal": str(isal.__version__),
    }


def _opencv_version() -> str:
    import cv2

    return str(cv2.__version__)


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to write one chunk: plain values, no cwd-relative paths."""

    recipe: dict[str, Any]  # the resolved recipe (``to_dict``), rebuilt in the worker
    recipe_hash: str
    seed: int
    first: int
    count: int
    out: str  # absolute
    layout: str
    chunk_size: int
    compression: int = 1
    textures: str | None = None  # absolute folder of texture images
    examples: tuple[str, str] | None = None  # absolute image and label folders (elastic)
    threads: int | None = None  # OpenCV threads in the worker (None: leave alone)
    tree: str | None = None  # the tree of a files layout (``"flyingthings3d"``), if any

    def load_recipe(self) -> FlowRecipe | ElasticRecipe:
        """The recipe, rebuilt from its resolved dict (cached per process) and hash-checked."""
        # Key order matters (weights tables are drawn in order), so no sort_keys here.
        return _recipe(json.dumps(self.recipe), self.recipe_hash)


@functools.lru_cache(maxsize=4)
def _recipe(text: str, expected_hash: str) -> FlowRecipe | ElasticRecipe:
    recipe: FlowRecipe | ElasticRecipe = from_mapping(json.loads(text))
    if recipe_hash(recipe) != expected_hash:
        raise DatasetMismatchError("the recipe rebuilt in a worker has another hash")
    return recipe


def write_chunk(task: ChunkTask) -> dict[str, Any]:
    """Render and write one chunk, then its manifest; returns the manifest's contents.

    Runs in a worker: the files are written here and only the small record travels back.
    """
    if task.threads is not None:
        import cv2

        cv2.setNumThreads(task.threads)
    encode = sample_encoder(
        task.load_recipe(),
        task.seed,
        compression=task.compression,
        textures=task.textures,
        examples=task.examples,
        tree=task.tree,
    )
    out, chunk = Path(task.out), Chunk(task.first, task.count)
    if task.layout == "files":
        files = _write_files(out, chunk.indices, encode)
    else:
        name = shard_name(task.first // task.chunk_size)
        identity = {"seed": task.seed, "recipe_hash": task.recipe_hash}
        with ShardWriter(out / name, root=out) as shard:
            for index in chunk.indices:
                fields = encode(index)
                fields["json"] = json.dumps({"index": index, **identity}, sort_keys=True).encode()
                shard.add_sample(index, fields)
        files = {name: shard.record}
    record = {
        "flowsynth": __version__,
        "layout": task.layout,
        "seed": task.seed,
        "recipe_hash": task.recipe_hash,
        "versions": library_versions(),  # of this worker: clusters may mix environments
        "compression": task.compression,  # so that a repair writes the same bytes
        "files": files,
    }
    if task.tree is not None:
        record["tree"] = task.tree
    write_manifest(out, chunk, record)
    return {**record, "first": chunk.first, "count": chunk.count}


def _write_files(
    out: Path, indices: Iterable[int], encode: Callable[[int], dict[str, bytes]]
) -> dict[str, Any]:
    """Write each sample's encoded files (per-file layout), each sample dropped behind the next
    (:mod:`flowsynth.io.pagecache`); returns their file records."""
    records: dict[str, Any] = {}
    with DropBehind() as behind:
        for index in indices:
            records.update(write_encoded(out, index, encode(index), behind))
            behind.step()
    return records
