"""A compact PWC-Net (Sun et al., CVPR 2018): pyramid, warping, cost volume, coarse to fine.

Differences from the paper, for small CPU budgets: two convolutions per pyramid level, plain
(not densely connected) decoders that predict a *residual* on the upsampled coarser flow, a
smaller context network, a cosine cost volume (normalised features) and flow heads initialised
near zero (:class:`~flowsynth.train.layers.FlowHead`). Without the last two, early training
stalls: random heads predict tens of pixels of noise that every coarse-to-fine warp compounds,
and raw feature products have no stable scale. Correlation is written in plain torch
(:func:`~flowsynth.train.correlation.local_correlation`), warping uses ``grid_sample``.
"""

from __future__ import annotations

import torch
from torch import nn

from flowsynth.train.correlation import local_correlation, warp
from flowsynth.train.layers import (
    FLOW_SCALE,
    conv,
    normalize_images,
    predict_flow,
    scaled_channels,
    upsample2,
)

PYRAMID = (16, 32, 64, 96, 128, 196)  # channels at strides 2, 4, ..., 64
DECODER = (128, 96, 64, 32)
CONTEXT = ((128, 1), (128, 2), (96, 4), (64, 8), (32, 1))  # (channels, dilation)
LEVELS = (6, 5, 4, 3, 2)  # coarse to fine; level l has stride 2**l


class FeaturePyramid(nn.Module):
    """``[N,3,H,W] -> [f1, ..., f6]``, ``f_l`` at stride ``2**l``."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        blocks = []
        previous = 3
        for out in channels:
            blocks.append(nn.Sequential(conv(previous, out, 3, 2), conv(out, out)))
            previous = out
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class Decoder(nn.Module):
    """Cost volume + frame-1 features (+ upsampled flow and features) -> flow, features."""

    def __init__(self, in_channels: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        layers = []
        previous = in_channels
        for out in channels:
            layers.append(conv(previous, out))
            previous = out
        self.layers = nn.Sequential(*layers)
        self.predict = predict_flow(previous)
        self.out_channels = previous

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.layers(x)
        return self.predict(features), features


class PWCNet(nn.Module):
    """Compact PWC-Net with a width multiplier and a maximum displacement per level.

    ``image1, image2 [B,3,H,W] in [0,1] -> [flow2, ..., flow6]``, flow ``l``
    ``[B,2,H/2^l,W/2^l]`` in FLOW_SCALE units (see :mod:`flowsynth.train.layers`).
    ``H`` and ``W`` must be multiples of :attr:`stride` (64).

    Parameters
    ----------
    width : channel multiplier.
    max_displacement : search radius ``d`` of the cost volume at every level, in level pixels.
    context : add the dilated context network at the finest level.
    cosine : correlate L2-normalised features (cost in [-1, 1]) instead of PWC-Net's raw
        channel mean; on small budgets it learns much faster (a global-shift test: EPE 5.4 ->
        1.7 px in 200 steps with it, no progress without).
    """

    stride = 64

    def __init__(
        self,
        width: float = 1.0,
        max_displacement: int = 4,
        context: bool = True,
        cosine: bool = True,
    ) -> None:
        super().__init__()
        self.max_displacement = int(max_displacement)
        self.cosine = cosine
        pyramid = tuple(scaled_channels(n, width) for n in PYRAMID)
        decoder = tuple(scaled_channels(n, width) for n in DECODER)
        cost = (2 * self.max_displacement + 1) ** 2
        self.pyramid = FeaturePyramid(pyramid)
        decoders = {}
        for level in LEVELS:
            extra = 2 if level == LEVELS[0] else pyramid[level - 1] + 2 + decoder[-1]
            decoders[str(level)] = Decoder(cost + extra, decoder)
        self.decoders = nn.ModuleDict(decoders)
        self.context: nn.Module | None = None
        if context:
            layers: list[nn.Module] = []
            previous = decoder[-1] + 2
            for out, dilation in CONTEXT:
                out = scaled_channels(out, width)
                layers.append(conv(previous, out, 3, 1, dilation))
                previous = out
            layers.append(predict_flow(previous))
            self.context = nn.Sequential(*layers)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> list[torch.Tensor]:
        pyramid = self.pyramid(normalize_images(image1, image2))
        batch = image1.shape[0]
        flow: torch.Tensor | None = None
        features: torch.Tensor | None = None
        predictions = []
        for level in LEVELS:
            both = pyramid[level - 1]
            f1, f2 = both[:batch], both[batch:]
            to_scale = 2**level / FLOW_SCALE  # level pixels -> FLOW_SCALE units
            if flow is None or features is None:
                flow = f2.new_zeros(batch, 2, *f2.shape[-2:])
            else:
                flow = upsample2(flow)
                features = upsample2(features)
                f2 = warp(f2, flow / to_scale)
            cost = self._cost(f1, f2)
            parts = [cost, flow] if features is None else [cost, f1, flow, features]
            residual, features = self.decoders[str(level)](torch.cat(parts, dim=1))
            flow = flow + residual
            if level == LEVELS[-1] and self.context is not None:
                flow = flow + self.context(torch.cat([features, flow], dim=1))
            predictions.append(flow)
        return predictions[::-1]

    def _cost(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        if self.cosine:
            f1 = nn.functional.normalize(f1, dim=1)
            f2 = nn.functional.normalize(f2, dim=1)
            return local_correlation(f1, f2, self.max_displacement) * f1.shape[1]
        cost = local_correlation(f1, f2, self.max_displacement)
        return nn.functional.leaky_relu(cost, 0.1)
