"""Segmentation data for the U-Net: image/label folders, elastic augmentation, weight maps.

Specs
-----
- ``isbi2012_em``: ``<data root>/isbi2012_em/train/{image,label}/`` (ISBI 2012 EM);
- ``isbi2012_em=ROOT``: the same tree under ``ROOT``;
- ``IMAGES_DIR,LABELS_DIR``: any two folders of pairs matched by file stem
  (:func:`flowsynth.deform.load_pairs`);

each optionally followed by a Python slice of the pairs in natural order, such as
``isbi2012_em[:25]`` (train) and ``isbi2012_em[25:]`` (held out).

Item ``i`` at epoch ``e`` is drawn from ``sample_rng(seed, e * len + i, Stream.ELASTIC)``: a
random crop, then one U-Net elastic deformation (3x3 grid) with random mirroring, and the U-Net
weight map of the deformed label. Labels are mapped to class indices ``0..K-1`` in the order of
their values (ISBI: 0 = membrane -> 0, 255 = cell -> 1); ``-1`` marks unknown pixels.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.deform import instances_from_binary, load_pairs, sample_elastic_pair, unet_weight_map
from flowsynth.deform.pairs import Pair

#: name -> (folder under the data root, images subfolder, labels subfolder)
SEGMENTATION_DATASETS = {"isbi2012_em": ("isbi2012_em", "train/image", "train/label")}
IGNORE = -1
_SLICE = re.compile(r"^(?P<body>.*?)\[(?P<start>-?\d*):(?P<stop>-?\d*)\]$")


class SegmentationExample(NamedTuple):
    """``image`` float32 (C, H, W) in [0, 1]; ``label`` int64 (H, W) class index or -1;
    ``weight`` float32 (H, W) loss weights; ``item`` int64 (), the pair's position.
    Batched: a leading B."""

    image: torch.Tensor
    label: torch.Tensor
    weight: torch.Tensor
    item: torch.Tensor


def parse_segmentation_spec(
    spec: str, data_root: str | os.PathLike[str] | None = None
) -> tuple[Path, Path, slice]:
    """``spec`` (see the module docstring) -> ``(images_dir, labels_dir, slice)``."""
    part = slice(None)
    match = _SLICE.match(spec.strip())
    if match:
        spec = match["body"]
        start, stop = (int(v) if v else None for v in (match["start"], match["stop"]))
        part = slice(start, stop)
    if "," in spec:
        images, labels = (Path(p.strip()).expanduser() for p in spec.split(",", 1))
        return images, labels, part
    name, separator, path = spec.partition("=")
    name = name.strip().lower()
    if name not in SEGMENTATION_DATASETS:
        raise ValueError(
            f"unknown segmentation dataset {spec!r}; give NAME, NAME=ROOT or IMAGES_DIR,LABELS_DIR "
            f"(optionally [start:stop]); names: {', '.join(SEGMENTATION_DATASETS)}"
        )
    folder, images_folder, labels_folder = SEGMENTATION_DATASETS[name]
    if separator:
        root = Path(path).expanduser()
    else:
        # data.resolve loads the scene and render kernels (numba), which segmentation never uses.
        from flowsynth.data.resolve import data_root_path

        root = data_root_path(data_root) / folder
    return root / images_folder, root / labels_folder, part


def load_segmentation_pairs(
    spec: str, data_root: str | os.PathLike[str] | None = None
) -> list[Pair]:
    """The 2D pairs a spec names (``ValueError`` if the slice selects none)."""
    images, labels, part = parse_segmentation_spec(spec, data_root)
    pairs = load_pairs(images, labels)[part]
    if not pairs:
        raise ValueError(f"segmentation spec {spec!r} selects no pairs")
    if any(pair.label.ndim != 2 for pair in pairs):
        raise ValueError(f"{spec}: only 2D image/label pairs are supported for training")
    return pairs


def label_values(pairs: Sequence[Pair]) -> list[int]:
    """Sorted label values present in any of ``pairs``."""
    values: set[int] = set()
    for pair in pairs:
        values.update(int(v) for v in np.unique(pair.label))
    return sorted(values)


def image_channels(pair: Pair) -> int:
    """1 for grey ``(H, W)`` images, else the channel count."""
    return 1 if pair.image.ndim == 2 else int(pair.image.shape[-1])


def to_classes(label: npt.NDArray[np.integer], values: Sequence[int]) -> npt.NDArray[np.int64]:
    """Label values -> class indices in ``values`` order; unknown values and -1 give -1."""
    table = np.asarray(values)
    index = np.searchsorted(table, label).clip(0, len(table) - 1)
    known = (table[index] == label) & (label != IGNORE)
    return np.where(known, index, IGNORE).astype(np.int64)


def image_to_chw(image: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    """uint8 / uint16 / float32 ``(H, W[, C])`` -> float32 ``(C, H, W)`` in [0, 1]."""
    scale = {np.dtype(np.uint8): 1 / 255, np.dtype(np.uint16): 1 / 65535}.get(image.dtype, 1.0)
    array = image.astype(np.float32) * np.float32(scale)
    return np.ascontiguousarray(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))


def sample_crop_window(
    shape: tuple[int, int], crop: tuple[int, int], *, rng: np.random.Generator
) -> tuple[slice, slice]:
    """A random ``crop`` window inside ``shape`` (always two draws); ``ValueError`` if too big."""
    (height, width), (crop_height, crop_width) = shape, crop
    if crop_height > height or crop_width > width:
        raise ValueError(
            f"crop {crop_height}x{crop_width} is larger than the image {height}x{width}"
        )
    top = int(rng.integers(0, height - crop_height + 1))
    left = int(rng.integers(0, width - crop_width + 1))
    return slice(top, top + crop_height), slice(left, left + crop_width)


def sample_training_arrays(
    pair: Pair,
    values: Sequence[int],
    *,
    crop: tuple[int, int],
    sigma: float,
    augment: str = "elastic",
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """One augmented training crop: ``(C,H,W) image, (H,W) class index, (H,W) weight``.

    The window (the crop grown by up to ``3 sigma`` a side) is drawn first, then the elastic
    field and mirroring of the window, of which the middle ``crop`` is kept. The weight map
    treats the connected components of the last class (ISBI: cells) as objects for a binary
    label set, and the class-index map as instances otherwise. ``augment``: ``elastic`` (the
    U-Net's elastic grid and mirroring), ``affine`` (mirroring, rotation and scaling in the same
    resampling, no elastic field) or ``none`` (the crop alone); every mode draws the same numbers.
    """
    if augment == "affine":
        sigma, rotation, scale, flip = 0.0, 180.0, (0.9, 1.1), True
    elif augment == "none":
        sigma, rotation, scale, flip = 0.0, 0.0, (1.0, 1.0), False
    else:
        rotation, scale, flip = 0.0, (1.0, 1.0), True
    height, width = pair.label.shape
    # Deform a window grown by a margin, then cut the crop from its middle: the field then
    # rarely reaches outside the window, so few crop pixels end up unknown.
    reach = 3 * sigma + (0.25 * max(crop) if rotation else 0.0)
    margin = max(0, min(int(reach), (height - crop[0]) // 2, (width - crop[1]) // 2))
    grown = (crop[0] + 2 * margin, crop[1] + 2 * margin)
    window = sample_crop_window(pair.label.shape, grown, rng=rng)
    deformed = sample_elastic_pair(
        pair.image[window],
        pair.label[window].astype(np.int32),
        field="grid",
        sigma=sigma,
        rotation=rotation,
        scale=scale,
        flip=flip,
        border="reflect",
        ignore_label=IGNORE,
        return_flow=False,  # training uses image and label only
        rng=rng,
    )
    inner = (slice(margin, margin + crop[0]), slice(margin, margin + crop[1]))
    classes = to_classes(deformed.label[inner], values)
    image = np.ascontiguousarray(deformed.image[inner])
    return image_to_chw(image), classes, weight_map(classes, len(values))


def weight_map(classes: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.float32]:
    """U-Net weight map of a class-index map (0 where unknown)."""
    known = classes != IGNORE
    if count == 2:
        instances = instances_from_binary(np.where(known, classes, 0), foreground=1)
    else:
        instances = np.where(known, classes, 0).astype(np.int32)
    weight = unet_weight_map(instances)
    weight[~known] = 0.0
    return weight


class SegmentationDataset(Dataset[SegmentationExample]):
    """Image/label pairs as :class:`SegmentationExample` s (see the module docstring).

    Parameters
    ----------
    pairs : from :func:`load_segmentation_pairs`.
    values : label values, in class order (default: those present in ``pairs``).
    crop : (H, W) of random training crops; None: whole images, no augmentation, weight 1.
    seed : seed of the crop and deformation draws (stream ``ELASTIC``).
    sigma : elastic grid displacement standard deviation in pixels (U-Net: 10).
    augment : ``elastic``, ``affine`` or ``none`` (see :func:`sample_training_arrays`).
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        *,
        values: Sequence[int] | None = None,
        crop: tuple[int, int] | None = None,
        seed: int = 0,
        sigma: float = 10.0,
        augment: str = "elastic",
    ) -> None:
        self.pairs = list(pairs)
        self.values = list(values) if values is not None else label_values(self.pairs)
        self.crop = crop
        self.seed = seed
        self.sigma = sigma
        self.augment = augment
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.pairs)

    def set_epoch(self, epoch: int) -> None:
        """New crops and deformations for epoch ``epoch``."""
        self.epoch = int(epoch)

    def __getitem__(self, item: int) -> SegmentationExample:
        pair = self.pairs[item]
        if self.crop is None:
            image, label = image_to_chw(pair.image), to_classes(pair.label, self.values)
            weight = np.ones(label.shape, np.float32)
        else:
            rng = sample_rng(self.seed, self.epoch * len(self) + item, Stream.ELASTIC)
            image, label, weight = sample_training_arrays(
                pair, self.values, crop=self.crop, sigma=self.sigma, augment=self.augment, rng=rng
            )
        return SegmentationExample(
            torch.from_numpy(image),
            torch.from_numpy(label),
            torch.from_numpy(weight),
            torch.tensor(item, dtype=torch.int64),
        )
