"""Shared checks for the data tests: the warp test, tiny recipes, tensors back to numpy."""

from __future__ import annotations

import numpy as np

from flowsynth.base.conventions import warp_backward
from flowsynth.recipe.load import load_recipe
from tests.render.helpers import SMALL


def tiny_recipe(name: str = "ablation/boxes", size: tuple[int, int] = (24, 32)):
    """A recipe shrunk to ``size`` frames with small objects: milliseconds per sample."""
    return load_recipe(name, [*SMALL, f"size=[{size[0]},{size[1]}]"])


def warp_errors(
    image1: np.ndarray, image2: np.ndarray, flow: np.ndarray, mask: np.ndarray
) -> tuple[float, float]:
    """Mean absolute difference to frame 1 on ``mask`` of frame 2 warped by ``flow``, and of
    frame 2 as it is (zero flow). ``(H, W, 3) x 2, float32 (H, W, 2), bool (H, W)``."""
    image1 = image1.astype(np.float32)
    image2 = image2.astype(np.float32)
    warped = warp_backward(image2, np.ascontiguousarray(flow, dtype=np.float32))
    assert mask.any(), "no pixels to compare"
    return (
        float(np.abs(warped - image1).mean(axis=-1)[mask].mean()),
        float(np.abs(image2 - image1).mean(axis=-1)[mask].mean()),
    )


def example_arrays(example) -> dict[str, np.ndarray]:
    """One FlowExample's tensors as numpy ``(H, W, C)`` / ``(H, W)`` arrays."""
    return {
        "image1": example.image1.permute(1, 2, 0).numpy(),
        "image2": example.image2.permute(1, 2, 0).numpy(),
        "flow": example.flow.permute(1, 2, 0).numpy(),
        "valid": example.valid.numpy(),
        "occlusion": example.occlusion.numpy(),
    }
