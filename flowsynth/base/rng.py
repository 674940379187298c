"""Where every random number in flowsynth comes from.

A sample is a pure function of ``(recipe, seed, index)``: its generators are built from
``SeedSequence(seed, spawn_key=(stream, index))``, so no worker holds RNG state and the result is
the same for any number of workers, any order and any machine. Each stage of sampling draws from a
stream of its own, so switching one effect off does not change what the others draw.
"""

from __future__ import annotations

import enum
import functools

import numpy as np
import numpy.typing as npt


class Stream(enum.IntEnum):
    """One random stream per sampling stage."""

    LAYOUT = 0  # object count, shapes, positions
    TEXTURE = 1
    MOTION = 2
    DEFORMATION = 3
    ELASTIC = 4  # elastic deformation of segmentation pairs
    AUGMENT = 5  # training-time augmentation
    MIX = 6  # choice of the source in dataset mixtures
    STEREO = 7  # disparity planes of a stereo pair's layers


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


@functools.lru_cache(maxsize=64)
def _cumulative(weights: tuple[float, ...]) -> npt.NDArray[np.float64]:
    """The cumulative distribution that ``Generator.choice`` searches for ``p = weights / sum``."""
    p = np.array(weights, dtype=np.float64)
    p = p / p.sum()
    cdf = p.cumsum()
    cdf /= cdf[-1]
    cdf.setflags(write=False)
    return cdf


def sample_weighted(weights: tuple[float, ...], *, rng: np.random.Generator) -> int:
    """Index ``i`` with probability ``weights[i] / sum(weights)`` (weights >= 0, some > 0).

    The draw of ``rng.choice(len(weights), p=weights / sum(weights))``: one ``rng.random()``
    searched in the same cumulative distribution, so the same index and the same generator state
    after it, without ``choice``'s argument checks (~8 us a call; the distribution of a weights
    table is built once).
    """
    return int(_cumulative(weights).searchsorted(rng.random(), side="right"))
