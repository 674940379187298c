"""Layer motions: an affine map after an optional smooth, exactly invertible deformation.

A layer's motion maps a frame-1 position ``p`` to its frame-2 position
``T(p) = A @ D(p) + b``. ``D`` is a composition of shears alternating between the axes; each shear
moves one coordinate by a smooth function of the other, which it leaves unchanged, so it is undone
exactly by subtracting the same function: ``D^-1`` is exact to floating-point rounding, and so are
forward flow, backward flow and occlusion.

No randomness here: ``scene.motion`` samples the parameters. The renderer (and the planner, for
the frame border) computes the same maps in compiled code (``kernels.map_points`` for outlines,
``kernels.composite`` for pixels; arguments from :meth:`LayerMotion.kernel_args`), with a
polynomial float32 sine (``kernels.sin32``) that agrees with the ``np.sin`` used here to ~1e-7;
both of its paths use that one sine, so outlines and pixels move exactly alike.
"""

from __future__ import annotations

import cmath
import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from flowsynth.scene.kernels import Motion

Points = npt.NDArray[np.float64]
Grid = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class Shear:
    """``axis`` coordinate += sum_i amplitude_i * sin(frequency_i * other + phase_i).

    ``axis`` 0 moves x by a function of y; ``axis`` 1 moves y by a function of x. Coordinates are
    relative to the deformation's centre.
    """

    axis: int
    amplitude: tuple[float, ...]
    frequency: tuple[float, ...]  # radians per pixel
    phase: tuple[float, ...]

    def offset(self, other: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
        """The shift at ``other`` (same dtype).

        Sines are taken in float32 for every dtype: numpy vectorises them (~30x faster than
        float64 sines here), and their ~1e-7 relative error moves a point by ~1e-5 px, far below
        the outline tolerance. The inverse stays exact: it subtracts the same value, computed from
        the same ``other``.
        """
        total = np.zeros_like(other)
        wave = np.empty(other.shape, np.float32)
        for a, k, phi in zip(self.amplitude, self.frequency, self.phase, strict=True):
            np.multiply(other, other.dtype.type(k), out=wave, casting="same_kind")
            wave += np.float32(phi)
            np.sin(wave, out=wave)
            wave *= np.float32(a)
            total += wave
        return total


@dataclass(frozen=True)
class Deformation:
    """``D = S_n o ... o S_1`` about ``centre``; the first shear is applied first."""

    centre: tuple[float, float]
    shears: tuple[Shear, ...]

    def apply(
        self, x: npt.NDArray[np.floating], y: npt.NDArray[np.floating], *, inverse: bool = False
    ):
        """Deform (or undo the deformation of) points given as broadcastable ``x``, ``y`` arrays."""
        dtype = np.result_type(x, y)
        cx, cy = dtype.type(self.centre[0]), dtype.type(self.centre[1])
        local = [np.asarray(x, dtype) - cx, np.asarray(y, dtype) - cy]
        for shear in reversed(self.shears) if inverse else self.shears:
            moved, other = shear.axis, 1 - shear.axis
            shift = shear.offset(local[other])
            local[moved] = local[moved] - shift if inverse else local[moved] + shift
        return local[0] + cx, local[1] + cy

    @functools.cached_property
    def packed(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The shears as arrays for the renderer's kernels: ``axes (S,)``, ``ends (S,)`` (one
        past each shear's last wave) and ``waves (n, 3)`` (amplitude, frequency, phase)."""
        axes = np.array([s.axis for s in self.shears], np.int64)
        ends = np.cumsum([len(s.amplitude) for s in self.shears], dtype=np.int64)
        waves = np.array(
            [w for s in self.shears for w in zip(s.amplitude, s.frequency, s.phase, strict=True)],
            np.float64,
        ).reshape(-1, 3)
        return axes, ends, waves

    @functools.cached_property
    def curvature(self) -> float:
        """A bound on the curvature of the deformed image of a straight line: the summed
        ``|a| k^2`` of every wave of every shear."""
        return sum(
            abs(a) * k * k
            for s in self.shears
            for a, k in zip(s.amplitude, s.frequency, strict=True)
        )

    def scaled(self, factor: float) -> Deformation:
        """The deformation with every wave's amplitude multiplied by ``factor``: still a
        composition of shears, so still exactly invertible (``factor`` 0: the identity, negative:
        the shifts reversed). ``factor`` 1 gives ``self``."""
        if factor == 1.0:
            return self
        shears = tuple(
            dataclasses.replace(s, amplitude=tuple(a * factor for a in s.amplitude))
            for s in self.shears
        )
        return Deformation(centre=self.centre, shears=shears)

    def max_edge(self, tolerance: float) -> float:
        """Longest straight edge whose deformed image stays within ``tolerance`` px of a chord.

        A curve with curvature ``K`` (at most :attr:`curvature`) bulges ``K L^2 / 8`` from a
        chord of length ``L``.
        """
        curvature = self.curvature
        if curvature <= 0:
            return 16.0
        return float(min(max((8.0 * tolerance / curvature) ** 0.5, 0.1), 16.0))


#: ``Deformation.packed`` of no deformation, for :meth:`LayerMotion.kernel_args`.
_NO_SHEARS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3), np.float64))


def _inverse_affine(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The inverse of a 2x3 affine matrix, in Python floats (see :func:`compose`)."""
    (a, b, tx), (c, d, ty) = matrix.tolist()
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return np.array([[ia, ib, -(ia * tx + ib * ty)], [ic, id_, -(ic * tx + id_ * ty)]])


@dataclass(frozen=True, eq=False)
class LayerMotion:
    """Frame-1 -> frame-2 map of one layer: ``T(p) = affine @ [D(p), 1]``."""

    affine: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(2, 3))
    deformation: Deformation | None = None

    @functools.cached_property
    def inverse_affine(self) -> npt.NDArray[np.float64]:
        return _inverse_affine(self.affine)

    @property
    def is_identity(self) -> bool:
        return self.deformation is None and bool(np.array_equal(self.affine, np.eye(2, 3)))

    def kernel_args(self, *, inverse: bool) -> Motion:
        """The motion as ``flowsynth.scene.kernels`` takes it, one argument: ``(affine, centre x,
        centre y, axes, ends, waves, inverse)``, ``affine`` being the inverse matrix for the
        inverse map."""
        deformation = self.deformation
        (cx, cy), (axes, ends, waves) = (
            ((0.0, 0.0), _NO_SHEARS)
            if deformation is None
            else (deformation.centre, deformation.packed)
        )
        return self.inverse_affine if inverse else self.affine, cx, cy, axes, ends, waves, inverse

    def forward(self, points: Points) -> Points:
        """``float64 (n, 2)`` frame-1 points -> frame-2 points."""
        x, y = points[:, 0], points[:, 1]
        if self.deformation is not None:
            x, y = self.deformation.apply(x, y)
        return _affine_points(self.affine, x, y)

    def inverse(self, points: Points) -> Points:
        """``float64 (n, 2)`` frame-2 points -> frame-1 points."""
        moved = _affine_points(self.inverse_affine, points[:, 0], points[:, 1])
        if self.deformation is None:
            return moved
        x, y = self.deformation.apply(moved[:, 0], moved[:, 1], inverse=True)
        return np.stack([x, y], axis=1)

    def forward_grid(self, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]) -> Grid:
        """Frame-2 positions ``float32 (h, w)`` of pixel centres ``x (1, w)``, ``y (h, 1)``: the
        numpy form of what ``kernels.composite`` computes row by row (tests compare the two)."""
        if self.deformation is not None:
            x, y = self.deformation.apply(x, y)
        return _affine_grid(self.affine, x, y)

    def inverse_grid(self, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]) -> Grid:
        """Frame-1 positions ``float32 (h, w)`` of frame-2 centres ``x (1, w)``, ``y (h, 1)``."""
        u, v = _affine_grid(self.inverse_affine, x, y)
        if self.deformation is not None:
            u, v = self.deformation.apply(u, v, inverse=True)
        return u, v


def _affine_points(matrix: npt.NDArray[np.float64], x: Points, y: Points) -> Points:
    return np.stack(
        [
            matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2],
            matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2],
        ],
        axis=1,
    )


def _affine_grid(
    matrix: npt.NDArray[np.float64], x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]
) -> Grid:
    m = matrix.astype(np.float32)
    u = m[0, 0] * x + (m[0, 1] * y + m[0, 2])
    v = m[1, 0] * x + (m[1, 1] * y + m[1, 2])
    shape = np.broadcast_shapes(np.shape(x), np.shape(y))
    return np.broadcast_to(u, shape), np.broadcast_to(v, shape)


def affine_about(
    centre: tuple[float, float], angle_deg: float, scale: float, translation: tuple[float, float]
) -> npt.NDArray[np.float64]:
    """2x3 matrix: rotate by ``angle_deg`` and scale about ``centre``, then translate."""
    theta = math.radians(angle_deg)
    c, s = math.cos(theta) * scale, math.sin(theta) * scale
    cx, cy = float(centre[0]), float(centre[1])
    return np.array(
        [
            [c, -s, cx - (c * cx - s * cy) + float(translation[0])],
            [s, c, cy - (s * cx + c * cy) + float(translation[1])],
        ]
    )


def compose(
    outer: npt.NDArray[np.float64], inner: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The 2x3 matrix of ``outer o inner``.

    In Python floats, one rounding per operation: numpy's ``@`` and ``linalg.inv`` call BLAS
    and LAPACK, whose kernels (chosen by CPU) round 2x2 products differently, so motions would
    differ in their last bits from one machine to another.
    """
    (a, b, tx), (c, d, ty) = outer.tolist()
    (e, f, ux), (g, h, uy) = inner.tolist()
    return np.array(
        [
            [a * e + b * g, a * f + b * h, a * ux + b * uy + tx],
            [c * e + d * g, c * f + d * h, c * ux + d * uy + ty],
        ]
    )


def affine_power(matrix: npt.NDArray[np.float64], exponent: float) -> npt.NDArray[np.float64]:
    """The 2x3 matrix of ``matrix`` applied ``exponent`` times.

    An integer ``exponent`` composes the matrix (or its inverse) that many times with
    :func:`compose`, in Python floats: ``exponent`` 1 gives the matrix's own values, 0 the
    identity. A fractional one needs a similarity (rotation, uniform zoom and translation, as
    every sampled motion is), written ``z -> a z + b`` on complex numbers: its power is
    ``z -> a^e z + b (a^e - 1) / (a - 1)``, ``a^e`` taken on the principal branch (a rotation
    by the smaller angle, so a turn past 180 degrees goes back the short way).
    """
    if float(exponent).is_integer():
        step = matrix if exponent >= 0 else _inverse_affine(matrix)
        result = np.eye(2, 3)
        for _ in range(int(abs(exponent))):
            result = compose(step, result)
        return result if exponent != 1 else np.array(matrix, dtype=np.float64)
    (m00, m01, tx), (m10, m11, ty) = matrix.tolist()
    size = max(abs(m00), abs(m01), abs(m10), abs(m11), 1e-300)
    if abs(m00 - m11) > 1e-9 * size or abs(m01 + m10) > 1e-9 * size:
        raise ValueError(f"a fractional power needs a similarity, got {matrix.tolist()}")
    log_a = cmath.log(complex(0.5 * (m00 + m11), 0.5 * (m10 - m01)))
    power = cmath.exp(exponent * log_a)
    shift = complex(tx, ty) * (exponent if log_a == 0 else _expm1(exponent * log_a) / _expm1(log_a))
    return np.array([[power.real, -power.imag, shift.real], [power.imag, power.real, shift.imag]])


def _expm1(z: complex) -> complex:
    """``exp(z) - 1`` without cancellation near 0 (``cmath`` has no ``expm1``)."""
    if abs(z) < 1e-4:
        return z * (1 + z / 2 * (1 + z / 3 * (1 + z / 4)))
    return cmath.exp(z) - 1
