"""A small cost-volume stereo network: features, group-wise correlation, 3D aggregation,
soft-argmin, refinement (GwcNet / PSMNet / StereoNet ideas, cut down for a CPU).

Boxes of the method's figure, in order:

1. a feature extractor shared by both views, ``[B,3,H,W] -> [B,C,H/4,W/4]`` (two stride-2
   convolutions, then dilated convolutions for context in textureless regions);
2. a group-wise correlation volume over ``D = max_disparity / 4`` candidate disparities,
   ``[B,G,D,H/4,W/4]`` (:func:`group_correlation`), and one more group: the correlation of the
   raw 4x4 image patches (:func:`patch_features`), a matching cue that needs no training;
3. 3D aggregation: two convolutions at 1/4, one hourglass through 1/8, a 3D head to one cost
   per candidate, ``[B,D,H/4,W/4]``, added to the negated raw correlation
   (:data:`MATCH_TEMPERATURE`). 3D convolutions slide along the disparity axis too, so what
   the network learns at one disparity applies at every other one (disparities beyond those of
   the training data still come out right);
4. soft-argmin: the expectation of the candidates near the best one under ``softmax(-cost)``
   (:data:`WINDOW`), times 4 for full-resolution pixels, upsampled bilinearly to ``[B,H,W]``;
5. a residual refinement at full resolution guided by the left image (StereoNet's).

Convention: disparities are the left view's, in pixels, ``>= 0``; left pixel ``x`` is seen at
``x - d`` in the right view (:mod:`flowsynth.render.stereo`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from flowsynth.train.layers import CostHead, DisparityHead, conv, scaled_channels

#: Resolution of the cost volume relative to the input.
VOLUME_STRIDE = 4
#: Weight of the raw correlation (in [-1, 1]: the mean of the learned groups' and the image
#: patches' correlations) in the matching score that the aggregation's output is added to: a
#: matching prior that works from the first step, which the 3D aggregation then corrects.
MATCH_TEMPERATURE = 10.0
#: Candidates on each side of the best one that the soft-argmin weighs (:func:`soft_argmin`).
WINDOW = 2


def group_correlation(
    left: torch.Tensor, right: torch.Tensor, candidates: int, groups: int
) -> torch.Tensor:
    """``[B,C,h,w] x 2 -> [B,G,D,h,w]``: cosine similarity of each channel group at disparities
    ``0 .. D-1`` (``D = candidates``, ``G = groups``); 0 where ``x - d`` leaves the right view.

    Normalised features give the volume a fixed scale ([-1, 1]) from the first step on; raw
    products of freshly initialised features do not have one (see :mod:`~flowsynth.train.pwc`).
    """
    batch, channels, height, width = left.shape
    if channels % groups:
        raise ValueError(f"{channels} feature channels do not split into {groups} groups")
    size = (batch, groups, channels // groups, height, width)
    left = F.normalize(left.view(size), dim=2).view_as(left)
    right = F.normalize(right.view(size), dim=2).view_as(right)
    # The right view padded on the left, so that shifting it by d is a slice (zeros where
    # x - d < 0); one small product per candidate (cheaper forward and backward than one big
    # product over a stacked copy).
    padded = F.pad(right, (candidates - 1, 0))
    planes = [
        (left * padded[..., candidates - 1 - d : candidates - 1 - d + width]).view(size).sum(2)
        for d in range(candidates)
    ]
    return torch.stack(planes, dim=2)


def soft_argmin(cost: torch.Tensor, radius: int | None = None) -> torch.Tensor:
    """``[B,D,h,w] -> [B,h,w]``: the expected candidate index under ``softmax(-cost)``, or with
    ``radius``, under the softmax of the ``2 radius + 1`` candidates around the lowest cost.

    The window keeps a second, wrong mode of the distribution (a repeated texture, the other
    side of an edge) from pulling the estimate between the two, as the full expectation does.
    """
    index = torch.arange(cost.shape[1], device=cost.device, dtype=cost.dtype).view(1, -1, 1, 1)
    if radius is not None:
        best = cost.argmin(dim=1, keepdim=True)
        outside = (index - best).abs() > radius
        cost = cost.masked_fill(outside, float("inf"))
    probability = F.softmax(-cost, dim=1)
    return (probability * index).sum(dim=1)


def patch_features(image: torch.Tensor) -> torch.Tensor:
    """``[N,3,H,W] -> [N,48,H/4,W/4]``: each 4x4 RGB patch as a vector less its mean (its
    cosine with another is their zero-mean normalised cross-correlation)."""
    patches = F.pixel_unshuffle(image, VOLUME_STRIDE)
    return patches - patches.mean(dim=1, keepdim=True)


class StereoOutput(NamedTuple):
    """What :class:`CostVolumeStereo` returns; ``output[0]`` is the disparity to use.

    ``refined``, ``coarse``: ``float32 [B,H,W]`` disparities in pixels (``coarse`` the
    upsampled soft-argmin, ``refined`` after refinement); ``cost``: ``[B,D,H/4,W/4]`` the
    matching cost per candidate ``d`` (disparity ``4 d`` pixels), lower is better.
    """

    refined: torch.Tensor
    coarse: torch.Tensor
    cost: torch.Tensor


def conv3d(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Padded 3x3x3 convolution followed by LeakyReLU(0.1)."""
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, 3, stride, 1), nn.LeakyReLU(0.1, inplace=True)
    )


class FeatureExtractor(nn.Module):
    """``[N,3,H,W] in [-1,1] -> [N,C,H/4,W/4]``: both views through the same weights."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = max(channels // 2, 4)
        self.layers = nn.Sequential(
            conv(3, half, 5, 2),
            conv(half, half),
            conv(half, channels, 3, 2),
            conv(channels, channels),
            conv(channels, channels, dilation=2),
            conv(channels, channels, dilation=4),
            conv(channels, channels, activation=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # type: ignore[no-any-return]


class Aggregation(nn.Module):
    """``[B,G,D,h,w] -> [B,D,h,w]`` costs: 3D convolutions at 1/4 and an hourglass via 1/8."""

    def __init__(self, groups: int, channels: int) -> None:
        super().__init__()
        self.entry = nn.Sequential(conv3d(groups, channels), conv3d(channels, channels))
        self.down = nn.Sequential(
            conv3d(channels, 2 * channels, stride=2), conv3d(2 * channels, 2 * channels)
        )
        self.up = nn.ConvTranspose3d(2 * channels, channels, 4, 2, 1)
        self.head = nn.Sequential(conv3d(channels, channels), CostHead(channels))

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        x = self.entry(volume)
        x = F.leaky_relu(x + self.up(self.down(x)), 0.1)
        return self.head(x).squeeze(1)  # type: ignore[no-any-return]


class Refinement(nn.Module):
    """``[B,3,H,W], [B,H,W] -> [B,H,W]``: a residual on the upsampled disparity from dilated
    convolutions over the left image and the disparity (scaled to about 1)."""

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.layers = nn.Sequential(
            conv(4, channels),
            conv(channels, channels, dilation=2),
            conv(channels, channels, dilation=4),
            conv(channels, channels, dilation=8),
            conv(channels, channels),
            DisparityHead(channels),
        )

    def forward(self, image: torch.Tensor, disparity: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, disparity.unsqueeze(1) / self.scale], dim=1)
        residual = self.layers(x).squeeze(1) * self.scale
        return F.relu(disparity + residual)


class CostVolumeStereo(nn.Module):
    """``[B,3,H,W] x 2 in [0,1] -> (refined, coarse, cost)``: :class:`StereoOutput`, disparities
    ``float32 [B,H,W]`` of the left view in pixels; ``H``, ``W`` multiples of :attr:`stride` (8).

    Parameters
    ----------
    width : float
        Channel multiplier: features ``32 x width``, 3D aggregation ``8 x width``, refinement
        ``16 x width`` (each rounded to a multiple of 4).
    max_disparity : int
        Largest disparity considered, full-resolution pixels; a multiple of 8. The volume holds
        ``max_disparity / 4`` candidates at 1/4 resolution.
    groups : int
        Channel groups of the correlation volume (GwcNet); divides the feature channels.
    refine : bool
        Add the full-resolution refinement (else ``refined`` is the upsampled ``coarse``).
    """

    def __init__(
        self,
        width: float = 1.0,
        max_disparity: int = 192,
        groups: int = 8,
        refine: bool = True,
    ) -> None:
        super().__init__()
        if max_disparity < 8 or max_disparity % 8:
            raise ValueError(f"max_disparity must be a positive multiple of 8, got {max_disparity}")
        features = scaled_channels(32, width)
        if groups < 1 or features % groups:
            raise ValueError(f"groups must divide the {features} feature channels, got {groups}")
        self.stride = 2 * VOLUME_STRIDE  # the hourglass halves the 1/4 volume once more
        self.max_disparity = int(max_disparity)
        self.candidates = self.max_disparity // VOLUME_STRIDE
        self.groups = groups
        self.features = FeatureExtractor(features)
        self.aggregation = Aggregation(groups + 1, scaled_channels(8, width))
        self.refinement = (
            Refinement(scaled_channels(16, width), float(max_disparity) / 4) if refine else None
        )

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> StereoOutput:
        height, width = left.shape[-2:]
        if height % self.stride or width % self.stride:
            raise ValueError(f"input {height}x{width} is not a multiple of {self.stride}")
        features = self.features(torch.cat([left, right], dim=0) * 2.0 - 1.0)
        left_features, right_features = features.chunk(2, dim=0)
        learned = group_correlation(left_features, right_features, self.candidates, self.groups)
        patches = group_correlation(
            patch_features(left), patch_features(right), self.candidates, groups=1
        )
        volume = torch.cat([learned, patches], dim=1)
        prior = 0.5 * (learned.mean(dim=1) + patches[:, 0])
        cost = self.aggregation(volume) - MATCH_TEMPERATURE * prior
        quarter = soft_argmin(cost, WINDOW) * VOLUME_STRIDE
        coarse = F.interpolate(
            quarter.unsqueeze(1), size=(height, width), mode="bilinear", align_corners=False
        ).squeeze(1)
        if self.refinement is None:
            return StereoOutput(coarse, coarse, cost)
        return StereoOutput(self.refinement(left * 2.0 - 1.0, coarse), coarse, cost)
