"""Random affine transforms, folded into a displacement so that one resampling applies both.

Convention
----------
An affine *matrix* here is homogeneous, ``float64 (3, 3)`` in 2D or ``(4, 4)`` in 3D, acting on
column vectors ``(x, y[, z], 1)`` relative to a centre ``c``. It is the *forward* motion of the
content: the input point ``q`` appears in the output at ``c + A (q - c) + t``. A displacement is a
backward map (see ``flowsynth.deform.fields``), so ``compose_affine`` folds in the inverse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from flowsynth.base.matrices import Matrix, array, invert, product
from flowsynth.deform import kernels


def _rotation_3d(angles: list[float]) -> Matrix:
    """Rotation about z, then y, then x (angles in radians, ordered (x, y, z))."""
    cx, cy, cz = (math.cos(a) for a in angles)
    sx, sy, sz = (math.sin(a) for a in angles)
    about_x = [[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]]
    about_y = [[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]]
    about_z = [[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]]
    return product(about_x, about_y, about_z)


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
    return _affine_from_draws(draws, ndim, rotation, (low, high), shear, flip)


def _affine_from_draws(
    draws: npt.NDArray[np.float64],
    ndim: int,
    rotation: float,
    scale: tuple[float, float],
    shear: float,
    flip: bool,
) -> npt.NDArray[np.float64]:
    """The matrix of :func:`sample_affine` from its uniform ``draws`` (angles, shears, scale,
    flips, in that order) and its checked options."""
    low, high = scale
    n_angles = 1 if ndim == 2 else 3
    # Python floats and the C library's functions: numpy's SIMD tan/exp/log and BLAS products
    # round differently on other CPUs (see flowsynth.base.matrices).
    values = [float(d) for d in draws]
    angles = [math.radians(rotation * (2.0 * d - 1.0)) for d in values[:n_angles]]
    shears = [
        math.tan(math.radians(shear * (2.0 * d - 1.0))) for d in values[n_angles : 2 * n_angles]
    ]
    factor = (
        low
        if low == high
        else math.exp(math.log(low) + values[2 * n_angles] * math.log(high / low))
    )
    flips = [-1.0 if flip and d < 0.5 else 1.0 for d in values[2 * n_angles + 1 :]]
    if ndim == 2:
        cos, sin = math.cos(angles[0]), math.sin(angles[0])
        rotate = [[cos, -sin], [sin, cos]]
        shearing = [[1.0, shears[0]], [0.0, 1.0]]
    else:
        rotate = _rotation_3d(angles)
        shearing = [[1.0, shears[0], shears[1]], [0.0, 1.0, shears[2]], [0.0, 0.0, 1.0]]
    diagonal = [[factor * f if i == j else 0.0 for j in range(ndim)] for i, f in enumerate(flips)]
    matrix = np.eye(ndim + 1)
    matrix[:ndim, :ndim] = array(product(rotate, shearing, diagonal))
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
    if np.array_equal(matrix, np.eye(ndim + 1)):
        return displacement
    fold = affine_folder(matrix, spatial, centre=centre)  # (checks the matrix)
    return fold(np.asarray(displacement, dtype=np.float32), 0)


def affine_folder(
    matrix: npt.NDArray[np.floating],
    shape: Sequence[int],
    *,
    centre: Sequence[float] | None = None,
) -> Callable[..., npt.NDArray[np.float32]]:
    """``compose_affine`` for one band of rows: ``fold(band, top[, out]) -> folded band``.

    ``band`` holds rows ``top:top + n`` (first array axis) of a displacement of ``shape``; the
    result goes into ``out`` if given (which may be ``band`` itself), else a new array. Computed
    in float64 and rounded once (``kernels.fold_2d``), with the inverse matrix in Python floats:
    the same bytes on every machine.
    """
    ndim = len(shape)
    centre = default_centre(shape) if centre is None else tuple(float(c) for c in centre)
    if len(centre) != ndim:
        raise ValueError(f"centre must have {ndim} coordinates, got {centre}")
    matrix = np.asarray(matrix, dtype=np.float64)
    last = np.eye(ndim + 1)[ndim]
    if matrix.shape != (ndim + 1, ndim + 1) or not np.array_equal(matrix[ndim], last):
        raise ValueError(
            f"matrix must be an affine {ndim + 1}x{ndim + 1} matrix (last row 0 ... 0 1), "
            f"got {matrix.tolist()}"
        )
    inverse = array(invert(matrix))  # Python floats (LAPACK's inverse rounds by CPU)
    linear = np.ascontiguousarray(inverse[:ndim, :ndim])
    shift = np.ascontiguousarray(inverse[:ndim, ndim])
    place = np.array(centre, dtype=np.float64)
    kernel = kernels.fold_2d if ndim == 2 else kernels.fold_3d

    def fold(
        band: npt.NDArray[np.float32], top: int, out: npt.NDArray[np.float32] | None = None
    ) -> npt.NDArray[np.float32]:
        # (M - I)(p - c) + M d(p) + shift, where shift = -M t.
        if out is None:
            out = np.empty(band.shape, np.float32)
        kernel(np.ascontiguousarray(band, dtype=np.float32), out, top, linear, shift, place)
        return out

    return fold
