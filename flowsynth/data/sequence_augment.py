"""Training-time augmentation of sequences: one crop and one flip for every frame, colours that
drift slowly from the first frame to the last.

Parameters are drawn by :func:`~flowsynth.data.augment.sample_augment`, the pair's own draw, and
read for a sequence: its crop and flips apply to every frame and every flow, ``colour1`` is the
first frame's colour and ``colour2`` the last frame's (its own draw with probability
``config.asymmetric``, else the first's: no drift), frame ``t`` of ``T`` getting the colour
interpolated linearly at ``t / (T - 1)``. A sequence of two frames is therefore augmented exactly
as the pair of those frames. :func:`augment_sequence` draws from
``sample_rng(seed, index, Stream.AUGMENT)``, the pair datasets' stream.

Convention
----------
As :mod:`flowsynth.data.augment`: a horizontal flip negates ``u`` of every flow (neighbour flows
and flows from the first frame), a vertical flip negates ``v``; crops keep flow values; colours
change only the frames (returned as float32 in ``[0, 1]``), never the flows or masks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.augment import (
    AugmentConfig,
    AugmentParams,
    Colour,
    apply_colour,
    sample_augment,
)


@dataclass(frozen=True, eq=False)
class SequenceClip:
    """One sequence of ``T`` frames with the ground truth a training loop reads (numpy).

    Attributes
    ----------
    frames : uint8 (T, H, W, 3) | float32 (T, H, W, 3) in [0, 1]
    flow : float32 (T-1, H, W, 2)
        Frame ``i`` -> ``i + 1``; channel 0 is ``u`` (x, right).
    valid, occlusion : bool (T-1, H, W)
        Ground truth defined; the frame-``i`` pixel is not visible in frame ``i + 1``.
    flow_from_first : float32 (T-1, H, W, 2)
        Frame 0 -> frame ``i + 1``.
    visible_from_first : bool (T-1, H, W)
        The frame-0 pixel is visible in frame ``i + 1``.
    name : str
    """

    frames: npt.NDArray[np.uint8] | npt.NDArray[np.float32]
    flow: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]
    occlusion: npt.NDArray[np.bool_]
    flow_from_first: npt.NDArray[np.float32]
    visible_from_first: npt.NDArray[np.bool_]
    name: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])


def crop_sequence(clip: SequenceClip, top: int, left: int, height: int, width: int) -> SequenceClip:
    """The window ``[top, top + height) x [left, left + width)`` of every frame and field."""
    window = (slice(None), slice(top, top + height), slice(left, left + width))
    return replace(
        clip,
        frames=clip.frames[window],
        flow=clip.flow[window],
        valid=clip.valid[window],
        occlusion=clip.occlusion[window],
        flow_from_first=clip.flow_from_first[window],
        visible_from_first=clip.visible_from_first[window],
    )


def flip_sequence(clip: SequenceClip, *, horizontal: bool, vertical: bool) -> SequenceClip:
    """Mirror every frame and field; ``u`` (horizontal) or ``v`` (vertical) of each flow negated."""
    index = (
        slice(None),
        slice(None, None, -1) if vertical else slice(None),
        slice(None, None, -1) if horizontal else slice(None),
    )
    flow, from_first = clip.flow[index], clip.flow_from_first[index]
    if horizontal or vertical:
        sign = np.array([-1.0 if horizontal else 1.0, -1.0 if vertical else 1.0], np.float32)
        flow, from_first = flow * sign, from_first * sign
    return replace(
        clip,
        frames=clip.frames[index],
        flow=flow,
        valid=clip.valid[index],
        occlusion=clip.occlusion[index],
        flow_from_first=from_first,
        visible_from_first=clip.visible_from_first[index],
    )


def drift_colours(first: Colour, last: Colour, count: int) -> list[Colour]:
    """``count`` colours from ``first`` to ``last``, each factor (and the hue) linear in ``t``."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    steps = [t / (count - 1) if count > 1 else 0.0 for t in range(count)]
    return [
        Colour(
            first.brightness + (last.brightness - first.brightness) * s,
            first.contrast + (last.contrast - first.contrast) * s,
            first.saturation + (last.saturation - first.saturation) * s,
            first.hue + (last.hue - first.hue) * s,
        )
        for s in steps
    ]


def apply_sequence_augment(clip: SequenceClip, params: AugmentParams) -> SequenceClip:
    """Crop, flip, then colour ``clip`` as ``params`` says (pure; views where possible).

    ``colour1`` is the first frame's colour, ``colour2`` the last's, the frames between
    interpolated (:func:`drift_colours`); frames come back ``float32 (T, h, w, 3)`` in ``[0, 1]``
    when a colour is set, else as given.
    """
    clip = crop_sequence(clip, params.top, params.left, params.height, params.width)
    clip = flip_sequence(clip, horizontal=params.horizontal_flip, vertical=params.vertical_flip)
    if params.colour1 is not None and params.colour2 is not None:
        colours = drift_colours(params.colour1, params.colour2, len(clip.frames))
        frames = np.stack([apply_colour(f, c) for f, c in zip(clip.frames, colours, strict=True)])
        clip = replace(clip, frames=frames)
    return clip


def augment_sequence(
    clip: SequenceClip, config: AugmentConfig, *, seed: int, index: int
) -> SequenceClip:
    """Augment ``clip`` with draws from ``sample_rng(seed, index, Stream.AUGMENT)``."""
    rng = sample_rng(seed, index, Stream.AUGMENT)
    return apply_sequence_augment(clip, sample_augment(config, clip.shape, rng=rng))
