"""Tiny fixed batches for training tests (a few dozen pixels, seconds per test)."""

from __future__ import annotations

import torch

from flowsynth.data.augment import AugmentConfig
from flowsynth.data.datasets import ProceduralFlowDataset
from flowsynth.data.example import FlowExample, collate_flow
from flowsynth.recipe.load import load_recipe

TINY_OVERRIDES = ["size=[64,96]", "objects.count=[2,3]"]


def tiny_recipe_batch(count: int = 2, crop: tuple[int, int] = (64, 64)) -> FlowExample:
    """``count`` samples of ``ablation/boxes`` at 64x96, cropped to ``crop``, un-augmented."""
    recipe = load_recipe("ablation/boxes", TINY_OVERRIDES)
    augment = AugmentConfig.crop_only(crop)
    dataset = ProceduralFlowDataset(recipe, seed=3, length=count, augment=augment)
    return collate_flow([dataset[i] for i in range(count)])


def shifted_batch(shift: tuple[int, int] = (2, 1), size: int = 64) -> FlowExample:
    """Frame 2 is frame 1 translated by ``shift = (u, v)`` pixels; constant flow, all valid."""
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, size // 4, size // 4, generator=generator)
    image1 = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear")
    u, v = shift
    image2 = torch.roll(image1, shifts=(v, u), dims=(2, 3))
    flow = torch.empty(1, 2, size, size)
    flow[:, 0], flow[:, 1] = float(u), float(v)
    valid = torch.ones(1, size, size, dtype=torch.bool)
    zeros = torch.zeros(1, size, size, dtype=torch.bool)
    return FlowExample(
        image1, image2, flow, valid, zeros, torch.tensor([False]), torch.tensor([0]), ("s",)
    )
