"""Stereo pairs rendered on the fly from a stereo recipe, and the stereo training / evaluation
data specs.

- :class:`ProceduralStereoDataset`: item ``i`` at epoch ``e`` is
  ``render_stereo_sample(recipe, seed, e * len + i)`` (left view, right view, left disparity,
  its occlusion; every pixel valid), optionally cropped and colour-jittered with draws from
  ``sample_rng(seed, e * len + i, Stream.AUGMENT)``: a pure function of
  ``(recipe, seed, index)``, the same for any number of workers.
- :func:`resolve_stereo_data`: ``recipe:NAME`` or a bare stereo recipe name (``stereo/default``,
  a ``.yaml`` file) streams the recipe; ``middlebury_stereo``, ``kitti_stereo=PATH`` and
  ``flowsynth_stereo=PATH`` read disk pairs (:func:`flowsynth.data.stereo.resolve_stereo_dataset`).

Items are :class:`~flowsynth.data.stereo.StereoExample` either way, so they batch alike with
torch's default collate. There is no flip (see :mod:`flowsynth.data.stereo`); colour jitter
changes only the images, the same draw for both views unless an asymmetric draw says otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.augment import (
    AugmentConfig,
    Colour,
    apply_colour,
    sample_colour,
    sample_crop_window,
)
from flowsynth.data.datasets import EpochItems
from flowsynth.data.formats.stereo import StereoPair
from flowsynth.data.names import RECIPE_PREFIX
from flowsynth.data.stereo import STEREO_FOLDERS, StereoExample, crop_stereo
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.stereo import check_stereo_recipe, render_stereo_sample
from flowsynth.scene.textures import Image

#: Colour jitter of stereo training pairs: the flow defaults (RAFT's), without flips.
STEREO_COLOUR = AugmentConfig(horizontal_flip=0.0, vertical_flip=0.0)


@dataclass(frozen=True)
class StereoAugment:
    """One augmentation draw of a stereo pair: the crop window (both views), and the colour of
    each view (None: images unchanged)."""

    rows: slice
    cols: slice
    left: Colour | None = None
    right: Colour | None = None


def sample_stereo_augment(
    shape: tuple[int, int],
    crop: tuple[int, int] | None,
    colour: AugmentConfig | None,
    *,
    rng: np.random.Generator,
) -> StereoAugment:
    """Draw a crop of ``crop`` (None: the whole ``shape = (H, W)``) and, when ``colour`` is
    given, a colour per view: the same one unless an asymmetric draw (``colour.asymmetric``)
    gives the right view its own. Always the same number of draws for a given ``colour``."""
    rows, cols = sample_crop_window(shape, crop if crop is not None else shape, rng=rng)
    if colour is None:
        return StereoAugment(rows, cols)
    left = sample_colour(colour, rng=rng)
    own = bool(rng.random() < colour.asymmetric)
    right = sample_colour(colour, rng=rng)
    return StereoAugment(rows, cols, left, right if own else left)


def to_tensor_image(image: npt.NDArray[Any]) -> torch.Tensor:
    """``uint8 (H, W, 3)`` or ``float32 (H, W, 3)`` in [0, 1] -> ``float32 (3, H, W)`` in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    return tensor.to(torch.float32) / 255.0 if image.dtype == np.uint8 else tensor.float()


class ProceduralStereoDataset(EpochItems[StereoExample]):
    """Samples of a stereo recipe rendered on the fly (see the module docstring).

    Parameters
    ----------
    recipe : FlowRecipe
        A stereo recipe (``stereo.enabled``; ``recipes/stereo``).
    seed : int
        The dataset seed (``flowsynth generate --seed``): which samples, and the augmentation.
    length : int
        Items per epoch.
    crop : (height, width) | None
        Random crop, the same window in both views.
    colour : AugmentConfig | None
        Colour jitter ranges (:data:`STEREO_COLOUR`); None: images unchanged.
    name : str
        Prefix of each example's name (``name/0000042``).
    transforms : callable, optional
        Applied to each :class:`StereoExample` last.
    """

    def __init__(
        self,
        recipe: FlowRecipe,
        *,
        seed: int = 0,
        length: int = 10_000,
        crop: tuple[int, int] | None = None,
        colour: AugmentConfig | None = None,
        texture_images: Sequence[Image] = (),
        name: str = "recipe",
        transforms: Callable[[StereoExample], Any] | None = None,
    ) -> None:
        check_stereo_recipe(recipe)
        super().__init__(length, augment=None, seed=seed, transforms=transforms)
        if crop is not None and (len(crop) != 2 or min(crop) < 1):
            raise ValueError(f"crop must be (height, width) >= 1, got {crop!r}")
        self.recipe = recipe
        self.crop = None if crop is None else (int(crop[0]), int(crop[1]))
        self.colour = colour
        self.texture_images = tuple(texture_images)
        self.name = name

    def pair(self, index: int) -> StereoPair:
        """Sample ``index`` of the recipe (not an item position), whole, numpy."""
        sample = render_stereo_sample(
            self.recipe, self.seed, index, texture_images=self.texture_images
        )
        valid = np.ones(sample.disp_left.shape, bool)
        name = f"{self.name}/{index:07d}"
        return StereoPair(sample.left, sample.right, sample.disp_left, valid, sample.occ_left, name)

    def __getitem__(self, item: int) -> Any:
        index = self.global_index(item)
        pair = self.pair(index)
        left: npt.NDArray[Any] = pair.left
        right: npt.NDArray[Any] = pair.right
        if self.crop is not None or self.colour is not None:
            rng = sample_rng(self.seed, index, Stream.AUGMENT)
            draw = sample_stereo_augment(pair.valid.shape, self.crop, self.colour, rng=rng)
            pair = crop_stereo(pair, draw.rows, draw.cols)
            left, right = pair.left, pair.right
            if draw.left is not None and draw.right is not None:
                left, right = apply_colour(left, draw.left), apply_colour(right, draw.right)
        assert pair.occlusion is not None
        example = StereoExample(
            to_tensor_image(left),
            to_tensor_image(right),
            torch.from_numpy(np.ascontiguousarray(pair.disparity)),
            torch.from_numpy(np.ascontiguousarray(pair.valid)),
            torch.from_numpy(np.ascontiguousarray(pair.occlusion)),
            True,
            pair.name,
        )
        return example if self.transforms is None else self.transforms(example)


def is_disk_stereo(spec: str) -> bool:
    """Whether ``spec`` names a stereo dataset on disk (``middlebury_stereo``,
    ``kitti_stereo=PATH``, ``flowsynth_stereo=PATH``) rather than a recipe."""
    return spec.partition("=")[0].strip().lower() in STEREO_FOLDERS


def stereo_recipe_spec(spec: str) -> str | None:
    """The recipe name of a recipe spec (``recipe:stereo/default`` or ``stereo/default``);
    None for a disk dataset."""
    if spec.startswith(RECIPE_PREFIX):
        return spec[len(RECIPE_PREFIX) :]
    return None if is_disk_stereo(spec) else spec


def resolve_stereo_data(
    spec: str,
    data_root: str | os.PathLike[str] | None = None,
    *,
    crop: tuple[int, int] | None = None,
    seed: int = 0,
    length: int = 10_000,
    overrides: Sequence[str] = (),
    colour: AugmentConfig | None = None,
) -> EpochItems[StereoExample]:
    """The stereo dataset a spec names (module docstring), cropped to ``crop`` when given.

    Recipes render ``length`` items per epoch with ``seed`` and ``overrides``
    (``["scale=0.5"]``) and take ``colour``; disk datasets are random crops only (drawn with
    ``seed``; ``colour`` does not apply to them).

    Raises
    ------
    ValueError
        Overrides for a disk dataset; an unknown dataset name.
    RecipeError
        A recipe that does not describe stereo.
    FileNotFoundError
        No data root, or the folder does not hold the expected layout.
    """
    from flowsynth.recipe.load import load_flow_recipe

    recipe_name = stereo_recipe_spec(spec)
    if recipe_name is None:
        if overrides:
            raise ValueError("recipe overrides (--set) apply only to recipe data")
        from flowsynth.data.stereo import resolve_stereo_dataset

        return resolve_stereo_dataset(spec, data_root, crop=crop, seed=seed)
    if not recipe_name:
        raise ValueError(f"empty recipe in spec {spec!r}; e.g. recipe:stereo/default")
    recipe = load_flow_recipe(recipe_name, list(overrides))
    return ProceduralStereoDataset(
        recipe,
        seed=seed,
        length=length,
        crop=crop,
        colour=colour,
        name=f"{RECIPE_PREFIX}{recipe_name}",
    )


__all__ = [
    "STEREO_COLOUR",
    "ProceduralStereoDataset",
    "StereoAugment",
    "is_disk_stereo",
    "resolve_stereo_data",
    "sample_stereo_augment",
    "stereo_recipe_spec",
    "to_tensor_image",
]
