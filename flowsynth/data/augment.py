"""Training-time augmentation of flow pairs: random crop, flips, photometric jitter.

Parameters are *sampled* (``sample_*``, from a required ``rng``) apart from being *applied*
(``apply_*``, pure). :func:`augment_pair` draws from ``sample_rng(seed, index, Stream.AUGMENT)``,
so an augmented sample is a pure function of ``(pair, config, seed, index)``: the same for any
number of workers.

Convention
----------
A horizontal flip mirrors x, so ``u`` changes sign; a vertical flip mirrors y, so ``v`` does.
Photometric jitter changes only the images (returned as float32 in ``[0, 1]``), never the flow
or masks. Crops keep flow values (a translation of both frames leaves displacements unchanged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from flowsynth.base.compiled import jit
from flowsynth.base.matrices import array, dot, invert, product
from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.flowpair import FlowPair

#: RGB -> YIQ (NTSC); row 0 is the Rec. 601 luma.
_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
_YIQ_INVERSE = invert(_YIQ)  # Python floats: LAPACK rounds by CPU (flowsynth.base.matrices)


@dataclass(frozen=True)
class AugmentConfig:
    """What to augment and how strongly; RAFT's FlyingChairs settings by default.

    Attributes
    ----------
    crop : tuple[int, int] | None
        ``(height, width)`` of a random crop; ``None`` keeps the full frame.
    horizontal_flip, vertical_flip : float
        Probability of each flip, in ``[0, 1]``.
    brightness, contrast, saturation : float
        Factors drawn uniformly from ``[1 - x, 1 + x]``; ``x`` in ``[0, 1]``.
    hue : float
        Hue rotation drawn from ``[-hue, hue]`` turns; ``hue`` in ``[0, 0.5]``.
    asymmetric : float
        Probability that frame 2 gets a colour draw of its own, in ``[0, 1]``.
    """

    crop: tuple[int, int] | None = None
    horizontal_flip: float = 0.5
    vertical_flip: float = 0.1
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.5 / math.pi
    asymmetric: float = 0.2

    def __post_init__(self) -> None:
        for name in ("horizontal_flip", "vertical_flip", "asymmetric"):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        for name in ("brightness", "contrast", "saturation"):
            _check_range(name, getattr(self, name), 0.0, 1.0)
        _check_range("hue", self.hue, 0.0, 0.5)
        if self.crop is not None and (len(self.crop) != 2 or min(self.crop) < 1):
            raise ValueError(f"crop must be (height, width) >= 1 or None, got {self.crop}")

    @classmethod
    def crop_only(cls, crop: tuple[int, int] | None) -> AugmentConfig:
        """Random crops and nothing else: no flips, no colour changes."""
        return cls(
            crop=crop,
            horizontal_flip=0,
            vertical_flip=0,
            brightness=0,
            contrast=0,
            saturation=0,
            hue=0,
            asymmetric=0,
        )

    @property
    def photometric(self) -> bool:
        """Whether any colour jitter is switched on."""
        return max(self.brightness, self.contrast, self.saturation, self.hue) > 0


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


@dataclass(frozen=True)
class Colour:
    """One photometric draw: brightness, contrast and saturation factors, hue in turns."""

    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0


@dataclass(frozen=True)
class AugmentParams:
    """Everything random about one augmentation; applying it is deterministic.

    Attributes
    ----------
    top, left, height, width : int
        The crop window in the frame.
    horizontal_flip, vertical_flip : bool
    colour1, colour2 : Colour | None
        Colour of each frame; ``None``: images stay ``uint8``.
    """

    top: int
    left: int
    height: int
    width: int
    horizontal_flip: bool = False
    vertical_flip: bool = False
    colour1: Colour | None = None
    colour2: Colour | None = None


def sample_colour(config: AugmentConfig, *, rng: np.random.Generator) -> Colour:
    """One photometric draw within ``config``'s ranges (always four draws)."""
    low_high = [(1 - x, 1 + x) for x in (config.brightness, config.contrast, config.saturation)]
    brightness, contrast, saturation = (float(rng.uniform(lo, hi)) for lo, hi in low_high)
    return Colour(brightness, contrast, saturation, float(rng.uniform(-config.hue, config.hue)))


def sample_augment(
    config: AugmentConfig, shape: tuple[int, int], *, rng: np.random.Generator
) -> AugmentParams:
    """Draw one augmentation of a pair of frames of size ``shape = (H, W)``.

    The same number of values is drawn whatever the configuration, in a fixed order.

    Raises
    ------
    ValueError
        The crop is larger than the frame.
    """
    height, width = shape
    crop_height, crop_width = config.crop if config.crop is not None else shape
    if crop_height > height or crop_width > width:
        raise ValueError(
            f"crop {crop_height}x{crop_width} (HxW) is larger than the frame {height}x{width}"
        )
    top = int(rng.integers(0, height - crop_height + 1))
    left = int(rng.integers(0, width - crop_width + 1))
    horizontal_flip = bool(rng.random() < config.horizontal_flip)
    vertical_flip = bool(rng.random() < config.vertical_flip)
    colour1: Colour | None = sample_colour(config, rng=rng)
    own_colour = bool(rng.random() < config.asymmetric)
    colour2: Colour | None = sample_colour(config, rng=rng)
    if not config.photometric:
        colour1 = colour2 = None
    elif not own_colour:
        colour2 = colour1
    return AugmentParams(
        top, left, crop_height, crop_width, horizontal_flip, vertical_flip, colour1, colour2
    )


def colour_matrix(colour: Colour) -> npt.NDArray[np.float64]:
    """``(3, 3)`` RGB matrix scaling chroma by the saturation and rotating hue (YIQ space)."""
    angle = 2 * math.pi * colour.hue
    cos, sin = math.cos(angle) * colour.saturation, math.sin(angle) * colour.saturation
    chroma = [[1.0, 0.0, 0.0], [0.0, cos, -sin], [0.0, sin, cos]]
    return array(product(_YIQ_INVERSE, chroma, _YIQ))


def apply_colour(
    image: npt.NDArray[np.uint8] | npt.NDArray[np.float32], colour: Colour
) -> npt.NDArray[np.float32]:
    """Brightness, contrast (about the mean luma), saturation and hue of one frame.

    ``uint8 (H, W, 3) or float32 (H, W, 3) in [0, 1] -> float32 (H, W, 3) in [0, 1]``.
    Grey pixels stay grey under saturation and hue.
    """
    scale = 1 / 255 if image.dtype == np.uint8 else 1.0
    height, width = image.shape[:2]
    # Compiled passes that round alike on every CPU (OpenCV's and BLAS's SIMD code does not):
    # the channel sums in float64, in order, and the affine colour map per pixel.
    sums = np.zeros(3)
    _channel_sums(image, sums)
    means = [float(total) / max(height * width, 1) for total in sums]
    mean_luma = dot(means, _YIQ[0].tolist()) * scale * colour.brightness
    matrix = np.empty((3, 4))
    matrix[:, :3] = colour_matrix(colour) * (scale * colour.brightness * colour.contrast)
    matrix[:, 3] = (1 - colour.contrast) * mean_luma
    out = np.empty((height, width, 3), np.float32)
    _colour_map(image, matrix, out)
    return out


@jit
def _channel_sums(image: npt.NDArray[np.generic], sums: npt.NDArray[np.float64]) -> None:
    """``sums[c] += image[..., c]`` over ``(H, W, 3)`` in float64, row by row, in order."""
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            for c in range(3):
                sums[c] += np.float64(image[y, x, c])


@jit
def _colour_map(
    image: npt.NDArray[np.generic], matrix: npt.NDArray[np.float64], out: npt.NDArray[np.float32]
) -> None:
    """``out = clip(matrix @ [rgb, 1], 0, 1)`` per pixel of ``(H, W, 3)``, in float64, rounded
    once to float32."""
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            r, g, b = (
                np.float64(image[y, x, 0]),
                np.float64(image[y, x, 1]),
                np.float64(image[y, x, 2]),
            )
            for c in range(3):
                value = ((matrix[c, 0] * r + matrix[c, 1] * g) + matrix[c, 2] * b) + matrix[c, 3]
                out[y, x, c] = np.float32(min(max(value, 0.0), 1.0))


def flip_pair(pair: FlowPair, *, horizontal: bool, vertical: bool) -> FlowPair:
    """Mirror both frames and the ground truth; ``u`` (horizontal) or ``v`` (vertical) negated."""
    rows = slice(None, None, -1) if vertical else slice(None)
    cols = slice(None, None, -1) if horizontal else slice(None)
    flow = pair.flow[rows, cols]
    if horizontal or vertical:
        sign = np.array([-1.0 if horizontal else 1.0, -1.0 if vertical else 1.0], np.float32)
        flow = flow * sign
    return replace(
        pair,
        image1=pair.image1[rows, cols],
        image2=pair.image2[rows, cols],
        flow=flow,
        valid=pair.valid[rows, cols],
        occlusion=pair.occlusion[rows, cols],
    )


def crop_pair(pair: FlowPair, top: int, left: int, height: int, width: int) -> FlowPair:
    """The window ``[top, top + height) x [left, left + width)`` of every field."""
    window = (slice(top, top + height), slice(left, left + width))
    return replace(
        pair,
        image1=pair.image1[window],
        image2=pair.image2[window],
        flow=pair.flow[window],
        valid=pair.valid[window],
        occlusion=pair.occlusion[window],
    )


def apply_augment(pair: FlowPair, params: AugmentParams) -> FlowPair:
    """Crop, flip, then colour ``pair`` as ``params`` says (pure; views where possible).

    Images come back ``float32 (h, w, 3)`` in ``[0, 1]`` when a colour is set, else as given.
    """
    pair = crop_pair(pair, params.top, params.left, params.height, params.width)
    pair = flip_pair(pair, horizontal=params.horizontal_flip, vertical=params.vertical_flip)
    if params.colour1 is not None and params.colour2 is not None:
        pair = replace(
            pair,
            image1=apply_colour(pair.image1, params.colour1),
            image2=apply_colour(pair.image2, params.colour2),
        )
    return pair


def augment_pair(pair: FlowPair, config: AugmentConfig, *, seed: int, index: int) -> FlowPair:
    """Augment ``pair`` with draws from ``sample_rng(seed, index, Stream.AUGMENT)``."""
    rng = sample_rng(seed, index, Stream.AUGMENT)
    return apply_augment(pair, sample_augment(config, pair.shape, rng=rng))


def sample_crop_window(
    shape: tuple[int, int], crop: tuple[int, int], *, rng: np.random.Generator
) -> tuple[slice, slice]:
    """A random ``crop`` window inside ``shape`` (always two draws); ``ValueError`` if too big."""
    (height, width), (crop_height, crop_width) = shape, crop
    if crop_height > height or crop_width > width:
        raise ValueError(
            f"crop {crop_height}x{crop_width} is larger than the image {height}x{width}"
        )
    top = int(rng.integers(0, height - crop_height + 1))
    left = int(rng.integers(0, width - crop_width + 1))
    return slice(top, top + crop_height), slice(left, left + crop_width)
