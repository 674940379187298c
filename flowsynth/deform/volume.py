"""Resampling of 3D volumes with a backward displacement (the 3D half of ``apply``).

Convention
----------
Volumes are ``(D, H, W[, C])``; the displacement is ``float32 (D, H, W, 3)`` ordered (x, y, z),
x along W, y along H, z along D. Voxel centres sit at integer positions; the volume spans
``[-0.5, n - 0.5]`` on an axis of ``n`` voxels.

Images go through ``scipy.ndimage.map_coordinates`` (exact float64 positions). Labels take the
nearest voxel through integer index arithmetic and one gather, which keeps every integer dtype
exact (``map_coordinates`` computes in float64) and is faster than ``map_coordinates(order=0)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.ndimage

_SCIPY_MODE = {"reflect": "reflect", "constant": "grid-constant", "replicate": "nearest"}


def sample_positions(displacement: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Sample positions ``p + d(p)`` as ``float64 (3, D, H, W)`` in array order (z, y, x)."""
    depth, height, width = displacement.shape[:3]
    positions = np.empty((3, depth, height, width), dtype=np.float64)
    for axis, size in enumerate((depth, height, width)):
        ramp_shape = [1, 1, 1]
        ramp_shape[axis] = size
        ramp = np.arange(size, dtype=np.float64).reshape(ramp_shape)
        np.add(displacement[..., 2 - axis], ramp, out=positions[axis])
    return positions


def remap_volume(
    image: npt.NDArray[np.generic],
    displacement: npt.NDArray[np.float32],
    *,
    order: int = 1,
    border: str = "reflect",
    fill: float = 0.0,
    positions: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.generic]:
    """Resample a volume at ``p + d(p)``: ``(D, H, W[, C]) -> same shape and dtype``.

    ``order`` 1 is trilinear, 3 a cubic spline; integer results are rounded by scipy.
    ``positions`` (from ``sample_positions``) may be passed to share them between volumes.
    """
    if order > 1 and not displacement.any():
        # The spline prefilter and its evaluation round, so order 3 is not bit-exact by itself.
        return image.copy()
    if positions is None:
        positions = sample_positions(displacement)
    mode = _SCIPY_MODE[border]
    if image.ndim == 3:
        return scipy.ndimage.map_coordinates(
            image, positions, order=order, mode=mode, cval=fill, prefilter=order > 1
        )
    out = np.empty_like(image)
    for c in range(image.shape[3]):
        out[..., c] = scipy.ndimage.map_coordinates(
            image[..., c], positions, order=order, mode=mode, cval=fill, prefilter=order > 1
        )
    return out


def _nearest_index(
    coordinate: npt.NDArray[np.float32], size: int, border: str, index_dtype: type
) -> tuple[npt.NDArray[np.signedinteger], npt.NDArray[np.bool_] | None]:
    """Nearest voxel index along one axis, and where the position is inside ``[-0.5, n - 0.5]``.

    ``inside`` is None when every position is inside (the common case, and the fast path).
    Outside, the index follows ``border`` ('reflect' mirrors about the edge, 'replicate' clamps,
    'constant' clamps too and the caller masks those voxels).
    """
    low, high = float(coordinate.min()), float(coordinate.max())
    coordinate = coordinate + np.float32(0.5)
    if low >= -0.5 and high <= size - 0.5:
        # Non-negative: truncation is the floor. (The rare exact n - 0.5 rounds to n: clamp.)
        index: npt.NDArray[np.signedinteger] = coordinate.astype(index_dtype)
        if high == size - 0.5:
            np.minimum(index, size - 1, out=index)
        return index, None
    inside = (coordinate >= 0) & (coordinate <= size)
    index = np.floor(coordinate, out=coordinate).astype(index_dtype)
    if border == "reflect":
        index %= 2 * size
        np.subtract(2 * size - 1, index, out=index, where=index >= size)
    else:
        np.clip(index, 0, size - 1, out=index)
    return index, inside


def remap_labels_3d(
    labels: Sequence[npt.NDArray[np.integer]],
    displacement: npt.NDArray[np.float32],
    *,
    border: str = "reflect",
) -> tuple[list[npt.NDArray[np.integer]], npt.NDArray[np.bool_]]:
    """Nearest-neighbour resampling of label volumes at ``p + d(p)``, and the ``valid`` mask.

    ``[(D, H, W) int], float32 (D, H, W, 3) -> ([(D, H, W) int], bool (D, H, W))``. Values are
    copied, never computed, so the output holds only input values (and 0 outside the input
    with ``border='constant'``).
    """
    spatial = displacement.shape[:3]
    index_dtype = np.int32 if np.prod(spatial, dtype=np.int64) < 2**31 else np.intp
    flat = np.zeros(spatial, dtype=index_dtype)
    valid = np.ones(spatial, dtype=np.bool_)
    for axis, size in enumerate(spatial):
        ramp_shape = [1, 1, 1]
        ramp_shape[axis] = size
        ramp = np.arange(size, dtype=np.float32).reshape(ramp_shape)
        index, inside = _nearest_index(
            displacement[..., 2 - axis] + ramp, size, border, index_dtype
        )
        flat *= size
        flat += index
        if inside is not None:
            valid &= inside
    out = []
    for label in labels:
        warped = np.take(label.reshape(-1), flat)
        if border == "constant":
            np.copyto(warped, 0, where=~valid)
        out.append(warped)
    return out, valid
