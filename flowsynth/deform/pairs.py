"""Image/label pairs from folders, and the per-sample elastic pair a training loop calls.

Expected layout (ISBI 2012 EM, for example)::

    images_dir/0.png   1.png   ...  10.png      (uint8 or uint16; grey or colour)
    labels_dir/0.png   1.png   ...  10.png      (integer label maps, same height and width)

Files are matched by stem (``0.png`` with ``0.tif`` is a pair) and sorted naturally
(``2`` before ``10``). 2D images are read with imageio (PNG, TIFF, JPEG, ...); 3D volumes come
from ``.npy`` or multi-page ``.tif``/``.tiff`` files (reading those needs ``tifffile``).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from flowsynth.deform.affine import compose_affine, sample_affine
from flowsynth.deform.apply import (
    Border,
    Deformed,
    ImageInterpolation,
    apply_displacement,
    apply_grid_displacement,
)
from flowsynth.deform.fields import sample_grid_nodes, sample_smoothed_displacement
from flowsynth.deform.weights import instances_from_binary, unet_weight_map
from flowsynth.io.errors import FileFormatError
from flowsynth.io.headers import image_info
from flowsynth.io.limits import check_decoded_size, check_length, read_file

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".npy")
_VOLUME_SUFFIXES = (".npy", ".tif", ".tiff")
_IMAGE_DTYPES = (np.uint8, np.uint16, np.float32)
#: Longest ``.npy`` header read (numpy's own default limit).
MAX_NPY_HEADER_BYTES = 10000


class PairFolderError(FileNotFoundError):
    """A folder of pairs is missing, empty, or a file has no partner in the other folder."""


class PairFileError(FileFormatError):
    """A file of a pair cannot be read, or its shape or dtype does not fit.

    A :class:`FileFormatError` (so a ``ValueError``) built from one message, which names the
    file; ``source`` is optional (``str()`` is then the message alone).
    """

    def __init__(self, problem: str, source: str | os.PathLike[str] = "") -> None:
        super().__init__(source, problem)
        self.args = (problem, self.source)  # the arguments again, so that it pickles

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}" if self.source else self.problem


@dataclass(frozen=True)
class Pair:
    """One image and its label map.

    Attributes
    ----------
    name : the shared file stem.
    image : (H, W), (H, W, C), (D, H, W) or (D, H, W, C); uint8, uint16 or float32.
    label : integer (H, W) or (D, H, W), the image's spatial shape.
    """

    name: str
    image: npt.NDArray[np.generic]
    label: npt.NDArray[np.integer]


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders runs of digits by value: ``'2' < '10'``, ``'a2' < 'a10'``."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def _files_by_stem(folder: Path, role: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise PairFolderError(f"{role} folder {folder} does not exist or is not a folder")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if (
            path.is_file()
            and path.suffix.lower() in IMAGE_SUFFIXES
            and not path.name.startswith(".")
        ):
            if path.stem in files:
                raise PairFolderError(
                    f"{role} folder {folder} has two files with stem {path.stem!r}: "
                    f"{files[path.stem].name} and {path.name}"
                )
            files[path.stem] = path
    if not files:
        raise PairFolderError(
            f"{role} folder {folder} holds no image files (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    return files


def find_pairs(images_dir: str | Path, labels_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """Match image and label files by stem: ``[(name, image_path, label_path)]``, natural order.

    Raises
    ------
    PairFolderError
        (a ``FileNotFoundError``) if a folder is missing or empty, or a file has no partner.
    """
    images = _files_by_stem(Path(images_dir), "image")
    labels = _files_by_stem(Path(labels_dir), "label")
    for missing, here, there in (
        (images.keys() - labels.keys(), images_dir, labels_dir),
        (labels.keys() - images.keys(), labels_dir, images_dir),
    ):
        if missing:
            names = ", ".join(sorted(missing, key=natural_key)[:5])
            raise PairFolderError(
                f"{len(missing)} file(s) in {here} have no partner in {there}: {names}"
            )
    return [(name, images[name], labels[name]) for name in sorted(images, key=natural_key)]


def _check_npy(data: bytes, path: Path) -> None:
    """Raise ``FileFormatError`` unless ``data`` holds exactly the array its header describes."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(stream, max_header_size=MAX_NPY_HEADER_BYTES)
    except (ValueError, SyntaxError, TypeError, UnicodeDecodeError) as error:
        raise FileFormatError(path, f"bad .npy header: {error}") from None
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    check_length(len(data) - stream.tell(), count * dtype.itemsize, path)


def read_array(path: str | Path) -> npt.NDArray[np.generic]:
    """Read one image or volume file as stored (no colour conversion, no rescaling).

    ``.npy`` through numpy; ``.tif``/``.tiff`` as all pages (a volume if there are several);
    other formats through imageio. Only regular files are read (no devices or FIFOs), at most
    ``MAX_FILE_BYTES``; image sizes are checked from the header (limits, plausibility for the
    file's length, memory to decode) before decoding. Raises ``PairFileError`` if the file
    cannot be decoded or is refused (its cause is then the ``FileFormatError``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    suffix = path.suffix.lower()
    try:
        data = read_file(path)
        if suffix == ".npy":
            _check_npy(data, path)
            return np.load(io.BytesIO(data), allow_pickle=False)
        # For a multi-page TIFF, the first page is checked.
        info = image_info(data, path)
        per_pixel = info.decoder_bytes + 4 * info.sample_bytes  # the decoder's copy
        check_decoded_size(info.width, info.height, per_pixel, path)
        import imageio.v3 as iio  # lazy: only reading files needs it

        if suffix in _VOLUME_SUFFIXES:
            return np.asarray(iio.imread(data, index=None, extension=suffix))
        return np.asarray(iio.imread(data, extension=suffix))
    except Exception as error:  # every decoder raises its own types
        raise PairFileError(f"cannot read {path}: {type(error).__name__}: {error}") from error


def check_pair(image: npt.NDArray[np.generic], label: npt.NDArray[np.generic], name: str) -> None:
    """Raise ``PairFileError`` unless ``label`` is an integer map matching ``image``'s shape."""
    if label.dtype.kind not in "iub":
        raise PairFileError(f"label {name} must have an integer dtype, got {label.dtype}")
    if label.ndim not in (2, 3):
        raise PairFileError(f"label {name} must be (H, W) or (D, H, W), got shape {label.shape}")
    if image.dtype not in _IMAGE_DTYPES:
        allowed = ", ".join(np.dtype(d).name for d in _IMAGE_DTYPES)
        raise PairFileError(f"image {name} dtype must be one of {allowed}, got {image.dtype}")
    spatial = image.shape[: label.ndim]
    if spatial != label.shape or image.ndim not in (label.ndim, label.ndim + 1):
        raise PairFileError(
            f"image {name} has shape {image.shape} but its label has {label.shape}: "
            "the spatial shapes must match (an image may add one channel axis)"
        )


def load_pairs(images_dir: str | Path, labels_dir: str | Path) -> list[Pair]:
    """Read every image/label pair of two folders (see the module docstring for the layout).

    Raises
    ------
    PairFolderError
        (``FileNotFoundError``) missing or empty folder, or a file without partner.
    PairFileError
        (``ValueError``) unreadable file, shape mismatch, or wrong dtype.
    """
    pairs = []
    for name, image_path, label_path in find_pairs(images_dir, labels_dir):
        image, label = read_array(image_path), read_array(label_path)
        if label.ndim != 2 and label_path.suffix.lower() not in _VOLUME_SUFFIXES:
            raise PairFileError(
                f"label {label_path} must be a single-channel (H, W) map, got shape {label.shape}"
            )
        check_pair(image, label, name)
        pairs.append(Pair(name, image, cast("npt.NDArray[np.integer]", label)))
    return pairs


@dataclass(frozen=True)
class ElasticPair:
    """One elastically deformed image/label pair (``sample_elastic_pair``).

    Attributes
    ----------
    image : like the input image (same shape and dtype).
    label : like the input label map; holds only values of the input label (plus
        ``ignore_label`` where ``valid`` is False, and 0 outside with ``border='constant'``).
    flow : float32 (H, W, 2) or (D, H, W, 3), ordered (x, y[, z]): output pixel ``p`` shows the
        input at ``p + flow(p)`` (frame 1 = output, frame 2 = input); None if not asked for.
    weight : float32 U-Net weight map of the deformed label, or None if not asked for.
    valid : bool (H, W) or (D, H, W); True where ``p + flow(p)`` is inside the input. Computed
        when first read (see ``Deformed.valid``).
    deformed : the ``Deformed`` result behind this pair, which computes ``valid``.
    """

    image: npt.NDArray[np.generic]
    label: npt.NDArray[np.integer]
    flow: npt.NDArray[np.float32] | None
    weight: npt.NDArray[np.float32] | None
    deformed: Deformed = dataclasses.field(repr=False, compare=False)

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return self.deformed.valid


def sample_elastic_pair(
    image: npt.NDArray[np.generic],
    label: npt.NDArray[np.integer],
    *,
    field: Literal["grid", "smoothed"] = "grid",
    grid: int | tuple[int, ...] | None = None,
    spacing: float | None = None,
    sigma: float = 10.0,
    alpha: float = 34.0,
    smoothing: float = 4.0,
    rotation: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    shear: float = 0.0,
    flip: bool = False,
    image_interpolation: ImageInterpolation = "linear",
    border: Border = "reflect",
    fill: float = 0.0,
    ignore_label: int | None = None,
    weight_map: bool = False,
    foreground: int | None = None,
    w0: float = 10.0,
    weight_sigma: float = 5.0,
    class_weights: tuple[float, float] | None = None,
    return_flow: bool = True,
    rng: np.random.Generator,
) -> ElasticPair:
    """Deform one image/label pair elastically (plus an optional affine part) in one resampling.

    ``(H, W[, C]), int (H, W) -> ElasticPair``; 3D ``(D, H, W[, C]), (D, H, W)`` alike. numpy in,
    numpy out: the call a training loop makes per sample.

    Parameters
    ----------
    image, label : the pair; see ``apply_displacement`` for the dtypes accepted.
    field : 'grid' (U-Net: ``sample_grid_displacement``) or 'smoothed' (Simard:
        ``sample_smoothed_displacement``).
    grid, spacing, sigma : for 'grid': node count per axis or node spacing in pixels (default
        3 per axis), and the displacement standard deviation at the nodes in pixels (U-Net 2D:
        3x3 grid, sigma 10; 3D U-Net: spacing 32, sigma 4).
    alpha, smoothing : for 'smoothed': scale in pixels and Gaussian sigma in pixels (Simard's
        MNIST values: 34 and 4).
    rotation, scale, shear, flip : affine part (``sample_affine``): largest rotation and shear in
        degrees, log-uniform scale range, random mirroring of each axis. The defaults add none.
    image_interpolation, border, fill, ignore_label : see ``apply_displacement``.
    weight_map : also return the U-Net weight map of the deformed label.
    foreground : if given, the label is binary and its objects are the connected components of
        ``label == foreground`` (ISBI: 255); otherwise the label is an instance map (0 =
        background). Pixels holding ``ignore_label`` get weight 0.
    w0, weight_sigma, class_weights : see ``unet_weight_map``.
    return_flow : False leaves ``flow`` None and, for 'grid' fields in 2D, skips writing the
        full-size field (a training loop that uses only image and label saves a pass over memory).
    rng : the only source of randomness. The field is drawn first, the affine part second, and
        both always draw, so changing one part's strength leaves the other's draws unchanged.

    The function stays whole because its length is this keyword list and its documentation;
    the body is three steps (draw, resample once, weight).
    """
    ndim = label.ndim
    if ndim not in (2, 3):
        raise ValueError(f"label must be (H, W) or (D, H, W), got shape {label.shape}")
    if field not in ("grid", "smoothed"):
        raise ValueError(f"field must be 'grid' or 'smoothed', got {field!r}")
    if field == "grid":
        values = sample_grid_nodes(label.shape, grid=grid, spacing=spacing, sigma=sigma, rng=rng)
    else:
        displacement = sample_smoothed_displacement(
            label.shape, alpha=alpha, sigma=smoothing, rng=rng
        )
    matrix = sample_affine(
        ndim=ndim, rotation=rotation, scale=scale, shear=shear, flip=flip, rng=rng
    )
    apply = (
        functools.partial(
            apply_grid_displacement, values, label.shape, matrix=matrix, return_flow=return_flow
        )
        if field == "grid"
        else functools.partial(apply_displacement, compose_affine(displacement, matrix))
    )
    result = apply(
        images=(image,),
        labels=(label,),
        image_interpolation=image_interpolation,
        border=border,
        fill=fill,
        ignore_label=ignore_label,
    )
    deformed_label = result.labels[0]
    weight = (
        _weight_map(deformed_label, foreground, ignore_label, w0, weight_sigma, class_weights)
        if weight_map
        else None
    )
    flow = result.flow if return_flow else None
    return ElasticPair(result.images[0], deformed_label, flow, weight, deformed=result)


def _weight_map(
    label: npt.NDArray[np.integer],
    foreground: int | None,
    ignore_label: int | None,
    w0: float,
    sigma: float,
    class_weights: tuple[float, float] | None,
) -> npt.NDArray[np.float32]:
    """The U-Net weight map of a deformed label (see :func:`sample_elastic_pair`): objects are
    the components of ``label == foreground``, or the label's instances; 0 where ignored."""
    instances: npt.NDArray[np.integer]
    if foreground is not None:
        instances = instances_from_binary(label, foreground=foreground)
    else:
        instances = label
    ignored = None if ignore_label is None else label == ignore_label
    if ignored is not None:
        instances = np.where(ignored, 0, instances)
    weight = unet_weight_map(instances, w0=w0, sigma=sigma, class_weights=class_weights)
    if ignored is not None:
        weight[ignored] = 0.0
    return weight
