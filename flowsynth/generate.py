"""Generate flow datasets to disk: sample i of a recipe is a pure function of (recipe, seed, i).

Data flows one way: recipe -> ``scene_for_index`` -> ``render`` -> encode -> write. The unit of
work is a chunk of consecutive indices, written by whoever renders it; only small records
(file names, sizes, sha256) come back.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth import __version__
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.images import read_image
from flowsynth.io.layout import FLOW_FILES, METADATA_NAME, encode_fields, write_encoded
from flowsynth.recipe import recipe_hash, to_dict
from flowsynth.render.layers import render
from flowsynth.render.sample import Sample
from flowsynth.scene.plan import scene_for_index
from flowsynth.scene.textures import Image
from flowsynth.schema import FlowRecipe

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff"}


class DatasetMismatchError(RuntimeError):
    """An output folder holds a dataset made from another recipe, seed or layout."""


def render_sample(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> Sample:
    """Sample ``index`` of ``recipe`` with ``seed``, rendered."""
    return render(
        scene_for_index(recipe, seed, index, texture_images=texture_images), recipe.render
    )


def load_texture_images(folder: Path | None) -> list[Image]:
    """Every image in ``folder`` (sorted by name) for the ``folder`` texture kind."""
    if folder is None:
        return []
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return [read_image(p) for p in paths]


def metadata(
    recipe: FlowRecipe, seed: int, *, layout: str = "files", textures: Path | None = None
) -> dict[str, Any]:
    """What ``flowsynth.json`` records: the resolved recipe, its hash, seed and versions."""
    return {
        "flowsynth": __version__,
        "recipe": to_dict(recipe),
        "recipe_hash": recipe_hash(recipe),
        "seed": seed,
        "layout": layout,
        "texture_folder": None if textures is None else str(textures),
        "files": list(FLOW_FILES),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "opencv": _opencv_version(),
        },
    }


def _opencv_version() -> str:
    import cv2

    return str(cv2.__version__)


def _identity(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta.get(k) for k in ("recipe_hash", "seed", "layout")}


def prepare_output(out: Path, meta: dict[str, Any]) -> None:
    """Create ``out`` and its ``flowsynth.json``, or check that an existing one matches."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / METADATA_NAME
    if path.exists():
        try:
            existing = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise DatasetMismatchError(
                f"{path} is unreadable ({error}); refusing to write into {out}"
            ) from error
        if _identity(existing) != _identity(meta):
            raise DatasetMismatchError(
                f"{out} holds a dataset made with {_identity(existing)}, not {_identity(meta)}; "
                "use another --out folder instead of mixing datasets"
            )
        return
    atomic_write_bytes(path, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())


def generate_chunk(
    recipe: FlowRecipe,
    seed: int,
    indices: Sequence[int],
    out: Path,
    *,
    compression: int = 1,
    texture_images: Sequence[Image] = (),
) -> dict[str, Any]:
    """Render and write the samples ``indices``; returns their file records."""
    records: dict[str, Any] = {}
    for index in indices:
        sample = render_sample(recipe, seed, index, texture_images=texture_images)
        encoded = encode_fields(sample.as_dict(), FLOW_FILES, compression)
        records.update(write_encoded(out, index, encoded))
    return records


def log(message: str) -> None:
    print(message, file=sys.stderr)
