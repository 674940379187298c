"""Building blocks shared by the flow models: convolutions, the flow scale, upsampling.

Convention
----------
Flow models return a list of predictions, finest first, at strides ``4, 8, 16, 32, 64``, each
``float32 (B, 2, H/s, W/s)`` holding ``(u, v)`` in *full-resolution pixels divided by*
:data:`FLOW_SCALE` (FlowNet's and PWC-Net's convention: the ground truth is scaled by 1/20 and
downsampled without rescaling its magnitude). :func:`full_resolution_flow` turns the finest
prediction into pixels at the input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Predictions are flow / FLOW_SCALE (FlowNet, PWC-Net).
FLOW_SCALE = 20.0


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded to a multiple of 4 (at least 4)."""
    return max(4, int(round(channels * width / 4.0)) * 4)


def conv(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    stride: int = 1,
    dilation: int = 1,
    *,
    activation: bool = True,
) -> nn.Sequential:
    """Padded convolution (size kept at stride 1) followed by LeakyReLU(0.1)."""
    padding = dilation * (kernel_size - 1) // 2
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation)
    ]
    if activation:
        layers.append(nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


def deconv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Transposed 4x4 convolution doubling the size, then LeakyReLU(0.1) (FlowNet)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.1, inplace=True),
    )


class FlowHead(nn.Conv2d):
    """3x3 convolution to the two flow channels, initialised near zero (:func:`initialize`).

    A freshly built model then predicts (almost) zero flow instead of tens of pixels of noise,
    which would send every coarse-to-fine warp astray and stall early training.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__(in_channels, 2, 3, 1, 1)


class DisparityHead(nn.Conv2d):
    """3x3 convolution to one channel, a disparity residual, initialised near zero like
    :class:`FlowHead` (a fresh refinement then keeps the disparity it refines)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__(in_channels, 1, 3, 1, 1)


class CostHead(nn.Conv3d):
    """3x3x3 convolution to one matching cost per candidate disparity, initialised near zero
    like :class:`FlowHead`: a fresh stereo model's costs are then its raw feature correlation
    (a matching prior that works from the first step), not noise that drowns it."""

    def __init__(self, in_channels: int) -> None:
        super().__init__(in_channels, 1, 3, 1, 1)


#: Scale of :class:`FlowHead` weights relative to a Kaiming initialisation.
HEAD_SCALE = 0.01


def predict_flow(in_channels: int) -> FlowHead:
    """3x3 convolution to the two flow channels."""
    return FlowHead(in_channels)


def normalize_images(image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
    """Two ``[B,3,H,W]`` images in [0, 1] -> ``[2B,3,H,W]`` in [-1, 1] (frame 1 batch first)."""
    return torch.cat([image1, image2], dim=0) * 2.0 - 1.0


def upsample2(tensor: torch.Tensor) -> torch.Tensor:
    """``[B,C,h,w] -> [B,C,2h,2w]`` bilinear; flow in FLOW_SCALE units needs no rescaling."""
    return F.interpolate(tensor, scale_factor=2.0, mode="bilinear", align_corners=False)


def full_resolution_flow(prediction: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A prediction in FLOW_SCALE units ``[B,2,h,w]`` -> flow in pixels ``[B,2,H,W]``."""
    if tuple(prediction.shape[-2:]) != tuple(size):
        prediction = F.interpolate(prediction, size=size, mode="bilinear", align_corners=False)
    return prediction * FLOW_SCALE


def initialize(module: nn.Module, generator: torch.Generator) -> None:
    """Initialise every parameter and buffer from ``generator`` (no global RNG).

    Convolutions (2D and 3D): Kaiming normal (LeakyReLU slope 0.1), zero bias, flow heads scaled by
    :data:`HEAD_SCALE`; norms: weight 1, bias 0,
    running statistics reset. Raises ``TypeError`` for a module with parameters it does not
    know, so no parameter is left uninitialised (models are built on the meta device).
    """
    for sub in module.modules():
        own = list(sub.parameters(recurse=False))
        if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d, nn.Conv3d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(sub.weight, a=0.1, generator=generator)
            if isinstance(sub, (FlowHead, DisparityHead, CostHead)):
                with torch.no_grad():
                    sub.weight.mul_(HEAD_SCALE)
            if sub.bias is not None:
                nn.init.zeros_(sub.bias)
        elif isinstance(sub, (nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)):
            if sub.weight is not None:
                nn.init.ones_(sub.weight)
                nn.init.zeros_(sub.bias)
            if isinstance(sub, (nn.BatchNorm2d, nn.BatchNorm3d)):
                sub.reset_running_stats()
        elif own:
            raise TypeError(f"initialize: no rule for {type(sub).__name__} with parameters")
