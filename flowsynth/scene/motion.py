"""Sampling of layer motions and deformations (the numbers; ``scene.transform`` is the maths)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flowsynth.recipe import schema
from flowsynth.scene.transform import Deformation, Shear, affine_about


def sample_value(dist: schema.Distribution, *, rng: np.random.Generator) -> float:
    """One draw of a motion parameter (see ``schema.Distribution``)."""
    low, high = dist.range
    mid, half = 0.5 * (low + high), 0.5 * (high - low)
    triggered = rng.random() < dist.probability
    if dist.law == "uniform":
        value = rng.uniform(low, high)
    else:
        z = rng.standard_normal()
        value = mid + half * math.copysign(abs(z) ** dist.power, z) / dist.divisor
        if not low <= value <= high:
            value = mid
    return float(value) if triggered else mid


def sample_affine(
    table: schema.MotionTable,
    centre: tuple[float, float],
    *,
    rng: np.random.Generator,
    strength: float = 1.0,
) -> npt.NDArray[np.float64]:
    """A 2x3 affine motion about ``centre``; ``strength`` 0 gives the identity, 1 the full draw."""
    tx = sample_value(table.translation, rng=rng)
    ty = sample_value(table.translation, rng=rng)
    angle = sample_value(table.rotation, rng=rng)
    scale = sample_value(table.scale, rng=rng)
    return affine_about(
        centre, strength * angle, 1.0 + strength * (scale - 1.0), (strength * tx, strength * ty)
    )


def sample_deformation(
    cfg: schema.Deformation,
    centre: tuple[float, float],
    size: float,
    *,
    rng: np.random.Generator,
    strength: float = 1.0,
) -> Deformation | None:
    """A smooth invertible deformation of a layer of ``size`` pixels, or None (probability)."""
    if rng.random() >= cfg.probability or strength == 0.0:
        return None
    first_axis = int(rng.integers(2))
    shears = []
    for stage in range(cfg.stages):
        amplitude = rng.uniform(*cfg.amplitude, size=cfg.waves) * size * strength / cfg.waves
        wavelength = rng.uniform(*cfg.wavelength, size=cfg.waves) * size
        phase = rng.uniform(0, 2 * math.pi, size=cfg.waves)
        shears.append(
            Shear(
                axis=(first_axis + stage) % 2,
                amplitude=tuple(float(a) for a in amplitude),
                frequency=tuple(float(2 * math.pi / w) for w in wavelength),
                phase=tuple(float(p) for p in phase),
            )
        )
    return Deformation(centre=(float(centre[0]), float(centre[1])), shears=tuple(shears))


def sample_strength(motion: schema.Motion, *, rng: np.random.Generator) -> float:
    """1 for a normal sample, 0 for a still one, ``small_factor`` for a small-motion one."""
    draw = rng.random()
    if draw < motion.still_probability:
        return 0.0
    if draw < motion.still_probability + motion.small_probability:
        return motion.small_factor
    return 1.0
