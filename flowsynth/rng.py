"""Where every random number in flowsynth comes from.

A sample is a pure function of ``(recipe, seed, index)``: its generators are built from
``SeedSequence(seed, spawn_key=(stream, index))``, so no worker holds RNG state and the result is
the same for any number of workers, any order and any machine. Each stage of sampling draws from a
stream of its own, so switching one effect off does not change what the others draw.
"""

from __future__ import annotations

import enum

import numpy as np


class Stream(enum.IntEnum):
    """One random stream per sampling stage."""

    LAYOUT = 0  # object count, shapes, positions
    TEXTURE = 1
    MOTION = 2
    DEFORMATION = 3
    ELASTIC = 4  # elastic deformation of segmentation pairs
    AUGMENT = 5  # training-time augmentation
    MIX = 6  # choice of the source in dataset mixtures


def sample_rng(seed: int, index: int, stream: int, *part: int) -> np.random.Generator:
    """The generator of one stream of one sample: ``SeedSequence(seed, spawn_key=(stream, index))``.

    ``part`` extends the key for draws that must not depend on each other (the texture of object
    ``k`` is keyed ``(TEXTURE, index, k)``, so it does not change when another object is skipped).
    """
    key = (int(stream), int(index), *(int(p) for p in part))
    if int(seed) < 0 or min(key) < 0:
        raise ValueError(f"seed, index, stream and parts must be >= 0, got {seed}, {key}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=key)
    return np.random.Generator(np.random.PCG64(sequence))
