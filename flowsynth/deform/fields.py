"""Elastic deformation fields as backward maps, in 2D and 3D.

Convention
----------
A *displacement* ``d`` is a backward map: output pixel ``p`` samples the input at ``p + d(p)``.
Its components come last and are ordered like flow, x first:

- 2D: ``float32 (H, W, 2)``, ``d[..., 0]`` along x (columns, right), ``d[..., 1]`` along y (rows,
  down).
- 3D: ``float32 (D, H, W, 3)``, ordered ``(x, y, z)``: x along W, y along H, z along D.

Pixel centres sit at integer positions (see ``flowsynth.base.conventions``), so an image of ``W``
columns spans ``[-0.5, W - 0.5]``. A zero displacement is the identity, and every sampler here
returns exactly zero at zero strength (it still draws its random numbers, so switching an effect
off does not change what later draws see).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from flowsynth.deform import kernels

DISPLACEMENT_DTYPE = np.float32


def _spatial_shape(shape: Sequence[int]) -> tuple[int, ...]:
    spatial = tuple(int(n) for n in shape)
    if len(spatial) not in (2, 3) or min(spatial) < 1:
        raise ValueError(f"shape must be (H, W) or (D, H, W) with sizes >= 1, got {tuple(shape)}")
    return spatial


def _curvatures(nodes: int) -> npt.NDArray[np.float64]:
    """``G[k, j]``: ``h**2 / 6`` times the second derivative at node ``k`` of the natural cubic
    spline through node values ``e_j`` (1 at node ``j``, 0 elsewhere) on evenly spaced nodes.

    The natural spline's second derivatives ``M`` solve ``M[k-1] + 4 M[k] + M[k+1] = 6 / h**2
    (y[k-1] - 2 y[k] + y[k+1])`` with ``M`` zero on the end nodes; so ``G = M h**2 / 6`` solves
    the same system with right-hand side ``y[k-1] - 2 y[k] + y[k+1]``, free of ``h``. Solved by
    tridiagonal elimination, every column at once with elementwise operations (no LAPACK, whose
    kernels round by CPU), so that the weights round alike on every machine.
    """
    curvature = np.zeros((nodes, nodes))
    inner = nodes - 2
    if inner < 1:
        return curvature
    rhs = np.zeros((inner, nodes))  # row k: the equation of interior node k + 1
    rows = np.arange(inner)
    rhs[rows, rows] = 1.0
    rhs[rows, rows + 1] = -2.0
    rhs[rows, rows + 2] = 1.0
    diagonal = [4.0] * inner  # forward elimination (off-diagonals 1)
    for k in range(1, inner):
        diagonal[k] = 4.0 - 1.0 / diagonal[k - 1]
        rhs[k] -= rhs[k - 1] / diagonal[k - 1]
    solution = curvature[1:-1]
    solution[-1] = rhs[-1] / diagonal[-1]
    for k in range(inner - 2, -1, -1):
        solution[k] = (rhs[k] - solution[k + 1]) / diagonal[k]
    return curvature


@functools.lru_cache(maxsize=64)
def spline_weights(length: int, nodes: int) -> npt.NDArray[np.float32]:
    """Natural cubic spline weights from ``nodes`` grid values to ``length`` pixels.

    The nodes sit evenly spaced over the pixel centres, the first on pixel 0 and the last on
    pixel ``length - 1`` (so a 3-node grid has nodes on both image edges and the centre). Row
    ``i`` holds the weights of the spline through the node values evaluated at pixel ``i``; the
    spline interpolates (it passes through every node value) and is C2-smooth. Two nodes give
    linear interpolation.

    Computed in float64 with elementwise operations only (no BLAS or LAPACK, which round by
    CPU), then rounded to float32: the same bytes on every machine.

    Returns
    -------
    float32 (length, nodes)
        Read-only and cached: the same array is shared between calls.
    """
    if length < 1 or nodes < 2:
        raise ValueError(f"need length >= 1 and nodes >= 2, got {length} and {nodes}")
    weights = np.zeros((length, nodes))
    if length == 1:
        weights[0, 0] = 1.0
    else:
        # Pixel i lies in the interval [k, k + 1] of nodes, a fraction b = (i - x_k) / h past
        # node k, with h = (length - 1) / (nodes - 1): integer numerators, one rounding each.
        span, parts = length - 1, nodes - 1
        pixel = np.arange(length)
        k = np.minimum(pixel * parts // span, parts - 1)
        b = (pixel * parts - k * span) / span
        a = ((k + 1) * span - pixel * parts) / span
        curvature = _curvatures(nodes)
        # S = a y_k + b y_k+1 + (a**3 - a) G_k + (b**3 - b) G_k+1, for y = each unit vector.
        weights += (a * (a * a - 1.0))[:, None] * curvature[k]
        weights += (b * (b * b - 1.0))[:, None] * curvature[k + 1]
        weights[pixel, k] += a
        weights[pixel, k + 1] += b
    result = weights.astype(np.float32)
    result.flags.writeable = False
    return result


def grid_nodes(
    shape: Sequence[int], *, grid: int | Sequence[int] | None = None, spacing: float | None = None
) -> tuple[int, ...]:
    """Number of grid nodes along each axis of ``shape``, from ``grid`` or from ``spacing``.

    ``grid`` is a node count per axis (an int for all axes, or one per axis in array order:
    ``(rows, cols)`` or ``(slices, rows, cols)``). ``spacing`` asks for nodes at most ``spacing``
    pixels apart: ``ceil((n - 1) / spacing) + 1`` nodes on an axis of ``n`` pixels. Neither given
    means 3 nodes per axis (U-Net). Every axis gets at least 2 nodes.
    """
    spatial = _spatial_shape(shape)
    if grid is not None and spacing is not None:
        raise ValueError("give either grid or spacing, not both")
    if spacing is not None:
        if not spacing > 0:
            raise ValueError(f"spacing must be > 0, got {spacing}")
        return tuple(max(2, math.ceil((n - 1) / spacing) + 1) for n in spatial)
    counts = (3,) * len(spatial) if grid is None else grid
    if isinstance(counts, int | np.integer):
        counts = (int(counts),) * len(spatial)
    counts = tuple(int(g) for g in counts)
    if len(counts) != len(spatial) or min(counts) < 2:
        raise ValueError(f"grid must give >= 2 nodes for each of {len(spatial)} axes, got {grid}")
    return counts


def interpolate_grid(
    values: npt.NDArray[np.floating], shape: Sequence[int]
) -> npt.NDArray[np.float32]:
    """Interpolate node values to every pixel with separable natural cubic splines.

    ``float (g0, g1[, g2], C), shape -> float32 (*shape, C)``. Node placement is that of
    ``spline_weights``. Cost: one small matrix product per axis (``kernels.expand``: float32,
    summed in a fixed order; +0.0 for all-zero values).
    """
    spatial = _spatial_shape(shape)
    if values.ndim != len(spatial) + 1:
        raise ValueError(
            f"values must be (*grid, C) for a {len(spatial)}D shape, got {values.shape}"
        )
    field = np.ascontiguousarray(values, dtype=np.float32)
    # Expand the last spatial axis first: every step is a batched (n, g) @ (g, rest) product on a
    # reshaped (never copied) view, and the big array appears only in the last step.
    for axis in reversed(range(len(spatial))):
        current = field.shape
        batch = math.prod(current[:axis])
        rest = math.prod(current[axis + 1 :])
        expanded = np.empty((*current[:axis], spatial[axis], *current[axis + 1 :]), np.float32)
        kernels.expand(
            spline_weights(spatial[axis], current[axis]),
            field.reshape(batch, current[axis], rest),
            expanded.reshape(batch, spatial[axis], rest),
        )
        field = expanded
    return field


def grid_rows(
    values: npt.NDArray[np.floating], shape: Sequence[int]
) -> Callable[[int, int, npt.NDArray[np.float32]], None]:
    """Evaluate ``interpolate_grid(values, shape)`` (2D) one band of rows at a time.

    Returns ``fill(top, bottom, out)``, which writes rows ``top:bottom`` of the field into
    ``out`` (``float32 (bottom - top, W, 2)``), so that a consumer can use each band while it is
    in cache instead of reading back a full-size field.
    """
    height, width = _spatial_shape(shape)
    if values.ndim != 3 or values.shape[2] != 2:
        raise ValueError(f"values must be (gy, gx, 2) for a 2D shape, got {values.shape}")
    nodes_y, nodes_x = values.shape[:2]
    across = np.empty((nodes_y, width, 2), np.float32)  # the field along every node row
    kernels.expand(
        spline_weights(width, nodes_x), np.ascontiguousarray(values, dtype=np.float32), across
    )
    across = across.reshape(1, nodes_y, width * 2)
    down = spline_weights(height, nodes_y)

    def fill(top: int, bottom: int, out: npt.NDArray[np.float32]) -> None:
        kernels.expand(down[top:bottom], across, out.reshape(1, bottom - top, width * 2))

    return fill


def sample_grid_nodes(
    shape: Sequence[int],
    *,
    grid: int | Sequence[int] | None = None,
    spacing: float | None = None,
    sigma: float = 10.0,
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """The random node values of ``sample_grid_displacement``: ``float32 (*nodes, ndim)``.

    ``sample_grid_displacement(shape, ..., rng=rng)`` equals
    ``interpolate_grid(sample_grid_nodes(shape, ..., rng=rng), shape)``; the draws are the same.
    """
    spatial = _spatial_shape(shape)
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    nodes = grid_nodes(spatial, grid=grid, spacing=spacing)
    draws = rng.standard_normal((*nodes, len(spatial)), dtype=np.float32)
    if sigma == 0:
        return np.zeros_like(draws)
    return draws * np.float32(sigma)


def sample_grid_displacement(
    shape: Sequence[int],
    *,
    grid: int | Sequence[int] | None = None,
    spacing: float | None = None,
    sigma: float = 10.0,
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """U-Net style field: N(0, sigma) vectors on a coarse grid, cubic-spline interpolated.

    Ronneberger et al. (2015) use a 3x3 grid and sigma 10 px in 2D; Cicek et al. (3D U-Net, 2016)
    a grid every 32 voxels and sigma 4. Grid nodes: see ``grid_nodes`` and ``spline_weights``
    (nodes on the edge pixels and evenly spaced between them).

    Parameters
    ----------
    shape : (H, W) or (D, H, W)
    grid, spacing : node count per axis, or the largest node spacing in pixels (not both;
        default 3 nodes per axis).
    sigma : standard deviation of each component at the nodes, in pixels; 0 gives exactly zero.
    rng : the only source of randomness; draws ``prod(grid) * ndim`` standard normals.

    Returns
    -------
    float32 (H, W, 2) or (D, H, W, 3)
        Backward displacement, components ordered (x, y[, z]).
    """
    spatial = _spatial_shape(shape)
    values = sample_grid_nodes(spatial, grid=grid, spacing=spacing, sigma=sigma, rng=rng)
    return interpolate_grid(values, spatial)


def sample_smoothed_displacement(
    shape: Sequence[int], *, alpha: float, sigma: float, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """Simard style field: uniform(-1, 1) noise per pixel, Gaussian-smoothed, times ``alpha``.

    Simard et al. (2003). Each component is smoothed on its own with a Gaussian of standard
    deviation ``sigma`` pixels (truncated at 4 sigma, reflecting borders; ``gaussian_smooth``),
    then scaled by ``alpha`` pixels. Much slower than ``sample_grid_displacement`` (a per-pixel
    draw and a large blur), kept for recipes that copy Simard's parameters.

    Parameters
    ----------
    shape : (H, W) or (D, H, W)
    alpha : scale in pixels; 0 gives exactly zero.
    sigma : smoothing standard deviation in pixels, > 0.
    rng : the only source of randomness; draws ``prod(shape) * ndim`` uniforms.

    Returns
    -------
    float32 (H, W, 2) or (D, H, W, 3)
        Backward displacement, components ordered (x, y[, z]).
    """
    spatial = _spatial_shape(shape)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    noise = rng.random((*spatial, len(spatial)), dtype=np.float32)
    if alpha == 0:
        return np.zeros((*spatial, len(spatial)), dtype=DISPLACEMENT_DTYPE)
    noise *= np.float32(2.0)
    noise -= np.float32(1.0)
    smooth = gaussian_smooth(noise, sigma)
    smooth *= np.float32(alpha)
    return smooth


def gaussian_weights(sigma: float) -> npt.NDArray[np.float32]:
    """The normalised Gaussian of standard deviation ``sigma`` pixels at the integer offsets
    ``-r .. r``, ``r = ceil(4 sigma)``: ``float32 (2 r + 1,)``, computed in float64 with
    ``kernels.exp`` and summed in order (the same on every machine)."""
    radius = math.ceil(4.0 * sigma)
    half = [kernels.exp(-(t * t) / (2.0 * sigma * sigma)) for t in range(radius + 1)]
    taps = half[:0:-1] + half  # symmetric, as kernels.correlate needs
    total = 0.0
    for tap in taps:
        total += tap
    return np.array([tap / total for tap in taps], np.float32)


def gaussian_smooth(field: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    """Each component of ``float32 (*spatial, C)`` smoothed along every spatial axis by
    :func:`gaussian_weights`, the image extended by mirroring about its edges (``cba|abc``),
    one axis after another (``kernels.correlate``); a new array."""
    weights = gaussian_weights(sigma)
    current = np.ascontiguousarray(field, dtype=np.float32)
    spare = None  # an array a pass may overwrite (never the caller's)
    for axis in range(current.ndim - 1):
        shape = current.shape
        lines = (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :]))
        out = np.empty_like(current) if spare is None else spare
        kernels.correlate(current.reshape(lines), weights, out.reshape(lines))
        spare = None if current is field else current
        current = out
    return current
