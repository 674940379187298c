"""FlowNetS (Dosovitskiy et al., ICCV 2015): both frames stacked, one encoder-decoder.

Channel counts follow the reference (flownet2-pytorch ``FlowNetS``) times a width multiplier:
width 1 has 38.7 M parameters, width 3/8 about 5.5 M.
"""

from __future__ import annotations

import torch
from torch import nn

from flowsynth.train.layers import conv, deconv, normalize_images, predict_flow, scaled_channels


def _upsample_flow() -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False)


class FlowNetS(nn.Module):
    """FlowNetS with a width multiplier.

    ``image1, image2 [B,3,H,W] in [0,1] -> [flow2, flow3, flow4, flow5, flow6]``, flow ``k``
    ``[B,2,H/2^k,W/2^k]`` in FLOW_SCALE units (see :mod:`flowsynth.train.layers`).
    ``H`` and ``W`` must be multiples of :attr:`stride` (64).
    """

    stride = 64

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        c64, c128, c256, c512, c1024 = (
            scaled_channels(n, width) for n in (64, 128, 256, 512, 1024)
        )
        self.conv1 = conv(6, c64, 7, 2)
        self.conv2 = conv(c64, c128, 5, 2)
        self.conv3 = conv(c128, c256, 5, 2)
        self.conv3_1 = conv(c256, c256)
        self.conv4 = conv(c256, c512, 3, 2)
        self.conv4_1 = conv(c512, c512)
        self.conv5 = conv(c512, c512, 3, 2)
        self.conv5_1 = conv(c512, c512)
        self.conv6 = conv(c512, c1024, 3, 2)
        self.conv6_1 = conv(c1024, c1024)
        self.deconv5 = deconv(c1024, c512)
        self.deconv4 = deconv(2 * c512 + 2, c256)
        self.deconv3 = deconv(c512 + c256 + 2, c128)
        self.deconv2 = deconv(c256 + c128 + 2, c64)
        self.predict6 = predict_flow(c1024)
        self.predict5 = predict_flow(2 * c512 + 2)
        self.predict4 = predict_flow(c512 + c256 + 2)
        self.predict3 = predict_flow(c256 + c128 + 2)
        self.predict2 = predict_flow(c128 + c64 + 2)
        self.up6 = _upsample_flow()
        self.up5 = _upsample_flow()
        self.up4 = _upsample_flow()
        self.up3 = _upsample_flow()

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> list[torch.Tensor]:
        frames = normalize_images(image1, image2)
        x = torch.cat(frames.chunk(2, dim=0), dim=1)  # [B,6,H,W]
        out2 = self.conv2(self.conv1(x))
        out3 = self.conv3_1(self.conv3(out2))
        out4 = self.conv4_1(self.conv4(out3))
        out5 = self.conv5_1(self.conv5(out4))
        out6 = self.conv6_1(self.conv6(out5))
        flow6 = self.predict6(out6)
        concat5 = torch.cat([out5, self.deconv5(out6), self.up6(flow6)], 1)
        flow5 = self.predict5(concat5)
        concat4 = torch.cat([out4, self.deconv4(concat5), self.up5(flow5)], 1)
        flow4 = self.predict4(concat4)
        concat3 = torch.cat([out3, self.deconv3(concat4), self.up4(flow4)], 1)
        flow3 = self.predict3(concat3)
        concat2 = torch.cat([out2, self.deconv2(concat3), self.up3(flow3)], 1)
        flow2 = self.predict2(concat2)
        return [flow2, flow3, flow4, flow5, flow6]
