"""Segmentation data for the U-Net: image/label folders, elastic augmentation, weight maps.

Specs
-----
- ``isbi2012_em``: ``<data root>/isbi2012_em/train/{image,label}/`` (ISBI 2012 EM);
- ``retina_drive``: ``<data root>/retina_drive/training/`` (DRIVE, the 20 training images);
- ``retina_drive_test``: ``<data root>/retina_drive/testing/`` (the 20 test images, 1st manual);
- ``NAME=ROOT``: the same tree under ``ROOT`` (for DRIVE, the ``retina_drive`` folder);
- ``IMAGES_DIR,LABELS_DIR``: any two folders of pairs matched by file stem
  (:func:`flowsynth.deform.load_pairs`);

each optionally followed by a Python slice of the pairs in natural order, such as
``isbi2012_em[:25]`` (train) and ``isbi2012_em[25:]`` (held out).

DRIVE layout (:data:`SEGMENTATION_DATASETS`; files pair by their leading number)::

    retina_drive/training/images/21_training.tif       RGB, 565 x 584   (21..40)
                          1st_manual/21_manual1.gif    0 / 255 vessels
                          mask/21_training_mask.gif    0 / 255 field of view
    retina_drive/testing/images/01_test.tif            (01..20), 1st_manual/, mask/01_test_mask.gif

Pixels outside the field of view get label ``IGNORE`` (-1): no loss, no metric.

Item ``i`` at epoch ``e`` is drawn from ``sample_rng(seed, e * len + i, Stream.ELASTIC)``: a
random crop, then one U-Net elastic deformation (3x3 grid) with random mirroring, and the U-Net
weight map of the deformed label. Labels are mapped to class indices ``0..K-1`` in the order of
their values (ISBI: 0 = membrane -> 0, 255 = cell -> 1; DRIVE: 0 = background, 255 = vessel);
``-1`` marks unknown pixels.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.augment import sample_crop_window
from flowsynth.deform import instances_from_binary, load_pairs, sample_elastic_pair, unet_weight_map
from flowsynth.deform.pairs import Pair, PairFileError, PairFolderError
from flowsynth.io.errors import FileFormatError
from flowsynth.io.images import read_image, read_label

IGNORE = -1
#: Loss weights of :func:`sample_training_arrays`: the U-Net border map, or 1 on known pixels.
WEIGHTS = ("unet", "none")
#: Files a number-paired dataset reads (:mod:`flowsynth.io.images`: OpenCV decodes LZW TIFFs).
NUMBERED_SUFFIXES = (".png", ".tif", ".tiff", ".gif", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm")
_SLICE = re.compile(r"^(?P<body>.*?)\[(?P<start>-?\d*):(?P<stop>-?\d*)\]$")
_NUMBER = re.compile(r"^(\d+)(?!\d)")


@dataclass(frozen=True)
class SegmentationSource:
    """Where a named dataset lies: ``folder`` under the data root (``NAME=ROOT`` replaces it),
    then its ``images``, ``labels`` and optional field-of-view ``masks`` subfolders.
    ``pairing``: files match by ``stem`` (ISBI) or by their leading ``number`` (DRIVE)."""

    folder: str
    images: str
    labels: str
    masks: str | None = None
    pairing: Literal["stem", "number"] = "stem"


#: name -> its folders (DRIVE: the 1st manual labels; the 2nd manual is not read).
SEGMENTATION_DATASETS = {
    "isbi2012_em": SegmentationSource("isbi2012_em", "train/image", "train/label"),
    "retina_drive": SegmentationSource(
        "retina_drive", "training/images", "training/1st_manual", "training/mask", "number"
    ),
    "retina_drive_test": SegmentationSource(
        "retina_drive", "testing/images", "testing/1st_manual", "testing/mask", "number"
    ),
}


class SegmentationFolders(NamedTuple):
    """A resolved spec: the folders to read, how files pair, and the slice of the pairs."""

    images: Path
    labels: Path
    masks: Path | None
    pairing: Literal["stem", "number"]
    part: slice


class SegmentationExample(NamedTuple):
    """``image`` float32 (C, H, W) in [0, 1]; ``label`` int64 (H, W) class index or -1;
    ``weight`` float32 (H, W) loss weights; ``item`` int64 (), the pair's position.
    Batched: a leading B."""

    image: torch.Tensor
    label: torch.Tensor
    weight: torch.Tensor
    item: torch.Tensor


def resolve_segmentation_spec(
    spec: str, data_root: str | os.PathLike[str] | None = None
) -> SegmentationFolders:
    """``spec`` (see the module docstring) -> its :class:`SegmentationFolders`."""
    part = slice(None)
    match = _SLICE.match(spec.strip())
    if match:
        spec = match["body"]
        start, stop = (int(v) if v else None for v in (match["start"], match["stop"]))
        part = slice(start, stop)
    if "," in spec:
        images, labels = (Path(p.strip()).expanduser() for p in spec.split(",", 1))
        return SegmentationFolders(images, labels, None, "stem", part)
    name, separator, path = spec.partition("=")
    name = name.strip().lower()
    if name not in SEGMENTATION_DATASETS:
        raise ValueError(
            f"unknown segmentation dataset {spec!r}; give NAME, NAME=ROOT or IMAGES_DIR,LABELS_DIR "
            f"(optionally [start:stop]); names: {', '.join(SEGMENTATION_DATASETS)}"
        )
    source = SEGMENTATION_DATASETS[name]
    if separator:
        root = Path(path).expanduser()
    else:
        # data.resolve loads the scene and render kernels (numba), which segmentation never uses.
        from flowsynth.data.resolve import data_root_path

        root = data_root_path(data_root) / source.folder
    masks = None if source.masks is None else root / source.masks
    return SegmentationFolders(
        root / source.images, root / source.labels, masks, source.pairing, part
    )


def parse_segmentation_spec(
    spec: str, data_root: str | os.PathLike[str] | None = None
) -> tuple[Path, Path, slice]:
    """``spec`` -> ``(images_dir, labels_dir, slice)`` (:func:`resolve_segmentation_spec`)."""
    folders = resolve_segmentation_spec(spec, data_root)
    return folders.images, folders.labels, folders.part


def load_segmentation_pairs(
    spec: str, data_root: str | os.PathLike[str] | None = None
) -> list[Pair]:
    """The 2D pairs a spec names (``ValueError`` if the slice selects none)."""
    folders = resolve_segmentation_spec(spec, data_root)
    if folders.pairing == "number":
        found = find_numbered_pairs(folders.images, folders.labels, folders.masks)[folders.part]
        pairs = [read_numbered_pair(*files) for files in found]
    else:
        pairs = load_pairs(folders.images, folders.labels)[folders.part]
    if not pairs:
        raise ValueError(f"segmentation spec {spec!r} selects no pairs")
    if any(pair.label.ndim != 2 for pair in pairs):
        raise ValueError(f"{spec}: only 2D image/label pairs are supported for training")
    return pairs


def _files_by_number(folder: Path, role: str) -> dict[int, Path]:
    """``{leading number: file}`` of the image files in ``folder`` (``PairFolderError``)."""
    if not folder.is_dir():
        raise PairFolderError(f"{role} folder {folder} does not exist or is not a folder")
    files: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if (
            not path.is_file()
            or path.name.startswith(".")
            or path.suffix.lower() not in NUMBERED_SUFFIXES
        ):
            continue
        number = int(_leading_digits(path, role))
        if number in files:
            raise PairFolderError(
                f"{role} folder {folder} has two files numbered {number}: "
                f"{files[number].name} and {path.name}"
            )
        files[number] = path
    if not files:
        raise PairFolderError(f"{role} folder {folder} holds no image files")
    return files


def _leading_digits(path: Path, role: str) -> str:
    match = _NUMBER.match(path.name)
    if match is None:
        raise PairFolderError(f"{role} file {path} does not start with a number")
    return match[1]


def find_numbered_pairs(
    images_dir: str | Path, labels_dir: str | Path, masks_dir: str | Path | None = None
) -> list[tuple[str, Path, Path, Path | None]]:
    """Match files by their leading number: ``[(number, image, label, mask)]`` in numeric order.

    ``21_training.tif``, ``21_manual1.gif`` and ``21_training_mask.gif`` are one pair, named
    ``"21"`` (the image's digits). ``PairFolderError`` (a ``FileNotFoundError``) if a folder is
    missing or empty, a file has no leading number, or a number lacks one of its files.
    """
    folders = {"image": Path(images_dir), "label": Path(labels_dir)}
    if masks_dir is not None:
        folders["mask"] = Path(masks_dir)
    files = {role: _files_by_number(folder, role) for role, folder in folders.items()}
    numbers = sorted(set().union(*files.values()))
    for number in numbers:
        have = [by_number[number] for by_number in files.values() if number in by_number]
        for role, by_number in files.items():
            if number not in by_number:
                raise PairFolderError(
                    f"{role} folder {folders[role]} has no file numbered {number} "
                    f"(for {', '.join(str(path) for path in have)})"
                )
    return [
        (
            _leading_digits(files["image"][n], "image"),
            files["image"][n],
            files["label"][n],
            files["mask"][n] if "mask" in files else None,
        )
        for n in numbers
    ]


def _read(reader: Callable[[Path], Any], path: Path) -> Any:
    try:
        return reader(path)
    except FileFormatError as error:
        raise PairFileError(str(error)) from error


def read_numbered_pair(
    name: str, image_path: Path, label_path: Path, mask_path: Path | None = None
) -> Pair:
    """One pair: RGB image, label map as int32 with ``IGNORE`` where the mask is 0.

    Raises ``PairFileError`` (a ``ValueError``) naming the file that does not decode, is not a
    single-channel label map, or whose size differs from the image's.
    """
    image = _read(read_image, image_path)
    label = _read(read_label, label_path).astype(np.int32)
    mask = None if mask_path is None else _read(read_label, mask_path)
    height, width = image.shape[:2]
    for role, path, array in (("label", label_path, label), ("mask", mask_path, mask)):
        if array is not None and array.shape != (height, width):
            raise PairFileError(
                f"{role} {path} is {array.shape[1]}x{array.shape[0]} but image {image_path} "
                f"is {width}x{height}: the sizes must match"
            )
    if mask is not None:
        label[mask == 0] = IGNORE
    return Pair(name, image, label)


def label_values(pairs: Sequence[Pair]) -> list[int]:
    """Sorted label values present in any of ``pairs`` (``IGNORE`` is not a value)."""
    values: set[int] = set()
    for pair in pairs:
        values.update(int(v) for v in np.unique(pair.label))
    values.discard(IGNORE)
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


def sample_training_arrays(
    pair: Pair,
    values: Sequence[int],
    *,
    crop: tuple[int, int],
    sigma: float,
    augment: str = "elastic",
    weights: str = "unet",
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """One augmented training crop: ``(C,H,W) image, (H,W) class index, (H,W) weight``.

    The window (the crop grown by up to ``3 sigma`` a side) is drawn first, then the elastic
    field and mirroring of the window, of which the middle ``crop`` is kept. The U-Net's field is
    a 3x3 grid of displacements with ``sigma`` pixels of standard deviation over the whole
    training image; the window gets a 3x3 grid of its own with ``sigma`` scaled by the window's
    size over the image's, so the field bends the tissue as much per pixel (the same strain)
    whatever the crop size. The weight map
    treats the connected components of the last class (ISBI: cells) as objects for a binary
    label set, and the class-index map as instances otherwise. ``augment``: ``elastic`` (the
    U-Net's elastic grid and mirroring), ``affine`` (mirroring, rotation and scaling in the same
    resampling, no elastic field) or ``none`` (the crop alone); every mode draws the same numbers.
    ``weights``: ``unet`` (that map) or ``none`` (1 on known pixels, 0 on unknown ones: plain
    cross-entropy, without the map's cost); both draw the same numbers.
    """
    check_weights(weights)
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
    strain = (max(grown) - 1) / max(max(height, width) - 1, 1)  # window / image grid spacing
    deformed = sample_elastic_pair(
        pair.image[window],
        pair.label[window].astype(np.int32),
        field="grid",
        sigma=sigma * strain,
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
    weight = weight_map(classes, len(values)) if weights == "unet" else known_weight(classes)
    return image_to_chw(image), classes, weight


def check_weights(weights: str) -> str:
    """``weights`` if it is one of :data:`WEIGHTS`, else ``ValueError``."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    return weights


def known_weight(classes: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Weight 1 on known pixels, 0 where ``classes`` is ``IGNORE``: ``(H, W) -> (H, W)``."""
    return (classes != IGNORE).astype(np.float32)


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
    crop : (H, W) of random training crops; None: whole images, no augmentation, weight 1 on
        known pixels (0 outside a field of view).
    seed : seed of the crop and deformation draws (stream ``ELASTIC``).
    sigma : elastic grid displacement standard deviation in pixels (U-Net: 10).
    augment : ``elastic``, ``affine`` or ``none`` (see :func:`sample_training_arrays`).
    weights : ``unet`` or ``none`` (see :func:`sample_training_arrays`).
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
        weights: str = "unet",
    ) -> None:
        self.pairs = list(pairs)
        self.values = list(values) if values is not None else label_values(self.pairs)
        self.crop = crop
        self.seed = seed
        self.sigma = sigma
        self.augment = augment
        self.weights = check_weights(weights)
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
            weight = known_weight(label)
        else:
            rng = sample_rng(self.seed, self.epoch * len(self) + item, Stream.ELASTIC)
            image, label, weight = sample_training_arrays(
                pair,
                self.values,
                crop=self.crop,
                sigma=self.sigma,
                augment=self.augment,
                weights=self.weights,
                rng=rng,
            )
        return SegmentationExample(
            torch.from_numpy(image),
            torch.from_numpy(label),
            torch.from_numpy(weight),
            torch.tensor(item, dtype=torch.int64),
        )
