"""Weighted mixtures: proportions, determinism across workers and epochs, checked arguments."""

from __future__ import annotations

import pytest
import torch

from flowsynth.data import AugmentConfig, MixedDataset, ProceduralFlowDataset, make_loader
from flowsynth.data.datasets import EpochDataset
from flowsynth.data.example import TENSOR_FIELDS
from tests.data.checks import tiny_recipe


@pytest.fixture(scope="module")
def mixture() -> MixedDataset:
    crop = AugmentConfig(crop=(16, 24))
    boxes = ProceduralFlowDataset(
        tiny_recipe("ablation/boxes"), length=5, augment=crop, name="boxes"
    )
    ellipses = ProceduralFlowDataset(
        tiny_recipe("ablation/ellipses"), length=5, augment=crop, name="ellipses"
    )
    return MixedDataset([(boxes, 3), (ellipses, 1)], seed=1, length=6)


def test_weights_set_the_proportions(mixture: MixedDataset) -> None:
    big = MixedDataset(list(zip(mixture.datasets, [3, 1], strict=True)), length=4000)
    sources = [big.source_of(i) for i in range(4000)]
    share = sum(1 for part, _ in sources if part == 0) / len(sources)
    assert 0.72 < share < 0.78
    assert {inner for part, inner in sources if part == 1} == set(range(5))


def test_items_come_from_the_drawn_source(mixture: MixedDataset) -> None:
    for item in range(len(mixture)):
        part, inner = mixture.source_of(item)
        example = mixture[item]
        assert str(example.name).startswith(("boxes/", "ellipses/")[part])
        assert int(example.sample_index) == inner


def test_identical_for_0_and_2_workers_and_new_each_epoch(mixture: MixedDataset) -> None:
    def run(workers: int) -> list:
        return list(make_loader(mixture, batch_size=3, num_workers=workers))

    epoch0 = run(0)
    for a, b in zip(epoch0, run(2), strict=True):
        assert all(torch.equal(getattr(a, f), getattr(b, f)) for f in TENSOR_FIELDS)
        assert a.name == b.name
    mixture.set_epoch(2)
    assert all(isinstance(d, EpochDataset) and d.epoch == 2 for d in mixture.datasets)
    epoch2 = run(2)
    for a, b in zip(epoch2, run(0), strict=True):
        assert a.name == b.name and torch.equal(a.image1, b.image1)
    mixture.set_epoch(0)
    assert [a.name for a in epoch0] != [a.name for a in epoch2]


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan")])
def test_bad_weights_raise(mixture: MixedDataset, weight: float) -> None:
    with pytest.raises(ValueError, match="weights"):
        MixedDataset([(mixture.datasets[0], weight)])


def test_empty_parts_raise(mixture: MixedDataset) -> None:
    with pytest.raises(ValueError, match="at least one"):
        MixedDataset([])
    empty = ProceduralFlowDataset(tiny_recipe(), length=0)
    with pytest.raises(ValueError, match="needs items"):
        MixedDataset([(mixture.datasets[0], 1), (empty, 1)])
