"""U-Net (Ronneberger, Fischer and Brox, MICCAI 2015) with padded convolutions.

Padded 3x3 convolutions keep the size, so the output covers the whole input (the paper's valid
convolutions need an overlap-tile border instead); batch normalisation after each convolution
(optional) for fast training with small batches.
"""

from __future__ import annotations

import torch
from torch import nn

from flowsynth.train.layers import scaled_channels


def _block(in_channels: int, out_channels: int, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for channels in (in_channels, out_channels):
        layers.append(nn.Conv2d(channels, out_channels, 3, padding=1, bias=not norm))
        if norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """``[B,C_in,H,W] -> [B,classes,H,W]`` logits; ``H``, ``W`` multiples of :attr:`stride`.

    Parameters
    ----------
    width : float
        Multiplier of the paper's channels (64 at the top, doubling per level).
    depth : int
        Number of 2x poolings (paper: 4); ``stride = 2**depth``.
    in_channels, classes : int
    norm : bool
        Batch normalisation after every convolution.
    """

    def __init__(
        self,
        width: float = 1.0,
        depth: int = 4,
        in_channels: int = 1,
        classes: int = 2,
        norm: bool = True,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.stride = 2**depth
        channels = [scaled_channels(64 * 2**k, width) for k in range(depth + 1)]
        self.down = nn.ModuleList()
        previous = in_channels
        for out in channels:
            self.down.append(_block(previous, out, norm))
            previous = out
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for k in range(depth - 1, -1, -1):
            self.up.append(nn.ConvTranspose2d(channels[k + 1], channels[k], 2, stride=2))
            self.merge.append(_block(2 * channels[k], channels[k], norm))
        self.head = nn.Conv2d(channels[0], classes, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = []
        x = image * 2.0 - 1.0
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else self.pool(x))
            skips.append(x)
        skips.pop()
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)
