"""Random affine transforms, folded into a displacement so that one resampling applies both.

Convention
----------
An affine *matrix* here is homogeneous, ``float64 (3, 3)`` in 2D or ``(4, 4)`` in 3D, acting on
column vectors ``(x, y[, z], 1)`` relative to a centre ``c``. It is the *forward* motion of the
content: the input point ``q`` appears in the output at ``c + A (q - c) + t``. A displacement is a
backward map (see ``flowsynth.deform.fields``), so ``compose_affine`` folds in the inverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt


def _rotation_3d(angles: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Rotation about z, then y, then x (angles in radians, ordered (x, y, z))."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    about_x = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    about_y = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    about_z = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    return about_x @ about_y @ about_z


def sample_affine(
    *,
    ndim: int = 2,
    rotation: float = 0.0,
    scale: tuple[float, float] = (1.0, 1.0),
    shear: float = 0.0,
    flip: bool = False,
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Draw a random forward affine matrix: rotation, isotropic scale, shear and flips.

    ``A = R @ S @ diag(scale * flips)``. All draws happen whatever the options, so switching a
    part off does not change the others. The defaults give exactly the identity.

    Parameters
    ----------
    ndim : 2 or 3.
    rotation : largest rotation in degrees; angles uniform in ``[-rotation, rotation]`` (one angle
        in 2D, one per axis in 3D).
    scale : ``(low, high)``; the scale factor is log-uniform between them.
    shear : largest shear angle in degrees; each off-diagonal shear term of ``S`` is
        ``tan(uniform(-shear, shear))`` (one term in 2D, three in 3D).
    flip : if True, each axis is mirrored with probability 1/2.
    rng : the only source of randomness; draws 5 uniforms in 2D, 10 in 3D.

    Returns
    -------
    float64 (ndim + 1, ndim + 1)
        Homogeneous forward matrix on ``(x, y[, z], 1)`` about the centre (no translation).
    """
    if ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim}")
    low, high = (float(s) for s in scale)
    if not 0 < low <= high:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
    if rotation < 0 or not 0 <= shear < 90:
        raise ValueError(f"need rotation >= 0 and 0 <= shear < 90, got {rotation} and {shear}")
    n_angles = 1 if ndim == 2 else 3
    draws = rng.random(2 * n_angles + 1 + ndim)
    if rotation == 0 and shear == 0 and low == high == 1 and not flip:
        return np.eye(ndim + 1)  # the same draws were made; skip the matrix algebra
    angles = np.deg2rad(rotation * (2.0 * draws[:n_angles] - 1.0))
    shears = np.tan(np.deg2rad(shear * (2.0 * draws[n_angles : 2 * n_angles] - 1.0)))
    factor = (
        low
        if low == high
        else float(np.exp(np.log(low) + draws[2 * n_angles] * np.log(high / low)))
    )
    flips = np.where(flip & (draws[2 * n_angles + 1 :] < 0.5), -1.0, 1.0)
    if ndim == 2:
        cos, sin = float(np.cos(angles[0])), float(np.sin(angles[0]))
        rotate = np.array([[cos, -sin], [sin, cos]])
        shearing = np.array([[1.0, shears[0]], [0.0, 1.0]])
    else:
        rotate = _rotation_3d(angles)
        shearing = np.eye(3)
        shearing[0, 1], shearing[0, 2], shearing[1, 2] = shears
    matrix = np.eye(ndim + 1)
    matrix[:ndim, :ndim] = rotate @ shearing @ np.diag(factor * flips)
    return matrix


def default_centre(shape: Sequence[int]) -> tuple[float, ...]:
    """Centre of an image of ``shape`` ((H, W) or (D, H, W)) in (x, y[, z]) pixel coordinates."""
    return tuple((n - 1) / 2.0 for n in reversed(tuple(shape)))


def compose_affine(
    displacement: npt.NDArray[np.float32],
    matrix: npt.NDArray[np.floating],
    *,
    centre: Sequence[float] | None = None,
) -> npt.NDArray[np.float32]:
    """Fold a forward affine transform into a backward displacement: one map, one resampling.

    ``float32 (H, W, 2) or (D, H, W, 3), (n+1, n+1) -> same shape``. The content is first moved
    by ``matrix`` about ``centre``, then deformed by ``displacement`` (defined on the output
    grid). With ``M = A^-1`` (translation ``t``), output pixel ``p`` samples the input at
    ``c + M (p + d(p) - c - t)``; the result is that position minus ``p``. Exact, no
    approximation. The identity matrix returns ``displacement`` itself, bit for bit.

    Parameters
    ----------
    displacement : backward map, components (x, y[, z]).
    matrix : forward homogeneous matrix, as from ``sample_affine``.
    centre : (x, y[, z]) centre in pixels; default the image centre ``((W - 1) / 2, ...)``.
    """
    ndim = displacement.shape[-1]
    spatial = displacement.shape[:-1]
    if ndim not in (2, 3) or len(spatial) != ndim:
        raise ValueError(
            f"displacement must be (H, W, 2) or (D, H, W, 3), got {displacement.shape}"
        )
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (ndim + 1, ndim + 1):
        raise ValueError(f"matrix must be {(ndim + 1, ndim + 1)}, got {matrix.shape}")
    if np.array_equal(matrix, np.eye(ndim + 1)):
        return displacement
    fold = affine_folder(matrix, spatial, centre=centre)
    return fold(np.asarray(displacement, dtype=np.float32), 0)


def affine_folder(
    matrix: npt.NDArray[np.floating],
    shape: Sequence[int],
    *,
    centre: Sequence[float] | None = None,
) -> Callable[[npt.NDArray[np.float32], int], npt.NDArray[np.float32]]:
    """``compose_affine`` for one band of rows: ``fold(band, top) -> folded band``.

    ``band`` holds rows ``top:top + n`` (first array axis) of a displacement of ``shape``.
    """
    ndim = len(shape)
    centre = default_centre(shape) if centre is None else tuple(float(c) for c in centre)
    if len(centre) != ndim:
        raise ValueError(f"centre must have {ndim} coordinates, got {centre}")
    inverse = np.linalg.inv(np.asarray(matrix, dtype=np.float64))
    linear, shift = inverse[:ndim, :ndim], inverse[:ndim, ndim]
    linear_t = linear.T.astype(np.float32)
    offset = linear - np.eye(ndim)

    def fold(band: npt.NDArray[np.float32], top: int) -> npt.NDArray[np.float32]:
        # (M - I)(p - c) + M d(p) + shift, where shift = -M t; the (M - I) part is a sum of one
        # broadcast ramp per axis, so no full coordinate grid is built.
        out = band @ linear_t
        out += shift.astype(np.float32)
        for j in range(ndim):
            axis = ndim - 1 - j  # component j (x, y, z) runs along array axis ndim - 1 - j
            ramp_shape = [1] * (ndim + 1)
            ramp_shape[axis] = band.shape[axis]
            first = top if axis == 0 else 0
            ramp = np.arange(first, first + band.shape[axis]) - centre[j]
            out += (ramp.reshape(ramp_shape) * offset[:, j]).astype(np.float32)
        return out

    return fold
