"""Local correlation (cost volume) and backward warping in plain torch (no custom kernels).

Convention
----------
``local_correlation(f1, f2, d)[:, k]`` with ``k = (dy + d) * (2d + 1) + (dx + d)`` is the
channel-mean of ``f1(x, y) * f2(x + dx, y + dy)``, zero outside ``f2``: channel ``k`` peaks
where frame 2 shows frame 1 displaced by ``(dx, dy)``, the flow sign of
:mod:`flowsynth.base.conventions`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def local_correlation(
    features1: torch.Tensor, features2: torch.Tensor, max_displacement: int
) -> torch.Tensor:
    """Cost volume ``[B,C,H,W] x 2 -> [B,(2d+1)^2,H,W]`` over displacements ``|dx|,|dy| <= d``.

    One shifted product per displacement: memory stays ``O(B C H W)`` per term instead of the
    ``(2d+1)^2``-fold copy an ``unfold`` would make.
    """
    d = int(max_displacement)
    if features1.shape != features2.shape:
        raise ValueError(f"feature shapes differ: {features1.shape} vs {features2.shape}")
    height, width = features1.shape[-2:]
    padded = F.pad(features2, (d, d, d, d))
    costs = [
        (features1 * padded[:, :, dy : dy + height, dx : dx + width]).mean(dim=1)
        for dy in range(2 * d + 1)
        for dx in range(2 * d + 1)
    ]
    return torch.stack(costs, dim=1)


def warp(features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``features`` (frame 2) at ``p + flow(p)``: ``[B,C,H,W], [B,2,H,W] px -> [B,C,H,W]``.

    Bilinear, zeros outside the frame (``grid_sample``, pixel centres at integers).
    """
    batch, _, height, width = features.shape
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    x = grid_x + flow[:, 0]
    y = grid_y + flow[:, 1]
    # align_corners=False: -1 and 1 are the outer edges of the border pixels.
    grid = torch.stack([(2 * x + 1) / width - 1, (2 * y + 1) / height - 1], dim=-1)
    return F.grid_sample(
        features,
        grid.to(features.dtype),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
