"""Generate flow datasets to disk: sample i of a recipe is a pure function of (recipe, seed, i).

Data flows one way: recipe -> ``scene_for_index`` -> ``render`` -> encode -> write. The unit of
work is a chunk of consecutive indices, written by whoever renders it; only small records
(file names, sizes, sha256) come back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from flowsynth import __version__
from flowsynth.dataset.card import write_card
from flowsynth.dataset.chunks import ChunkTask, library_versions, write_chunk
from flowsynth.dataset.kinds import cached_examples, sample_files
from flowsynth.dataset.parallel import available_cores, open_executor
from flowsynth.io.atomic import atomic_write_bytes, check_entry, safe_unlink
from flowsynth.io.layout import FLOW_FILES, METADATA_NAME, TREES, DatasetMismatchError
from flowsynth.io.lock import folder_lock
from flowsynth.io.manifest import (
    MAX_CHUNK_SIZE,
    Chunk,
    ResumePlan,
    check_chunk_count,
    plan_resume,
    unfinished_files,
)
from flowsynth.recipe.fields import RecipeError, recipe_hash, to_dict
from flowsynth.recipe.schema import ElasticRecipe, FlowRecipe

__all__ = ["GenerationSummary", "generate_dataset", "metadata", "prepare_output"]

#: ``layout`` values: per-file, tar shards, and the trees of per-file layouts
#: (:data:`flowsynth.io.layout.TREES`).
LAYOUTS = ("files", "shards", *TREES)
DEFAULT_CHUNK_SIZE = 64


def storage_of(layout: str) -> tuple[str, str | None]:
    """``(layout recorded in flowsynth.json and the manifests, tree or None)`` of a ``layout``
    value: a tree (``"flyingthings3d"``) is stored as ``("files", tree)``."""
    return ("files", layout) if layout in TREES else (layout, None)


def layout_option(meta: dict[str, Any]) -> str:
    """The ``layout`` value (``--format``) that wrote the dataset ``meta`` describes."""
    tree = meta.get("tree")
    return tree if isinstance(tree, str) else str(meta.get("layout"))


def metadata(
    recipe: FlowRecipe | ElasticRecipe,
    seed: int,
    *,
    layout: str = "files",
    textures: Path | None = None,
    chunk_size: int | None = None,
    files: Sequence[str] = tuple(FLOW_FILES),
    examples: tuple[Path, Path] | None = None,
) -> dict[str, Any]:
    """What ``flowsynth.json`` records: the resolved recipe, its hash, seed, layout and versions.

    ``layout`` is ``"files"`` (one file per field), ``"shards"`` (tar shards) or a tree of
    files (``"flyingthings3d"``, recorded as ``"layout": "files"`` and ``"tree"``);
    ``chunk_size`` is the number of samples per chunk (and per shard); ``files`` the entries of
    one sample's files; ``examples`` the image and label folders of an elastic dataset.
    """
    layout, tree = storage_of(layout)
    meta = {
        "flowsynth": __version__,
        "chunk_size": chunk_size,
        "recipe": to_dict(recipe),
        "recipe_hash": recipe_hash(recipe),
        "seed": seed,
        "layout": layout,
        "texture_folder": None if textures is None else str(textures),
        "examples": None if examples is None else [str(p) for p in examples],
        "files": list(files),
        "versions": library_versions(),
    }
    if tree is not None:
        meta["tree"] = tree
    return meta


def _identity(meta: dict[str, Any]) -> dict[str, Any]:
    """What decides a dataset's bytes: recipe, seed, layout (and tree) and the flowsynth
    version (releases may render or encode differently; one folder must not mix them)."""
    return {k: meta.get(k) for k in ("recipe_hash", "seed", "layout", "tree", "flowsynth")}


def prepare_output(out: Path, meta: dict[str, Any]) -> None:
    """Create ``out`` and its ``flowsynth.json``, or check that an existing one matches."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / METADATA_NAME
    check_entry(out, path)  # a symbolic link is refused, never read or written through
    if path.exists():
        try:
            existing = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as error:
            raise DatasetMismatchError(
                f"{path} is unreadable ({error}); refusing to write into {out}"
            ) from error
        if not isinstance(existing, dict):
            raise DatasetMismatchError(f"{path} is not a JSON object; refusing to write into {out}")
        if _identity(existing) != _identity(meta):
            raise DatasetMismatchError(
                f"{out} holds another dataset: {_differences(existing, meta)}; use another --out "
                "folder (or the same recipe, --set values and --seed) instead of mixing datasets"
            )
        return
    # No sort_keys: the order of a recipe's weight tables changes what is drawn, so the
    # recorded recipe keeps its order (recipe_hash does not see it).
    atomic_write_bytes(path, (json.dumps(meta, indent=2) + "\n").encode(), root=out)


def _differences(existing: dict[str, Any], meta: dict[str, Any]) -> str:
    """Which of recipe, seed, layout and version differ, in words, hashes cut to 12 digits."""
    words = {
        "recipe_hash": "recipe",
        "seed": "seed",
        "layout": "layout",
        "tree": "tree",
        "flowsynth": "version",
    }
    parts = []
    for key, word in words.items():
        found, wanted = existing.get(key), meta.get(key)
        if found != wanted:
            if key == "recipe_hash":
                found, wanted = str(found)[:12], str(wanted)[:12]
            if key == "tree":  # none: flat files (or Sintel's tree, which the entries name)
                found, wanted = found or "none", wanted or "none"
            parts.append(f"its {word} is {str(found)[:40]}, this run's {wanted}")
    return "; ".join(parts)


# ------------------------------------------------------------------------ whole datasets


@dataclass(frozen=True)
class GenerationSummary:
    """What a :func:`generate_dataset` call did."""

    out: Path
    requested: int  # samples in the requested range
    written: int  # samples rendered and written by this call
    chunks_written: int
    chunks_skipped: int  # already finished (resumed)
    bytes_written: int
    seconds: float
    removed_files: int  # stale temporary files and files of unfinished chunks

    @property
    def samples_per_second(self) -> float:
        """Samples written per second of wall time."""
        return self.written / max(self.seconds, 1e-9)


def _read_metadata(out: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((out / METADATA_NAME).read_text())
    except (OSError, ValueError, RecursionError):
        return None  # prepare_output reports unreadable files
    return meta if isinstance(meta, dict) else None


def _check_chunk_size(out: Path, existing: dict[str, Any] | None, requested: int) -> None:
    recorded = None if existing is None else existing.get("chunk_size")
    if existing and existing.get("layout") == "shards" and recorded and recorded != requested:
        raise DatasetMismatchError(
            f"the shards in {out} hold {recorded} samples each; resume with --chunk-size "
            f"{recorded} (or leave it out), since one shard is one chunk"
        )


def generate_dataset(
    recipe: FlowRecipe | ElasticRecipe,
    seed: int,
    out: str | os.PathLike[str],
    *,
    count: int,
    start: int = 0,
    layout: str = "files",
    chunk_size: int | None = None,
    compression: int = 1,
    textures: str | os.PathLike[str] | None = None,
    examples: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
    executor: Any = "loky",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> GenerationSummary:
    """Write samples ``[start, start + count)`` of ``recipe`` to ``out``, resuming if needed.

    Work is split into chunks aligned to multiples of ``chunk_size``; each is rendered and
    written by a worker, then recorded in a manifest. Chunks already recorded are skipped, so
    re-running an interrupted call completes the dataset. The bytes written do not depend on
    the executor, the number of workers or the order in which chunks finish. The body is a
    sequence of named steps (check, plan, make tasks, run them); its length is this docstring's
    parameter list.

    Parameters
    ----------
    recipe : FlowRecipe
        The resolved recipe; workers rebuild it from ``to_dict(recipe)``.
    seed : int
        The dataset seed.
    out : path
        Output folder (created); holds ``flowsynth.json``, the data, ``manifest/`` and the
        dataset card ``README.md`` (:mod:`flowsynth.dataset.card`).
    count, start : int
        Number of samples and the first index.
    layout : {"files", "shards", "flyingthings3d"}
        FlyingChairs2-style files (sequences: Sintel's tree), WebDataset tar shards (one per
        chunk), or (stereo recipes) FlyingThings3D's tree
        (:func:`flowsynth.io.layout.flyingthings3d_files`).
    chunk_size : int, optional
        Samples per chunk (and per shard); default: the folder's, else 64.
    compression : int
        PNG zlib level 0-9.
    textures : path, optional
        Folder of images for the ``folder`` texture kind.
    examples : (path, path), optional
        Folders of example images and labels, for an elastic recipe.
    executor : str or distributed.Client or Executor
        See :func:`flowsynth.dataset.parallel.open_executor` (``"loky"``, ``"serial"``, ``"dask"``).
    workers : int, optional
        Worker processes on this machine (default: all cores, at most one per chunk).
    scheduler : str, optional
        Dask scheduler address, with ``executor="dask"``.
    progress : bool
        Show a progress bar over samples on stderr.

    Raises
    ------
    DatasetMismatchError
        If ``out`` holds a dataset of another recipe, seed, layout, tree or shard size.
    ValueError
        An unknown ``layout``, or a tree (``"flyingthings3d"``) for a recipe that is not stereo.
    RecipeError
        Shards of a sequence recipe (``frames`` > 2).
    FolderBusyError
        If another process is writing into ``out`` (see :mod:`flowsynth.io.lock`).
    """
    _check_arguments(layout, count, start, seed)  # (before anything is written into out)
    _check_kind(recipe, layout)
    began = time.perf_counter()
    out = Path(out).resolve()  # workers may run elsewhere, with another working directory
    folder, pairs = _resolve_inputs(recipe, textures, examples)
    suffixes = sample_files(
        recipe,
        cached_examples((str(pairs[0]), str(pairs[1]))) if pairs else (),
        tree=storage_of(layout)[1],
    )
    existing = _read_metadata(out)
    size = _chunk_size(chunk_size, existing)
    check_chunk_count(start, count, size)  # refuse absurd bookkeeping before writing anything
    meta = metadata(
        recipe,
        seed,
        layout=layout,
        textures=folder,
        chunk_size=size,
        files=suffixes,
        examples=pairs,
    )
    with folder_lock(out):
        plan = _plan_chunks(out, meta, existing, start, count, suffixes)
        tasks = _chunk_tasks(recipe, meta, out, compression, plan)
        bytes_written, written = _run_chunks(
            tasks, plan, count, executor, workers, scheduler, progress
        )
        write_card(out, _read_metadata(out) or meta)
        return GenerationSummary(
            out=out,
            requested=count,
            written=written,
            chunks_written=len(tasks),
            chunks_skipped=plan.skipped,
            bytes_written=bytes_written,
            seconds=time.perf_counter() - began,
            removed_files=len(plan.removed),
        )


def _check_arguments(layout: str, count: int, start: int, seed: int) -> None:
    """Refuse an unknown layout and a negative count, start or seed, before any work."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if count < 0 or start < 0:
        raise ValueError(f"count and start must be >= 0, got {count} and {start}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")


def _check_kind(recipe: FlowRecipe | ElasticRecipe, layout: str) -> None:
    """Refuse a sequence recipe (``frames`` > 2) for shards, which hold pairs (sequences are
    written in Sintel's tree, :func:`flowsynth.io.layout.sequence_files`), and a tree of
    stereo files (``flyingthings3d``) for anything but a stereo recipe."""
    stereo = isinstance(recipe, FlowRecipe) and recipe.stereo.enabled
    if layout in TREES and not stereo:
        what = "an elastic" if isinstance(recipe, ElasticRecipe) else "a flow"
        raise ValueError(
            f"--format {layout}: FlyingThings3D's tree holds rectified stereo pairs, and this is "
            f"{what} recipe (stereo.enabled is false); use a stereo recipe (recipes/stereo), or "
            "--format files or shards"
        )
    if isinstance(recipe, FlowRecipe) and recipe.frames > 2 and layout != "files":
        raise RecipeError(
            f"frames: this recipe describes sequences of {recipe.frames} frames, which are "
            f"written in the files layout (MPI Sintel's tree) only, not as {layout}; use "
            "--format files, or --set frames=2 for pairs"
        )


def _resolve_inputs(
    recipe: FlowRecipe | ElasticRecipe,
    textures: str | os.PathLike[str] | None,
    examples: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None,
) -> tuple[Path | None, tuple[Path, Path] | None]:
    """The texture folder and the example image and label folders as absolute paths (workers
    may run with another working directory); an elastic recipe must have examples."""
    folder = None if textures is None else Path(textures).resolve()
    pairs = None if examples is None else (Path(examples[0]).resolve(), Path(examples[1]).resolve())
    if isinstance(recipe, ElasticRecipe) and pairs is None:
        raise ValueError("an elastic recipe needs folders of example images and labels")
    return folder, pairs


def _chunk_size(requested: int | None, existing: dict[str, Any] | None) -> int:
    """Samples per chunk: the one asked for, else the folder's recorded one, else the default."""
    size = requested if requested is not None else (existing or {}).get("chunk_size")
    size = size or DEFAULT_CHUNK_SIZE
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk size must be an integer in [1, {MAX_CHUNK_SIZE}], got {size!r}")
    return size


def _plan_chunks(
    out: Path,
    meta: dict[str, Any],
    existing: dict[str, Any] | None,
    start: int,
    count: int,
    suffixes: Sequence[str],
) -> ResumePlan:
    """Under the folder lock: record or check ``flowsynth.json``, plan which chunks are left to
    write, and delete the files of chunks this version started but did not finish (so that
    resumed chunks are written whole)."""
    layout, size = meta["layout"], meta["chunk_size"]
    prepare_output(out, meta)
    _check_chunk_size(out, existing, size)
    plan = plan_resume(out, start, count, size, whole_blocks=layout == "shards", meta=meta)
    if existing is not None and existing.get("chunk_size"):  # made by this version: ours
        keep = [*plan.finished, *(chunk for chunk, _ in plan.todo)]
        for path in unfinished_files(out, layout, size, keep, suffixes):
            safe_unlink(out, path, missing_ok=True)
            plan.removed.append(path)
    return plan


def _chunk_tasks(
    recipe: FlowRecipe | ElasticRecipe,
    meta: dict[str, Any],
    out: Path,
    compression: int,
    plan: ResumePlan,
) -> list[ChunkTask]:
    """One task per chunk left to write: plain values and absolute paths (from ``meta``, the
    dataset's resolved ``flowsynth.json``), so that a worker anywhere can write it."""
    examples = meta["examples"]
    return [
        ChunkTask(
            recipe=to_dict(recipe),
            recipe_hash=recipe_hash(recipe),
            seed=meta["seed"],
            first=chunk.first,
            count=chunk.count,
            out=str(out),
            layout=meta["layout"],
            chunk_size=meta["chunk_size"],
            compression=compression,
            textures=meta["texture_folder"],
            examples=None if examples is None else (examples[0], examples[1]),
            tree=meta.get("tree"),
        )
        for chunk, _ in plan.todo
    ]


def _run_chunks(
    tasks: list[ChunkTask],
    plan: ResumePlan,
    count: int,
    executor: Any,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
) -> tuple[int, int]:
    """Write ``tasks`` on an executor, in whatever order they finish, deleting the files each
    finished chunk supersedes; returns ``(bytes written, samples written)``."""
    requested = {chunk.first: wanted for chunk, wanted in plan.todo}
    bytes_written = written = 0
    bar = tqdm(
        total=count,
        initial=count - sum(requested.values()),
        unit="pair",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    with bar, contextlib.ExitStack() as stack:
        if tasks:
            pool_size = min(workers or available_cores(), len(tasks))
            pool = stack.enter_context(
                open_executor(executor, workers=pool_size, scheduler=scheduler)
            )
            tasks = [dataclasses.replace(task, threads=pool.worker_threads) for task in tasks]
            for result in pool.map_unordered(write_chunk, tasks):
                new = Chunk(result["first"], result["count"])
                for path in plan.replaced_by(new):
                    safe_unlink(Path(tasks[0].out), path, missing_ok=True)
                bytes_written += sum(f["bytes"] for f in result["files"].values())
                written += new.count
                bar.update(requested[new.first])
    return bytes_written, written
