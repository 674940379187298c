"""Resampling of 2D images and label maps with a backward displacement (the 2D half of ``apply``).

Convention
----------
The displacement is ``float32 (H, W, 2)`` ordered (x, y); output pixel ``p`` samples the input at
``p + d(p)`` with ``cv2.remap`` (pixel centres at integers, as OpenCV has them).

Speed: the output is produced in bands of rows. Each band's absolute map ``p + d(p)`` is built in
one small reused buffer that stays in cache while every image and label map of the band is
remapped, so no full-size map is ever allocated. Besides saving the pass over memory, this keeps
the memory turned over per call small enough that glibc does not hand it back to the system and
fault it in again on the next call (which cost 3x the whole remap when a full map was built).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

#: Pixels per band: its map (512 KiB) stays in L2 between the remaps of one band.
BAND_PIXELS = 1 << 16
# Nearest-neighbour resampling copies whole pixels, so a label map is resampled through an
# unsigned view of its bytes: exact for every integer dtype, uint8/uint16 at native speed.
_LABEL_VIEWS = {1: (np.uint8, 1), 2: (np.uint16, 1), 4: (np.uint16, 2), 8: (np.uint16, 4)}
#: A validity mask, or the function that computes it when first needed.
Validity = Callable[[], npt.NDArray[np.bool_]]


def known(mask: npt.NDArray[np.bool_]) -> Validity:
    """The ``Validity`` of a mask computed already."""
    return lambda: mask


@functools.lru_cache(maxsize=16)
def pixel_grid(height: int, width: int) -> npt.NDArray[np.float32]:
    """Read-only ``float32 (H, W, 2)`` of pixel-centre coordinates (x, y); cached."""
    grid = np.empty((height, width, 2), dtype=np.float32)
    grid[..., 0] = np.arange(width, dtype=np.float32)
    grid[..., 1] = np.arange(height, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid


def _byte_view(array: npt.NDArray[np.generic]) -> npt.NDArray[np.unsignedinteger]:
    """``(H, W)`` integer array as ``uint8``/``uint16`` ``(H, W[, C])`` over the same bytes."""
    view_dtype, channels = _LABEL_VIEWS[array.dtype.itemsize]
    view = array.view(view_dtype)
    return view.reshape(*array.shape, channels) if channels > 1 else view


def _remap_into(
    source: npt.NDArray[np.generic],
    maps: npt.NDArray[np.float32],
    target: npt.NDArray[np.generic],
    interpolation: int,
    border: int,
    border_value: tuple[float, ...],
) -> None:
    """``cv2.remap`` of ``source`` at ``maps`` written into ``target`` (a band of the output)."""
    result = cv2.remap(  # type: ignore[call-overload]  # the stubs reject map2=None
        source, maps, None, interpolation, dst=target, borderMode=border, borderValue=border_value
    )
    if result is not target:  # cv2 could not write in place (a squeezed channel axis, say)
        target[...] = result.reshape(target.shape)


def _reach(displacement: npt.NDArray[np.float32]) -> float:
    """``max |d|`` over a band of the displacement; raises if it holds an infinite value."""
    rows = displacement.shape[0]
    reach = float(cv2.norm(displacement.reshape(rows, -1), cv2.NORM_INF))
    if not np.isfinite(reach):  # (a NaN passes this cheap test unnoticed: callers keep d finite)
        raise ValueError("displacement holds infinite values")
    return reach


def _valid_band(
    maps: npt.NDArray[np.float32],
    reach: float,
    valid: npt.NDArray[np.bool_],
    top: int,
    height: int,
) -> None:
    """Clear ``valid`` (the band's rows) where the band's map ``p + d(p)`` leaves the image.

    The map is inside ``[-0.5, W - 0.5] x [-0.5, H - 0.5]`` wherever ``p`` is at least
    ``reach - 0.5`` from the image edge, ``reach = max |d|`` over the band; so only the pixels
    nearer than that (+1 for rounding) are tested, while the band's map is still in cache.
    """
    rows, width = maps.shape[:2]
    if reach <= 0.5:
        return
    edge = int(np.ceil(reach - 0.5)) + 1
    lower, upper = (-0.5, -0.5, 0.0, 0.0), (width - 0.5, height - 0.5, 0.0, 0.0)
    # Band rows near the top or bottom image edge are tested in full, the others near the sides.
    near_top = min(rows, max(0, edge - top))
    near_bottom = min(rows - near_top, max(0, top + rows - (height - edge)))
    regions = []
    if near_top:
        regions.append((slice(0, near_top), slice(None)))
    if near_bottom:
        regions.append((slice(rows - near_bottom, rows), slice(None)))
    middle = slice(near_top, rows - near_bottom)
    if middle.stop > middle.start:
        if 2 * edge >= width:
            regions.append((middle, slice(None)))
        else:
            regions += [(middle, slice(0, edge)), (middle, slice(width - edge, width))]
    for region in regions:
        np.greater(cv2.inRange(maps[region], lower, upper), 0, out=valid[region])


def remap_2d(
    displacement: npt.NDArray[np.float32] | None,
    images: Sequence[npt.NDArray[np.generic]],
    labels: Sequence[npt.NDArray[np.integer]],
    *,
    interpolation: int,
    border: int,
    fill: float,
    fill_rows: Callable[[int, int, npt.NDArray[np.float32]], None] | None = None,
    shape: tuple[int, int] | None = None,
    validity: bool = True,
) -> tuple[list[npt.NDArray[np.generic]], list[npt.NDArray[np.integer]], Validity]:
    """Resample images (``interpolation``) and labels (nearest) at ``p + d(p)``; and validity.

    ``float32 (H, W, 2), [(H, W[, C])], [(H, W) int] -> (images, labels, validity)``, where
    ``validity()`` gives ``bool (H, W)``, True where ``p + d(p)`` lies inside the image.
    ``border`` and ``interpolation`` are OpenCV flags; labels take 0 outside with a constant
    border, images take ``fill``. With ``fill_rows``, ``displacement`` starts uninitialised and
    ``fill_rows(top, bottom, displacement[top:bottom])`` writes each band just before it is used;
    ``displacement`` may then be None (``shape`` giving ``(H, W)``): each band of the field is
    written into a small buffer and no full-size field is kept. The mask is computed band by
    band with the resampling; ``validity=False`` leaves it out, and ``validity()`` then computes
    it on demand (``valid_2d``) from the kept field, or from ``fill_rows`` again without one.

    The band loop stays whole: it is one pass that fills, checks and resamples each band while
    the band is in cache.
    """
    if displacement is not None:
        height, width = displacement.shape[:2]
    elif fill_rows is not None and shape is not None:
        height, width = shape
    else:
        raise ValueError("without a displacement, give fill_rows and shape")
    grid = pixel_grid(height, width)
    jobs, warped, warped_labels = _remap_jobs(images, labels, interpolation, fill)
    valid = np.ones((height, width), dtype=np.bool_) if validity else None
    rows = max(1, BAND_PIXELS // width)
    buffer = np.empty((min(rows, height), width, 2), dtype=np.float32)
    band_field = np.empty_like(buffer) if displacement is None else buffer[:0]
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        field = band_field[: bottom - top] if displacement is None else displacement[top:bottom]
        if fill_rows is not None:
            fill_rows(top, bottom, field)
        maps = np.add(field, grid[top:bottom], out=buffer[: bottom - top])
        reach = _reach(field)
        if valid is not None:
            _valid_band(maps, reach, valid[top:bottom], top, height)
        for source, out, method, value, channels in jobs:
            if channels is None:
                _remap_into(source, maps, out[top:bottom], method, border, value)
            else:
                part = cv2.remap(  # type: ignore[call-overload]
                    source, maps, None, method, borderMode=border, borderValue=value
                )
                out[top:bottom, :, channels] = part.reshape(bottom - top, width, -1)
    if valid is not None:
        return warped, warped_labels, known(valid)
    if displacement is not None:  # complete now: the mask needs only the field
        return warped, warped_labels, functools.partial(valid_2d, displacement)
    return (
        warped,
        warped_labels,
        functools.partial(valid_2d, None, fill_rows=fill_rows, shape=(height, width)),
    )


#: One resampling of :func:`remap_2d`: (source, output, interpolation, border value, channel
#: slice or None).
_RemapJob = tuple[
    npt.NDArray[np.generic], npt.NDArray[np.generic], int, tuple[float, ...], slice | None
]


def _remap_jobs(
    images: Sequence[npt.NDArray[np.generic]],
    labels: Sequence[npt.NDArray[np.integer]],
    interpolation: int,
    fill: float,
) -> tuple[list[_RemapJob], list[npt.NDArray[np.generic]], list[npt.NDArray[np.integer]]]:
    """The resamplings of :func:`remap_2d` and their (uninitialised) outputs: images in slices
    of at most 4 channels (what ``cv2.remap`` takes), labels as bytes with nearest neighbour."""
    border_value = (fill,) * 4
    jobs: list[_RemapJob] = []
    warped = [np.empty(image.shape, image.dtype) for image in images]
    for image, out in zip(images, warped, strict=True):
        if image.ndim == 3 and image.shape[2] > 4:  # cv2.remap takes at most 4 channels
            for c in range(0, image.shape[2], 4):
                part = np.ascontiguousarray(image[..., c : c + 4])
                jobs.append((part, out, interpolation, border_value, slice(c, c + 4)))
        else:
            jobs.append((image, out, interpolation, border_value, None))
    warped_labels = [np.empty(label.shape, label.dtype) for label in labels]
    for label, out in zip(labels, warped_labels, strict=True):
        label_bytes = _byte_view(np.ascontiguousarray(label))
        jobs.append((label_bytes, _byte_view(out), cv2.INTER_NEAREST, (0.0,) * 4, None))
    return jobs, warped, warped_labels


def valid_2d(
    displacement: npt.NDArray[np.float32] | None,
    *,
    fill_rows: Callable[[int, int, npt.NDArray[np.float32]], None] | None = None,
    shape: tuple[int, int] | None = None,
) -> npt.NDArray[np.bool_]:
    """``bool (H, W)``: True where ``p + d(p)`` lies inside the image; ``remap_2d``'s mask.

    Takes the displacement as ``remap_2d`` does (the array, or ``fill_rows`` and ``shape``) and
    resamples nothing.
    """
    _, _, validity = remap_2d(
        displacement,
        (),
        (),
        interpolation=cv2.INTER_NEAREST,
        border=cv2.BORDER_CONSTANT,
        fill=0.0,
        fill_rows=fill_rows,
        shape=shape,
    )
    return validity()
