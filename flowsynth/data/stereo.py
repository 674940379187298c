"""A torch dataset of rectified stereo pairs on disk, with random crops.

Specs (:func:`resolve_stereo_dataset`): ``middlebury_stereo`` (``<data_root>/middlebury_stereo``),
``kitti_stereo=PATH`` (KITTI 2015 layout by default; ``year=2012`` for 2012),
``flyingthings3d_stereo=PATH`` (FlyingThings3D's tree, or a flowsynth dataset written in it with
``--format flyingthings3d``) and ``flowsynth_stereo=PATH`` (a dataset written by ``flowsynth
generate`` from a stereo recipe, as files or as shards).

Augmentation is a random crop only, the same window in both views, drawn from
``sample_rng(seed, epoch * len + item, Stream.AUGMENT)``. There is no horizontal flip: flipping
both views makes the left view a right view (the disparity would point the other way), so a
flip would have to swap the views' roles and needs the right view's disparity, which Middlebury
and KITTI do not all provide.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.augment import sample_crop_window
from flowsynth.data.datasets import EpochItems
from flowsynth.data.formats.shards import (
    ShardSample,
    list_flowsynth_stereo_shards,
    read_stereo_shard_sample,
)
from flowsynth.data.formats.stereo import (
    StereoFiles,
    StereoPair,
    list_flowsynth_stereo,
    list_flyingthings3d_stereo,
    list_kitti_stereo,
    list_middlebury_stereo,
    read_stereo,
)

#: Stereo dataset name -> its folder under the data root (None: give NAME=PATH).
STEREO_FOLDERS: dict[str, str | None] = {
    "middlebury_stereo": "middlebury_stereo",
    "kitti_stereo": None,
    "flyingthings3d_stereo": None,
    "flowsynth_stereo": None,
}


class StereoExample(NamedTuple):
    """One stereo item, torch.

    ``left``, ``right`` float32 (3, H, W) in [0, 1]; ``disparity`` float32 (H, W) (left view,
    ``x_right = x_left - d``, 0 where not valid); ``valid`` and ``occlusion`` bool (H, W)
    (occlusion all False where the dataset has none: see ``has_occlusion``); ``name``.
    """

    left: torch.Tensor
    right: torch.Tensor
    disparity: torch.Tensor
    valid: torch.Tensor
    occlusion: torch.Tensor
    has_occlusion: bool
    name: str


def _image(array: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    return tensor.to(torch.float32) / 255.0


def crop_stereo(pair: StereoPair, rows: slice, cols: slice) -> StereoPair:
    """The window ``[rows, cols]`` of every field (the same window in both views)."""
    occlusion = None if pair.occlusion is None else pair.occlusion[rows, cols]
    return StereoPair(
        pair.left[rows, cols],
        pair.right[rows, cols],
        pair.disparity[rows, cols],
        pair.valid[rows, cols],
        occlusion,
        pair.name,
    )


class StereoDataset(EpochItems[StereoExample]):
    """Stereo pairs read from disk, one item per listed pair.

    Parameters
    ----------
    pairs : sequence of StereoFiles or ShardSample
        From a lister in :mod:`flowsynth.data.formats.stereo`, or
        :func:`~flowsynth.data.formats.shards.list_flowsynth_stereo_shards`.
    crop : (height, width) | None
        Random crop, the same window in both views; a pair smaller than it raises ValueError.
    seed : int
        Seed of the crop draws (item ``i`` at epoch ``e`` draws with index ``e * len + i``).
    transforms : callable, optional
        Applied to each :class:`StereoExample` last.
    """

    def __init__(
        self,
        pairs: Sequence[StereoFiles | ShardSample],
        *,
        crop: tuple[int, int] | None = None,
        seed: int = 0,
        transforms: Callable[[StereoExample], Any] | None = None,
    ) -> None:
        super().__init__(len(pairs), augment=None, seed=seed, transforms=transforms)
        if crop is not None and (len(crop) != 2 or min(crop) < 1):
            raise ValueError(f"crop must be (height, width) >= 1, got {crop!r}")
        self.pairs = list(pairs)
        self.crop = None if crop is None else (int(crop[0]), int(crop[1]))

    def pair(self, item: int) -> StereoPair:
        """Pair ``item``, uncropped, numpy."""
        files = self.pairs[self.position(item)]
        if isinstance(files, ShardSample):
            return read_stereo_shard_sample(files)
        return read_stereo(files)

    def __getitem__(self, item: int) -> Any:
        item = self.position(item)
        pair = self.pair(item)
        if self.crop is not None:
            height, width = pair.disparity.shape
            if height < self.crop[0] or width < self.crop[1]:
                raise ValueError(
                    f"{pair.name}: {width}x{height} is smaller than the crop "
                    f"{self.crop[1]}x{self.crop[0]}"
                )
            rng = sample_rng(self.seed, self.global_index(item), Stream.AUGMENT)
            pair = crop_stereo(pair, *sample_crop_window((height, width), self.crop, rng=rng))
        has_occlusion = pair.occlusion is not None
        occlusion = pair.occlusion if pair.occlusion is not None else np.zeros_like(pair.valid)
        example = StereoExample(
            _image(pair.left),
            _image(pair.right),
            torch.from_numpy(np.ascontiguousarray(pair.disparity)),
            torch.from_numpy(np.ascontiguousarray(pair.valid)),
            torch.from_numpy(np.ascontiguousarray(occlusion)),
            has_occlusion,
            pair.name,
        )
        return example if self.transforms is None else self.transforms(example)


def resolve_stereo_dataset(
    spec: str, data_root: str | os.PathLike[str] | None = None, **options: Any
) -> StereoDataset:
    """The stereo dataset a spec names: ``middlebury_stereo``, ``kitti_stereo=PATH``,
    ``flyingthings3d_stereo=PATH`` or ``flowsynth_stereo=PATH`` (files, or shards when PATH
    holds ``shard-*.tar``; any name also takes ``=PATH``).

    ``options``: ``crop``, ``seed``, ``transforms``; for KITTI also ``year`` (2015 default)
    and ``split``; for FlyingThings3D ``passes`` and ``splits``.

    Raises
    ------
    ValueError
        An unknown name, or a name without a data-root folder given without a path.
    FileNotFoundError
        No data root, or the folder does not hold the expected layout.
    """
    from flowsynth.data.resolve import spec_root

    name = spec.partition("=")[0].strip().lower()
    if name not in STEREO_FOLDERS:
        raise ValueError(f"unknown stereo dataset {spec!r}; give one of {list(STEREO_FOLDERS)}")
    root, _ = spec_root(spec, name, STEREO_FOLDERS[name], data_root)
    dataset_options = {k: options.pop(k) for k in ("crop", "seed", "transforms") if k in options}
    pairs: list[StereoFiles] | list[ShardSample]
    if name == "middlebury_stereo":
        pairs = list_middlebury_stereo(root, **options)
    elif name == "kitti_stereo":
        pairs = list_kitti_stereo(root, **options)
    elif name == "flyingthings3d_stereo":
        pairs = list_flyingthings3d_stereo(root, **options)
    elif root.is_dir() and any(root.glob("shard-*.tar")):
        pairs = list_flowsynth_stereo_shards(root, **options)
    else:
        pairs = list_flowsynth_stereo(root, **options)
    return StereoDataset(pairs, **dataset_options)
