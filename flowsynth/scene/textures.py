"""Procedural textures (no download needed) and crops from a user's image folder.

Every texture is ``uint8 (h, w, 3)`` RGB in the layer's own frame-1 coordinates. Edges inside
textures are smooth (sinusoids through a soft step) so that they do not alias.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.schema import Textures

Image = npt.NDArray[np.uint8]
Field = npt.NDArray[np.float32]


def _colours(count: int, *, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    return rng.uniform(0.0, 255.0, size=(count, 3)).astype(np.float32)


def sample_noise_field(
    height: int, width: int, scale: float, octaves: int, channels: int, *, rng: np.random.Generator
) -> Field:
    """Fractal value noise in [0, 1]: coarse random grids, cubic-upsampled, summed over octaves."""
    total = np.zeros((height, width, channels), dtype=np.float32)
    weight = 0.0
    for octave in range(octaves):
        cell = max(scale / 2**octave, 2.0)
        grid_h = int(math.ceil(height / cell)) + 3
        grid_w = int(math.ceil(width / cell)) + 3
        grid = rng.random((grid_h, grid_w, channels), dtype=np.float32)
        size = (int(round(grid_w * cell)), int(round(grid_h * cell)))
        layer = cv2.resize(grid, size, interpolation=cv2.INTER_CUBIC).reshape(size[1], size[0], -1)
        oy, ox = (
            int(rng.integers(0, max(size[1] - height, 0) + 1)),
            int(rng.integers(0, max(size[0] - width, 0) + 1)),
        )
        amplitude = 0.5**octave
        total += amplitude * layer[oy : oy + height, ox : ox + width]
        weight += amplitude
    total /= weight
    low, high = total.min(), total.max()
    return (total - low) / max(high - low, 1e-6)


def _blend(field: Field, colours: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Map a one-channel field in [0, 1] onto the colour ramp through ``colours``."""
    stops = len(colours) - 1
    position = field[..., 0] * stops
    index = np.clip(position.astype(np.int32), 0, stops - 1)
    t = (position - index)[..., None]
    return colours[index] * (1 - t) + colours[index + 1] * t


def _plane(height: int, width: int, angle: float) -> Field:
    """Distance along direction ``angle`` of every pixel, ``float32 (h, w)``."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return x * np.float32(math.cos(angle)) + y * np.float32(math.sin(angle))


def _soft_square(phase: Field, sharpness: float) -> Field:
    """A square wave in [0, 1] with smooth steps, from a phase in radians."""
    return 0.5 + 0.5 * np.tanh(sharpness * np.sin(phase))


def sample_texture(
    cfg: Textures,
    height: int,
    width: int,
    *,
    rng: np.random.Generator,
    images: Sequence[Image] = (),
) -> Image:
    """One texture of a kind drawn from ``cfg.kinds`` (``folder`` needs ``images``)."""
    kinds = [k for k, w in cfg.kinds.items() if w > 0 and (k != "folder" or images)]
    if not kinds:
        raise ValueError("textures.kinds allows only 'folder' but no texture images were given")
    weights = np.array([cfg.kinds[k] for k in kinds], dtype=np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    if kind == "folder":
        return sample_crop(images, height, width, rng=rng)
    texture = TEXTURE_SAMPLERS[kind](cfg, height, width, rng=rng)
    contrast = np.float32(rng.uniform(*cfg.contrast))
    mean = texture.reshape(-1, 3).mean(axis=0)
    texture = mean + contrast * (texture - mean)
    return np.clip(texture + 0.5, 0, 255).astype(np.uint8)


def sample_noise(cfg: Textures, height: int, width: int, *, rng: np.random.Generator) -> Field:
    scale = rng.uniform(*cfg.noise_scale)
    field = sample_noise_field(height, width, scale, 3, 1, rng=rng)
    return _blend(field, _colours(int(rng.integers(2, 4)), rng=rng))


def sample_plasma(cfg: Textures, height: int, width: int, *, rng: np.random.Generator) -> Field:
    scale = rng.uniform(*cfg.noise_scale) * 2
    field = sample_noise_field(height, width, scale, 5, 3, rng=rng)
    return field * 255.0


def sample_gradient(cfg: Textures, height: int, width: int, *, rng: np.random.Generator) -> Field:
    plane = _plane(height, width, rng.uniform(0, 2 * math.pi))
    span = max(float(plane.max() - plane.min()), 1.0)
    t = ((plane - plane.min()) / span)[..., None]
    colours = _colours(2, rng=rng)
    return colours[0] * (1 - t) + colours[1] * t


def sample_stripes(cfg: Textures, height: int, width: int, *, rng: np.random.Generator) -> Field:
    period = rng.uniform(*cfg.stripe_period)
    plane = _plane(height, width, rng.uniform(0, math.pi))
    wave = _soft_square(plane * np.float32(2 * math.pi / period), rng.uniform(0.5, 3.0))[..., None]
    colours = _colours(2, rng=rng)
    return colours[0] * (1 - wave) + colours[1] * wave


def sample_checkers(cfg: Textures, height: int, width: int, *, rng: np.random.Generator) -> Field:
    size = rng.uniform(*cfg.checker_size)
    angle = rng.uniform(0, math.pi / 2)
    frequency = np.float32(math.pi / size)
    a = _soft_square(_plane(height, width, angle) * frequency, 2.0)
    b = _soft_square(_plane(height, width, angle + math.pi / 2) * frequency, 2.0)
    wave = (a * b + (1 - a) * (1 - b))[..., None]
    colours = _colours(2, rng=rng)
    return colours[0] * (1 - wave) + colours[1] * wave


def sample_flat(cfg: Textures, height: int, width: int, *, rng: np.random.Generator) -> Field:
    colour = _colours(1, rng=rng)[0]
    return np.broadcast_to(colour, (height, width, 3)).astype(np.float32)


def sample_crop(
    images: Sequence[Image], height: int, width: int, *, rng: np.random.Generator
) -> Image:
    """A random crop of one of ``images``, enlarged first when the image is too small."""
    image = images[int(rng.integers(len(images)))]
    scale = max(height / image.shape[0], width / image.shape[1], 1.0)
    if scale > 1.0:
        size = (int(math.ceil(image.shape[1] * scale)), int(math.ceil(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    y = int(rng.integers(0, image.shape[0] - height + 1))
    x = int(rng.integers(0, image.shape[1] - width + 1))
    return np.ascontiguousarray(image[y : y + height, x : x + width])


TEXTURE_SAMPLERS = {
    "noise": sample_noise,
    "plasma": sample_plasma,
    "gradient": sample_gradient,
    "stripes": sample_stripes,
    "checkers": sample_checkers,
    "flat": sample_flat,
}
