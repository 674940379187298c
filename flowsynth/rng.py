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


def sample_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """Return the generator of one stream of one sample: ``SeedSequence(seed, spawn_key=(stream, index))``."""
    if seed < 0 or index < 0 or stream < 0:
        raise ValueError(f"seed, index and stream must be >= 0, got {seed}, {index}, {stream}")
    sequence = np.random.SeedSequence(int(seed), spawn_key=(int(stream), int(index)))
    return np.random.Generator(np.random.PCG64(sequence))
