"""Apply a backward displacement to images and label maps in one resampling, with exact flow.

Convention
----------
Output pixel ``p`` samples the input at ``p + d(p)`` (``d`` from ``flowsynth.deform.fields``).
Read as an optical-flow pair with frame 1 = the deformed output and frame 2 = the original input,
``d`` *is* the flow: pixel ``p`` of frame 1 moves to ``p + flow(p)`` in frame 2, and
``flowsynth.base.conventions.warp_backward(original, flow)`` reproduces the deformed image.

- 2D: flow ``float32 (H, W, 2)`` ordered (u, v) = (x, y), the project's flow convention.
- 3D: flow ``float32 (D, H, W, 3)`` ordered (x, y, z): x along W, y along H, z along D.
- ``valid``: ``bool``, True where ``p + flow(p)`` lies inside the input, i.e. in
  ``[-0.5, n - 0.5]`` on every axis (pixel centres at integers).

Images are interpolated (linear or cubic); label maps take the value of the nearest input pixel,
so no label value that is absent from the input ever appears (plus ``ignore_label``, if given,
where ``valid`` is False, and 0 outside the input with ``border='constant'``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.deform.affine import affine_folder, compose_affine
from flowsynth.deform.fields import grid_rows, interpolate_grid
from flowsynth.deform.planar import Validity, known, remap_2d
from flowsynth.deform.volume import remap_labels_3d, remap_volume, sample_positions

ImageInterpolation = Literal["linear", "cubic"]
Border = Literal["reflect", "constant", "replicate"]

_CV_BORDER = {
    "reflect": cv2.BORDER_REFLECT,  # symmetric about the image edge: ...cba|abc...
    "constant": cv2.BORDER_CONSTANT,
    "replicate": cv2.BORDER_REPLICATE,
}
_CV_INTERPOLATION = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}
_IMAGE_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


@dataclasses.dataclass(frozen=True)
class Deformed:
    """The result of ``apply_displacement``.

    Attributes
    ----------
    images : tuple of arrays, each shaped and typed like the corresponding input image.
    labels : tuple of arrays, each shaped and typed like the corresponding input label map.
    flow : float32 (H, W, 2) or (D, H, W, 3), ordered (x, y[, z]); output pixel ``p`` shows
        input pixel ``p + flow(p)``. It is the displacement array itself, not a copy. None if
        not asked for (``apply_grid_displacement(..., return_flow=False)``).
    valid : bool (H, W) or (D, H, W); True where ``p + flow(p)`` is inside the input. In 2D it
        is computed when first read (then kept): a training loop that never reads it saves
        ~10 % of a call (``benchmarks/bench_elastic.py``). It is computed from the field as it
        is then, so read it before changing ``flow`` (or the displacement passed in) in place.
        With ``ignore_label`` it is computed during the resampling, which needs it.
    validity : the function that computes ``valid`` (called once, on its first read).
    """

    images: tuple[npt.NDArray[np.generic], ...]
    labels: tuple[npt.NDArray[np.integer], ...]
    flow: npt.NDArray[np.float32] | None
    validity: Validity = dataclasses.field(repr=False, compare=False)

    @functools.cached_property
    def valid(self) -> npt.NDArray[np.bool_]:
        return self.validity()


def _check_displacement(displacement: npt.NDArray[np.generic]) -> tuple[int, ...]:
    ndim = displacement.shape[-1] if displacement.ndim else 0
    spatial = tuple(displacement.shape[:-1])
    if ndim not in (2, 3) or len(spatial) != ndim or displacement.dtype != np.float32:
        raise ValueError(
            "displacement must be float32 (H, W, 2) or (D, H, W, 3), "
            f"got {displacement.dtype} {displacement.shape}"
        )
    return spatial


def _check_inputs(
    spatial: tuple[int, ...],
    images: Sequence[npt.NDArray[np.generic]],
    labels: Sequence[npt.NDArray[np.integer]],
    ignore_label: int | None,
    image_interpolation: str,
    border: str,
) -> None:
    if image_interpolation not in _CV_INTERPOLATION:
        raise ValueError(
            f"image_interpolation must be 'linear' or 'cubic', got {image_interpolation!r}"
        )
    if border not in _CV_BORDER:
        raise ValueError(f"border must be one of {sorted(_CV_BORDER)}, got {border!r}")
    ndim = len(spatial)
    for k, image in enumerate(images):
        if tuple(image.shape[:ndim]) != spatial or image.ndim not in (ndim, ndim + 1):
            raise ValueError(
                f"images[{k}] must be {spatial} or {spatial} + (C,) to match the displacement, "
                f"got {image.shape}"
            )
        if image.dtype not in _IMAGE_DTYPES:
            allowed = ", ".join(np.dtype(d).name for d in _IMAGE_DTYPES)
            raise ValueError(f"images[{k}] dtype must be one of {allowed}, got {image.dtype}")
    for k, label in enumerate(labels):
        if tuple(label.shape) != spatial:
            raise ValueError(
                f"labels[{k}] must be {spatial} like the displacement, got {label.shape}"
            )
        if label.dtype.kind not in "iub":
            raise ValueError(f"labels[{k}] must have an integer or bool dtype, got {label.dtype}")
        if ignore_label is not None and label.dtype.kind != "b":
            info = np.iinfo(label.dtype)
            if not info.min <= ignore_label <= info.max:
                raise ValueError(
                    f"ignore_label {ignore_label} does not fit labels[{k}] dtype {label.dtype}"
                )


def _mark_ignored(
    labels: Sequence[npt.NDArray[np.integer]], validity: Validity, ignore: int | None
) -> None:
    if ignore is not None and labels:
        invalid = ~validity()
        for label in labels:
            np.copyto(label, np.asarray(ignore).astype(label.dtype), where=invalid)


def _marks(labels: Sequence[npt.NDArray[np.integer]], ignore: int | None) -> bool:
    """Whether ``_mark_ignored`` will need the mask (so it is best made during the remap)."""
    return ignore is not None and bool(labels)


def apply_displacement(
    displacement: npt.NDArray[np.float32],
    *,
    images: Sequence[npt.NDArray[np.generic]] = (),
    labels: Sequence[npt.NDArray[np.integer]] = (),
    image_interpolation: ImageInterpolation = "linear",
    border: Border = "reflect",
    fill: float = 0.0,
    ignore_label: int | None = None,
) -> Deformed:
    """Resample images and label maps with one backward displacement; return them with flow.

    ``float32 (H, W, 2) -> Deformed`` (or ``(D, H, W, 3)`` in 3D). Every array is resampled once,
    at the same positions ``p + d(p)``.

    Parameters
    ----------
    displacement : float32 (H, W, 2) or (D, H, W, 3), components (x, y[, z]), finite; see
        ``flowsynth.deform.fields``.
    images : arrays (H, W) or (H, W, C), any C (3D: (D, H, W[, C])); uint8, uint16, int16,
        float32 or float64. Integer results are rounded and saturated.
    labels : integer or bool arrays (H, W) (3D: (D, H, W)), resampled by nearest neighbour.
    image_interpolation : 'linear' or 'cubic' (2D: OpenCV's bicubic convolution; 3D: scipy's
        cubic spline).
    border : how the input is extended where ``p + d(p)`` leaves it: 'reflect' (mirror about the
        edge, ``cba|abc``), 'constant' (images take ``fill``, labels 0) or 'replicate'.
    fill : image value outside the input with ``border='constant'``.
    ignore_label : if given, written into every label map wherever ``valid`` is False.

    Returns
    -------
    Deformed
        ``images``, ``labels``, ``flow`` (the displacement itself) and ``valid``.
    """
    displacement = np.asarray(displacement)
    spatial = _check_displacement(displacement)
    _check_inputs(spatial, images, labels, ignore_label, image_interpolation, border)
    if len(spatial) == 2:
        warped, warped_labels, validity = remap_2d(
            displacement,
            images,
            labels,
            interpolation=_CV_INTERPOLATION[image_interpolation],
            border=_CV_BORDER[border],
            fill=fill,
            validity=_marks(labels, ignore_label),
        )
    else:
        order = 1 if image_interpolation == "linear" else 3
        positions = sample_positions(displacement) if images else None
        warped = [
            remap_volume(
                image, displacement, order=order, border=border, fill=fill, positions=positions
            )
            for image in images
        ]
        warped_labels, valid = remap_labels_3d(labels, displacement, border=border)
        validity = known(valid)
    _mark_ignored(warped_labels, validity, ignore_label)
    return Deformed(tuple(warped), tuple(warped_labels), displacement, validity)


def apply_grid_displacement(
    values: npt.NDArray[np.floating],
    shape: Sequence[int],
    *,
    matrix: npt.NDArray[np.floating] | None = None,
    centre: Sequence[float] | None = None,
    images: Sequence[npt.NDArray[np.generic]] = (),
    labels: Sequence[npt.NDArray[np.integer]] = (),
    image_interpolation: ImageInterpolation = "linear",
    border: Border = "reflect",
    fill: float = 0.0,
    ignore_label: int | None = None,
    return_flow: bool = True,
) -> Deformed:
    """Apply a grid field (plus an optional affine part) without building it in full first.

    ``float (gy, gx, 2), (H, W) -> Deformed``. The result is that of ``apply_displacement`` on
    ``compose_affine(interpolate_grid(values, shape), matrix, centre=centre)``, up to float32
    rounding (the field is computed band by band, the same way every call). In 2D each band of
    the field is computed, folded with the affine part, turned into a map and used for every
    remap while it is in cache: the fastest way through (see ``planar``). 3D builds the field.

    Parameters
    ----------
    values : node values, e.g. from ``sample_grid_nodes``; ``(gz, gy, gx, 3)`` in 3D.
    shape : (H, W) or (D, H, W) of the images and labels.
    matrix, centre : forward affine matrix and its centre, see ``compose_affine``; None for none.
    images, labels, image_interpolation, border, fill, ignore_label : see ``apply_displacement``.
    return_flow : False leaves ``flow`` None; in 2D the full-size field is then never written
        (each band lives in a small buffer), which saves a pass over memory per call when only
        the resampled images and labels are wanted (e.g. augmentation for segmentation).

    Its length is mostly this documentation; the 3D path and the 2D band filler are their own
    functions.
    """
    spatial = tuple(int(n) for n in shape)
    if matrix is not None and np.array_equal(matrix, np.eye(len(spatial) + 1)):
        matrix = None
    if len(spatial) != 2:
        displacement = _full_field(values, spatial, matrix, centre)
        result = apply_displacement(
            displacement,
            images=images,
            labels=labels,
            image_interpolation=image_interpolation,
            border=border,
            fill=fill,
            ignore_label=ignore_label,
        )
        return result if return_flow else dataclasses.replace(result, flow=None)
    _check_inputs(spatial, images, labels, ignore_label, image_interpolation, border)
    fill_rows = _band_filler(values, spatial, matrix, centre)
    flow = np.empty((*spatial, 2), dtype=np.float32) if return_flow else None
    warped, warped_labels, validity = remap_2d(
        flow,
        images,
        labels,
        interpolation=_CV_INTERPOLATION[image_interpolation],
        border=_CV_BORDER[border],
        fill=fill,
        fill_rows=fill_rows,
        shape=(spatial[0], spatial[1]),
        validity=_marks(labels, ignore_label),
    )
    _mark_ignored(warped_labels, validity, ignore_label)
    return Deformed(tuple(warped), tuple(warped_labels), flow, validity)


def _full_field(
    values: npt.NDArray[np.floating],
    spatial: tuple[int, ...],
    matrix: npt.NDArray[np.floating] | None,
    centre: Sequence[float] | None,
) -> npt.NDArray[np.float32]:
    """The whole displacement field of a grid (3D), with the affine part folded in."""
    displacement = interpolate_grid(values, spatial)
    if matrix is not None:
        displacement = compose_affine(displacement, matrix, centre=centre)
    return displacement


def _band_filler(
    values: npt.NDArray[np.floating],
    spatial: tuple[int, ...],
    matrix: npt.NDArray[np.floating] | None,
    centre: Sequence[float] | None,
) -> Callable[[int, int, npt.NDArray[np.float32]], None]:
    """``fill_rows(top, bottom, out)`` for ``remap_2d``: rows ``[top, bottom)`` of the 2D grid
    field, with the affine part folded in."""
    rows = grid_rows(values, spatial)
    fold = None if matrix is None else affine_folder(matrix, spatial, centre=centre)

    def fill_rows(top: int, bottom: int, out: npt.NDArray[np.float32]) -> None:
        rows(top, bottom, out)
        if fold is not None:
            fold(out, top, out)

    return fill_rows
