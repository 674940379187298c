"""Layer trajectories over a sequence: each layer's map from frame 1 to every frame ``t``.

A layer's pair motion ``T(p) = A D(p)`` (``scene.transform.LayerMotion``) is one step. Over a
sequence of ``frames`` frames, step ``s`` (frame ``s`` -> ``s + 1``) advances the layer by a rate
``r_s``: ``r_1 = 1`` (so the first pair of a sequence moves as a pair sample does) and

    r_s = 1 + a (s - 1) + e_s        (s >= 2)

with ``a ~ U(-acceleration, acceleration)`` drawn once per layer and ``e_s ~ U(-jitter,
jitter)`` once per step (``recipe.schema.Trajectory``). The layer's progress at frame ``t`` is
``P_t = r_1 + ... + r_(t-1)`` (``P_1 = 0``; ``t - 1`` at constant velocity), and its map from
frame 1 is

    C_t(p) = A^(P_t) D_(P_t)(p)

``A^P`` the affine power (``transform.affine_power``: exact repeated composition for whole
``P``), ``D_P`` the deformation with every shear's amplitude times ``P``
(``Deformation.scaled``): a composition of shears again, exactly invertible. So ``C_t`` is a
``LayerMotion`` itself, and the renderer draws frame ``t`` and the exact ground truth from frame
1 to it without change; ``C_2`` is the pair motion itself.
"""

from __future__ import annotations

import numpy as np

from flowsynth.recipe import schema
from flowsynth.scene.transform import LayerMotion, affine_power

#: A layer's maps from frame 1 to frames ``2 .. frames`` (``C_2 .. C_T``).
Trajectory = tuple[LayerMotion, ...]


def sample_rates(
    cfg: schema.Trajectory, frames: int, *, rng: np.random.Generator
) -> tuple[float, ...]:
    """One layer's rates ``r_1 .. r_(frames - 1)``; ``r_1`` is 1.

    Draws the acceleration, then one jitter per step after the first, whatever the knobs (0
    draws 0), so that switching one knob off does not change what the other draws.
    """
    acceleration = float(rng.uniform(-cfg.acceleration, cfg.acceleration))
    jitter = rng.uniform(-cfg.jitter, cfg.jitter, size=frames - 2).tolist()
    return (1.0, *(1.0 + acceleration * s + e for s, e in enumerate(jitter, start=1)))


def progress(rates: tuple[float, ...]) -> tuple[float, ...]:
    """``P_2 .. P_T`` of rates ``r_1 .. r_(T-1)``: running sums, in Python floats."""
    total, out = 0.0, []
    for rate in rates:
        total += rate
        out.append(total)
    return tuple(out)


def advanced(motion: LayerMotion, amount: float) -> LayerMotion:
    """``C`` at progress ``amount``: the pair motion's affine to that power after its
    deformation scaled by it. ``amount`` 1 gives ``motion`` itself."""
    if amount == 1.0:
        return motion
    deformation = None if motion.deformation is None else motion.deformation.scaled(amount)
    return LayerMotion(affine_power(motion.affine, amount), deformation)


def sample_trajectory(
    cfg: schema.Trajectory, motion: LayerMotion, frames: int, *, rng: np.random.Generator
) -> Trajectory:
    """A layer's ``C_2 .. C_frames`` from its pair motion; ``(motion,)`` for a pair, without a
    draw."""
    if frames == 2:
        return (motion,)
    return tuple(advanced(motion, p) for p in progress(sample_rates(cfg, frames, rng=rng)))
