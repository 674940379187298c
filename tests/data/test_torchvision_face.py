"""The torchvision-style face of the flow datasets: ``transforms=`` and the 4-tuple view."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from flowsynth.data import FlowExample, FlyingChairs, ProceduralFlowDataset, make_loader
from flowsynth.data.example import TENSOR_FIELDS
from tests.data import fakes
from tests.data.checks import tiny_recipe


def test_as_tuple_is_torchvisions_four_items() -> None:
    example = ProceduralFlowDataset(tiny_recipe(), length=1)[0]
    image1, image2, flow, valid = example.as_tuple()
    assert image1 is example.image1 and image2 is example.image2
    assert flow is example.flow and valid is example.valid
    assert flow.shape == (2, *valid.shape) and valid.dtype == torch.bool


def test_transforms_see_the_example_after_augmentation() -> None:
    seen: list[FlowExample] = []

    def keep(example: FlowExample) -> FlowExample:
        seen.append(example)
        return example._replace(image1=1 - example.image1)

    plain = ProceduralFlowDataset(tiny_recipe(), seed=2, length=2)
    changed = ProceduralFlowDataset(tiny_recipe(), seed=2, length=2, transforms=keep)
    out = changed[1]
    assert len(seen) == 1 and torch.equal(out.image1, 1 - plain[1].image1)
    for field in TENSOR_FIELDS[1:]:
        assert torch.equal(getattr(out, field), getattr(plain[1], field)), field
    # A FlowExample out still batches with collate_flow.
    batch = next(iter(make_loader(changed, batch_size=2)))
    assert batch.image1.shape[0] == 2


def test_transforms_to_a_tuple_batch_like_torchvision(tmp_path: Path) -> None:
    fakes.flying_chairs(tmp_path, count=3)
    dataset = FlyingChairs(tmp_path, transforms=FlowExample.as_tuple)
    # Typed as a FlowExample (its default); with transforms= an item is what they return.
    image1, image2, flow, valid = dataset[0]  # type: ignore[misc]
    assert image1.shape == (3, fakes.HEIGHT, fakes.WIDTH) and valid.shape == flow.shape[1:]
    loader = DataLoader(dataset, batch_size=3)  # torch's default collate stacks the tuples
    for image1, image2, flow, valid in loader:
        assert image2.shape == image1.shape
        assert image1.shape == (3, 3, fakes.HEIGHT, fakes.WIDTH)
        assert flow.shape == (3, 2, fakes.HEIGHT, fakes.WIDTH) and valid.dtype == torch.bool


def test_transforms_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        ProceduralFlowDataset(tiny_recipe(), length=1, transforms="flip")  # type: ignore[arg-type]
