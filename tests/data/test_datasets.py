"""Torch datasets: the sample contract, determinism across workers and epochs, file datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowsynth.data import (
    HD1K,
    AugmentConfig,
    FileFlowDataset,
    FlowExample,
    FlowsynthFiles,
    FlyingChairs,
    FlyingChairs2,
    Kitti,
    Middlebury,
    ProceduralFlowDataset,
    Sintel,
    collate_flow,
    make_loader,
)
from flowsynth.data.example import TENSOR_FIELDS
from flowsynth.data.formats import list_flying_chairs
from flowsynth.render.layers import render_sample
from tests.data import fakes
from tests.data.checks import tiny_recipe

AUGMENT = AugmentConfig(crop=(16, 24), horizontal_flip=0.5, vertical_flip=0.5, asymmetric=0.5)


def assert_same(a: FlowExample, b: FlowExample) -> None:
    for field in TENSOR_FIELDS:
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.name == b.name


def batches(dataset, workers: int, batch_size: int = 3) -> list[FlowExample]:
    return list(make_loader(dataset, batch_size=batch_size, num_workers=workers))


@pytest.fixture(scope="module")
def procedural() -> ProceduralFlowDataset:
    return ProceduralFlowDataset(tiny_recipe(), seed=4, length=6, augment=AUGMENT)


def test_example_contract_and_values() -> None:
    recipe = tiny_recipe()
    dataset = ProceduralFlowDataset(recipe, seed=2, length=3, name="boxes")
    example = dataset[1]
    sample = render_sample(recipe, 2, 1)
    assert example.image1.dtype == torch.float32 and example.image1.shape == (3, 24, 32)
    assert example.flow.dtype == torch.float32 and example.flow.shape == (2, 24, 32)
    assert example.valid.dtype == torch.bool and example.valid.shape == (24, 32)
    assert example.occlusion.dtype == torch.bool and example.occlusion.shape == (24, 32)
    assert bool(example.has_occlusion) and int(example.sample_index) == 1
    assert example.name == "boxes/0000001"
    assert torch.equal(example.image2, torch.from_numpy(sample.image2).permute(2, 0, 1) / 255)
    assert torch.equal(example.flow, torch.from_numpy(sample.flow).permute(2, 0, 1))
    assert torch.equal(example.occlusion, torch.from_numpy(sample.occlusion))
    assert_same(dataset[-2], example)
    assert_same(example.to("cpu"), example)
    with pytest.raises(IndexError):
        dataset[3]


@pytest.mark.parametrize("epoch", [0, 1])
def test_batches_identical_for_0_and_2_workers(
    procedural: ProceduralFlowDataset, epoch: int
) -> None:
    procedural.set_epoch(epoch)
    serial, parallel = batches(procedural, 0), batches(procedural, 2)
    assert len(serial) == len(parallel) == 2
    for a, b in zip(serial, parallel, strict=True):
        assert_same(a, b)
        assert a.image1.shape == (3, 3, 16, 24) and a.valid.shape == (3, 16, 24)
    assert serial[0].sample_index.tolist() == [6 * epoch + i for i in range(3)]
    procedural.set_epoch(0)


def test_epochs_give_fresh_samples(procedural: ProceduralFlowDataset) -> None:
    first = procedural[0]
    procedural.set_epoch(1)
    second = procedural[0]
    procedural.set_epoch(0)
    assert int(second.sample_index) == 6 and not torch.equal(first.image1, second.image1)
    assert_same(procedural[0], first)


def test_loading_leaves_torch_global_rng_alone(procedural: ProceduralFlowDataset) -> None:
    state = torch.random.get_rng_state()
    batches(procedural, 2)
    list(make_loader(procedural, batch_size=2, shuffle=True, seed=3))
    assert torch.equal(state, torch.random.get_rng_state())


def test_shuffled_order_depends_only_on_the_loader_seed(procedural: ProceduralFlowDataset) -> None:
    def order(seed: int) -> list[int]:
        loader = make_loader(procedural, batch_size=6, shuffle=True, seed=seed)
        return next(iter(loader)).sample_index.tolist()

    assert order(1) == order(1) and sorted(order(1)) == list(range(6))


def test_file_dataset_without_occlusion_and_across_workers(tmp_path: Path) -> None:
    written = fakes.flying_chairs(tmp_path, count=4)
    plain = FlyingChairs(tmp_path)
    example = plain[2]
    assert not bool(example.has_occlusion) and not example.occlusion.any()
    assert example.valid.all() and int(example.sample_index) == 2
    assert torch.equal(example.image1, torch.from_numpy(written[2].image1).permute(2, 0, 1) / 255)
    augmented = FileFlowDataset(
        list_flying_chairs(tmp_path), augment=AugmentConfig(crop=(4, 6)), seed=9
    )
    for a, b in zip(batches(augmented, 0, 2), batches(augmented, 2, 2), strict=True):
        assert_same(a, b)
        assert a.image1.shape == (2, 3, 4, 6)


def test_named_datasets_on_fake_trees(tmp_path: Path) -> None:
    fakes.per_file_layout(tmp_path / "chairs2" / "train")
    fakes.per_file_layout(tmp_path / "generated")
    (tmp_path / "generated" / "flowsynth.json").write_text('{"seed": 7}')
    fakes.sintel(tmp_path / "sintel")
    fakes.kitti(tmp_path / "kitti", 2015)
    fakes.middlebury(tmp_path / "middlebury")
    fakes.hd1k(tmp_path / "hd1k")
    datasets = [
        FlyingChairs2(tmp_path / "chairs2"),
        FlowsynthFiles(tmp_path / "generated"),
        Sintel(tmp_path / "sintel", pass_name="final"),
        Kitti(tmp_path / "kitti", year=2015),
        Middlebury(tmp_path / "middlebury"),
        HD1K(tmp_path / "hd1k"),
    ]
    assert [len(d) for d in datasets] == [2, 2, 2, 2, 2, 2]
    assert datasets[1].metadata == {"seed": 7}
    for dataset in datasets:
        batch = collate_flow([dataset[0], dataset[1]])
        assert batch.image1.shape == (2, 3, 6, 8) and batch.flow.shape == (2, 2, 6, 8)
        assert batch.has_occlusion.shape == (2,) and len(batch.name) == 2
    with pytest.raises(TypeError):
        Middlebury(tmp_path / "middlebury", no_such_option=1)


def test_collate_refuses_mixed_sizes_and_empty_lists(tmp_path: Path) -> None:
    fakes.flying_chairs(tmp_path, count=1)
    small = ProceduralFlowDataset(tiny_recipe(), length=1)[0]
    with pytest.raises(ValueError, match="crop"):
        collate_flow([small, FlyingChairs(tmp_path)[0]])
    with pytest.raises(ValueError, match="empty"):
        collate_flow([])


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        ProceduralFlowDataset(tiny_recipe(), length=-1)
    with pytest.raises(ValueError, match="epoch"):
        ProceduralFlowDataset(tiny_recipe(), length=1).set_epoch(-1)
