"""One sample of a recipe: rendered (flow) or deformed (elastic), and encoded as files.

The single place that knows, for each kind of recipe, what a sample is and which files it makes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth.io.images import read_image
from flowsynth.io.layout import (
    FLOW_FILES,
    SCENE_FLOW_FILES,
    STEREO_FILES,
    UNKNOWN_FIELDS,
    encode_fields,
    encode_sequence,
    sequence_files,
    stereo_files,
)
from flowsynth.recipe.schema import ElasticRecipe, FlowRecipe
from flowsynth.render.layers import render_sample
from flowsynth.scene.textures import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff"}


def load_texture_images(folder: Path | None) -> list[Image]:
    """Every image in ``folder`` (sorted by name) for the ``folder`` texture kind.

    Raises
    ------
    FileNotFoundError
        No file with an image suffix in ``folder``.
    FileFormatError
        An entry is not a regular file (a device, FIFO or socket, also behind a symlink), or
        not a valid image of plausible size (see :func:`flowsynth.io.images.read_image`).
    """
    if folder is None:
        return []
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return [read_image(p) for p in paths]


@functools.lru_cache(maxsize=2)
def cached_textures(folder: str | None) -> tuple[Image, ...]:
    """``load_texture_images`` once per process (workers render many chunks)."""
    return tuple(load_texture_images(None if folder is None else Path(folder)))


@functools.lru_cache(maxsize=2)
def cached_examples(folders: tuple[str, str]) -> tuple[Any, ...]:
    """The example pairs of an elastic dataset, loaded once per process."""
    # The deform kernels (numba) load only for elastic recipes.
    from flowsynth.deform.pairs import load_pairs

    return tuple(load_pairs(*folders))


def sample_files(
    recipe: FlowRecipe | ElasticRecipe, examples: Sequence[Any] = (), *, tree: str | None = None
) -> list[str]:
    """The file entries of one sample of ``recipe`` (elastic: of its ``examples``): suffixes of
    a pair's or stereo pair's files, paths of a sequence's, or of a stereo pair's in the
    ``tree`` named (``"flyingthings3d"``; see :mod:`flowsynth.io.layout`)."""
    if isinstance(recipe, FlowRecipe) and recipe.stereo.enabled:
        return list(stereo_files(scene_flow=recipe.stereo.scene_flow, tree=tree))
    if isinstance(recipe, FlowRecipe):
        return list(sequence_files(recipe.frames) if recipe.frames > 2 else FLOW_FILES)
    volume = bool(examples) and examples[0].label.ndim == 3
    names = ["image", "label", "flow", "valid"] + (["weight"] if recipe.weight_map else [])
    if volume:
        return [f"{n}.npy" for n in names]
    kinds = {"image": "png", "label": "png", "flow": "flo", "valid": "png", "weight": "pfm"}
    return [f"{n}.{kinds[n]}" for n in names]


def sample_encoder(
    recipe: FlowRecipe | ElasticRecipe,
    seed: int,
    *,
    compression: int = 1,
    textures: str | None = None,
    examples: tuple[str, str] | None = None,
    tree: str | None = None,
) -> Callable[[int], dict[str, bytes]]:
    """index -> the encoded files (entry -> bytes) of that sample, for the recipe's kind (a
    stereo recipe's in the ``tree`` named, if any: :func:`flowsynth.io.layout.tree_files`)."""
    if isinstance(recipe, ElasticRecipe):
        # The deform kernels (numba) load only for elastic recipes.
        from flowsynth.deform.recipe import elastic_sample, encode_elastic

        if examples is None:
            raise ValueError("an elastic recipe needs folders of example images and labels")
        pairs = cached_examples(examples)
        return lambda index: encode_elastic(elastic_sample(recipe, pairs, seed, index), compression)
    images = cached_textures(textures)
    if recipe.stereo.enabled:
        files = stereo_files(scene_flow=recipe.stereo.scene_flow, tree=tree)
        encode = encode_scene_flow_sample if recipe.stereo.scene_flow else encode_stereo_sample
        return lambda index: encode(recipe, seed, index, compression, images, files)
    if recipe.frames > 2:
        return lambda index: encode_sequence_sample(recipe, seed, index, compression, images)
    return lambda index: encode_flow_sample(recipe, seed, index, compression, images)


def encode_flow_sample(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    compression: int = 1,
    texture_images: Sequence[Image] = (),
) -> dict[str, bytes]:
    """Sample ``index`` of a flow recipe, rendered and encoded as its FlyingChairs2 files."""
    sample = render_sample(recipe, seed, index, texture_images=texture_images)
    return encode_fields(sample.as_dict(), FLOW_FILES, compression)


def encode_sequence_sample(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    compression: int = 1,
    texture_images: Sequence[Image] = (),
) -> dict[str, bytes]:
    """Sample ``index`` of a sequence recipe, rendered and encoded as its Sintel-style files."""
    # Imported here: the sequence renderer is needed only for sequence recipes.
    from flowsynth.render.sequence import render_sequence_sample

    sequence = render_sequence_sample(recipe, seed, index, texture_images=texture_images)
    return encode_sequence(sequence.as_dict(), sequence_files(recipe.frames), compression)


def encode_stereo_sample(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    compression: int = 1,
    texture_images: Sequence[Image] = (),
    files: dict[str, tuple[str, str]] = STEREO_FILES,
) -> dict[str, bytes]:
    """Sample ``index`` of a stereo recipe, rendered and encoded as its files (PNG views, masks
    and segmentation, PFM disparity): entry -> bytes, for the entries of ``files``
    (:data:`flowsynth.io.layout.STEREO_FILES`, or a tree's: the same bytes, other names)."""
    # Imported here: the stereo renderer is needed only for stereo recipes.
    from flowsynth.render.stereo import render_stereo_sample

    stereo = render_stereo_sample(recipe, seed, index, texture_images=texture_images)
    return encode_fields(stereo.as_dict(), files, compression)


def encode_scene_flow_sample(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    compression: int = 1,
    texture_images: Sequence[Image] = (),
    files: dict[str, tuple[str, str]] = SCENE_FLOW_FILES,
) -> dict[str, bytes]:
    """Sample ``index`` of a scene-flow recipe (``stereo.scene_flow``), rendered and encoded as
    the entries of ``files`` (:data:`flowsynth.io.layout.SCENE_FLOW_FILES`, or a tree's, whose
    files without a value hold NaN: :data:`flowsynth.io.layout.UNKNOWN_FIELDS`)."""
    # Imported here: the stereo renderer is needed only for stereo recipes.
    from flowsynth.render.stereo import render_scene_flow_sample

    sample = render_scene_flow_sample(recipe, seed, index, texture_images=texture_images)
    fields = sample.as_dict()
    shape, wanted = sample.disp_left.shape, {field for field, _ in files.values()}
    for name, channels in UNKNOWN_FIELDS.items():
        if name in wanted:  # the tree's files only; flat files have none
            fields[name] = np.full(shape + ((channels,) if channels else ()), np.nan, np.float32)
    return encode_fields(fields, files, compression)
