"""Pad inputs to a multiple of a model's stride (replicate) and cut predictions back."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class Padding(NamedTuple):
    """Pixels added on each side: ``(left, right, top, bottom)``."""

    left: int
    right: int
    top: int
    bottom: int


def padding_for(height: int, width: int, multiple: int) -> Padding:
    """Split the padding up to the next multiple evenly (the extra pixel right / bottom)."""
    pad_h = -height % multiple
    pad_w = -width % multiple
    return Padding(pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)


def pad_to_multiple(tensor: torch.Tensor, multiple: int) -> tuple[torch.Tensor, Padding]:
    """``[B,C,H,W] -> [B,C,H',W']`` with ``H'``, ``W'`` multiples of ``multiple``, edge pixels
    replicated; returns the padding for :func:`unpad`."""
    padding = padding_for(tensor.shape[-2], tensor.shape[-1], multiple)
    if not any(padding):
        return tensor, padding
    return F.pad(tensor, tuple(padding), mode="replicate"), padding


def unpad(tensor: torch.Tensor, padding: Padding) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`: ``[..., H', W'] -> [..., H, W]``."""
    height, width = tensor.shape[-2:]
    return tensor[..., padding.top : height - padding.bottom, padding.left : width - padding.right]
