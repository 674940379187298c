"""Procedural textures (no download needed) and crops from a user's image folder.

Every texture is ``uint8 (h, w, 3)`` RGB in the layer's own frame-1 coordinates. A texture is
defined over the layer's whole extent (``height x width``: what the random draws depend on) but
only the ``region`` that the frames can show is computed, so a layer far out of view costs little
and its look does not depend on how it moves. Most kinds are built as a one-channel ``uint8``
pattern coloured through a 256-entry colour table, which keeps a texture to a few cheap passes
over its pixels. Edges inside textures are smooth (a soft square wave) so that they do not alias.

A texture's bytes do not depend on the CPU's instruction set: its arithmetic is integer, or float
with one rounding per operation (``scene.patterns``, numpy), its tables come from the C library's
``sin`` and ``tanh``; OpenCV is used only where its results are exact (a table lookup, and the
integer linear resize of a user's small images), not for the float SIMD paths whose rounding
varies with the instruction set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.base.rng import sample_weighted
from flowsynth.recipe.schema import Textures
from flowsynth.scene import patterns

Image = npt.NDArray[np.uint8]
Pattern = npt.NDArray[np.uint8]

_LEVELS = np.linspace(0.0, 1.0, 256, dtype=np.float64)
# Transcendental tables come from the C library (``math``), not numpy, whose SIMD ``tanh``
# rounds differently from one instruction set to another.
_SINE = np.array([math.sin(2 * math.pi * level) for level in _LEVELS.tolist()])
#: One period of a soft square wave in [-1, 1] (index = phase * 256), for checkers.
_SOFT_SQUARE = np.array([math.tanh(2.0 * sine) for sine in _SINE.tolist()], np.float32)


def _u8(array: Any) -> Pattern:
    """An OpenCV result as a ``uint8`` array (no copy; OpenCV's stubs lose the dtype)."""
    return np.asarray(array, dtype=np.uint8)


Region = tuple[int, int, int, int]  # x0, y0, width, height within the texture's extent


def _to_levels(field: npt.NDArray[np.float32], low: float, high: float) -> Pattern:
    """Map ``[low, high]`` of a float field linearly onto ``uint8``."""
    scale = 255.0 / max(high - low, 1e-6)
    return patterns.scale_abs(field, scale, -low * scale)


def _plane(region: Region, angle: float) -> npt.NDArray[np.float32]:
    """Distance along direction ``angle`` of every pixel of ``region``, ``float32 (h, w)``."""
    x0, y0, width, height = region
    x = np.arange(x0, x0 + width, dtype=np.float32)[None, :] * np.float32(math.cos(angle))
    y = np.arange(y0, y0 + height, dtype=np.float32)[:, None] * np.float32(math.sin(angle))
    return x + y


def _phase_index(plane: npt.NDArray[np.float32], period: float) -> Pattern:
    """``uint8`` index of the phase within a period (256 steps per period)."""
    return (plane * np.float32(256.0 / period)).astype(np.int32).astype(np.uint8)


def sample_noise_grids(
    height: int, width: int, scale: float, octaves: int, channels: int, *, rng: np.random.Generator
) -> tuple[list[Pattern], list[int]]:
    """The random grids of fractal noise over a ``height x width`` extent, one per octave
    (``uint8 (rows, columns, channels)``), and their cell sizes: a cell of about ``scale``
    pixels for the first octave, halving from octave to octave (``scene.patterns.noise`` turns
    them into the texture of a region)."""
    grids, cells = [], []
    for octave in range(octaves):
        cell = max(int(round(scale / 2**octave)), 2)
        # 3 cells of margin before the extent's first pixel, 3 or more after its last.
        shape = (height // cell + 6, width // cell + 6, channels)
        grids.append(rng.integers(0, 256, size=shape, dtype=np.uint8))
        cells.append(cell)
    return grids, cells


def sample_colours(count: int, *, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    return rng.uniform(0.0, 255.0, size=(count, 3))


def sample_noise(
    cfg: Textures, height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    """Fractal noise through a ramp of 2-3 random colours."""
    scale = rng.uniform(*cfg.noise_scale)
    grids = sample_noise_grids(height, width, scale, 3, 1, rng=rng)
    table = patterns.ramp(
        sample_colours(int(rng.integers(2, 4)), rng=rng), rng.uniform(*cfg.contrast)
    )
    return patterns.noise(*grids, region, table)


def sample_plasma(
    cfg: Textures, height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    """Independent fractal noise in each colour channel."""
    scale = rng.uniform(*cfg.noise_scale) * 2
    contrast = rng.uniform(*cfg.contrast)
    grids = sample_noise_grids(height, width, scale, 3, 3, rng=rng)
    # Levels pulled toward grey by the contrast (the same table for each channel).
    grey = np.floor(np.arange(256.0) * contrast + (127.5 * (1 - contrast) + 0.5))
    table = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, None], 3, axis=1)
    return patterns.noise(*grids, region, table)


def sample_gradient(
    cfg: Textures, height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    """A linear ramp between two colours at a random angle across the extent."""
    angle = rng.uniform(0, 2 * math.pi)
    corners = [
        x * math.cos(angle) + y * math.sin(angle) for x in (0, width - 1) for y in (0, height - 1)
    ]
    table = patterns.ramp(sample_colours(2, rng=rng), rng.uniform(*cfg.contrast))
    return patterns.colourise(_to_levels(_plane(region, angle), min(corners), max(corners)), table)


def sample_stripes(
    cfg: Textures, height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    """Soft-edged stripes of a random period and angle."""
    period = rng.uniform(*cfg.stripe_period)
    plane = _plane(region, rng.uniform(0, math.pi))
    table = patterns.wave_table(
        sample_colours(2, rng=rng), rng.uniform(*cfg.contrast), rng.uniform(0.5, 3.0), _SINE
    )
    return patterns.colourise(_phase_index(plane, period), table)


def sample_checkers(
    cfg: Textures, height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    """A rotated checkerboard with soft edges."""
    size = 2 * rng.uniform(*cfg.checker_size)
    angle = rng.uniform(0, math.pi / 2)
    a = cv2.LUT(_phase_index(_plane(region, angle), size), _SOFT_SQUARE)
    b = cv2.LUT(_phase_index(_plane(region, angle + math.pi / 2), size), _SOFT_SQUARE)
    levels = patterns.scale_abs(a * b, 127.5, 127.5)
    table = patterns.ramp(sample_colours(2, rng=rng), rng.uniform(*cfg.contrast))
    return patterns.colourise(levels, table)


def sample_flat(
    cfg: Textures, height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    colour = np.clip(sample_colours(1, rng=rng)[0] + 0.5, 0, 255).astype(np.uint8)
    row = np.tile(colour, region[2])  # one row, then rows of it: a copy with contiguous rows
    return np.broadcast_to(row, (region[3], row.size)).reshape(region[3], region[2], 3).copy()


def sample_crop(
    images: Sequence[Image], height: int, width: int, region: Region, *, rng: np.random.Generator
) -> Image:
    """``region`` of a random ``height x width`` crop of one of ``images`` (enlarged if small)."""
    image = images[int(rng.integers(len(images)))]
    scale = max(height / image.shape[0], width / image.shape[1], 1.0)
    if scale > 1.0:
        size = (int(math.ceil(image.shape[1] * scale)), int(math.ceil(image.shape[0] * scale)))
        image = _u8(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR))
    y = int(rng.integers(0, image.shape[0] - height + 1)) + region[1]
    x = int(rng.integers(0, image.shape[1] - width + 1)) + region[0]
    return np.ascontiguousarray(image[y : y + region[3], x : x + region[2]])


TEXTURE_SAMPLERS = {
    "noise": sample_noise,
    "plasma": sample_plasma,
    "gradient": sample_gradient,
    "stripes": sample_stripes,
    "checkers": sample_checkers,
    "flat": sample_flat,
}


def sample_texture(
    cfg: Textures,
    height: int,
    width: int,
    *,
    rng: np.random.Generator,
    region: Region | None = None,
    images: Sequence[Image] = (),
) -> Image:
    """``region`` (default: all) of a texture of extent ``height x width``, ``uint8 (h, w, 3)``.

    The kind is drawn from ``cfg.kinds``; ``folder`` needs ``images`` (a user's pictures) and is
    skipped without them. ``region = (x0, y0, w, h)`` must lie within the extent.
    """
    region = region or (0, 0, width, height)
    # Sorted: the draw must not depend on the order keys were written in the recipe.
    kinds = sorted(k for k, w in cfg.kinds.items() if w > 0 and (k != "folder" or images))
    if not kinds:
        raise ValueError("textures.kinds allows only 'folder' but no texture images were given")
    kind = kinds[sample_weighted(tuple(float(cfg.kinds[k]) for k in kinds), rng=rng)]
    if kind == "folder":
        return sample_crop(images, height, width, region, rng=rng)
    return TEXTURE_SAMPLERS[kind](cfg, height, width, region, rng=rng)
