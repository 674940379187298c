"""Streaming sequences: the example contract, one crop and flip for the whole sequence with
exact flows, drifting colours, and items that do not depend on workers, batching or construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data import (
    AugmentConfig,
    ProceduralFlowDataset,
    ProceduralSequenceDataset,
    SequenceExample,
    augment_pair,
    augment_sequence,
    collate_sequences,
)
from flowsynth.data.augment import Colour, apply_colour, sample_augment
from flowsynth.data.flowpair import make_pair
from flowsynth.data.sequence_augment import drift_colours
from flowsynth.data.sequences import SEQUENCE_TENSOR_FIELDS
from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.sequence import render_sequence_sample

SMALL = ["scale=0.25"]  # 96x128 frames, 5 of them
CROP = (48, 80)
AUGMENT = AugmentConfig(crop=CROP, horizontal_flip=0.5, vertical_flip=0.5, asymmetric=0.5)


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("sequences/default", SMALL)


@pytest.fixture(scope="module")
def dataset(recipe) -> ProceduralSequenceDataset:
    return ProceduralSequenceDataset(recipe, seed=3, length=4, augment=AUGMENT, name="seq")


def assert_same(a: SequenceExample, b: SequenceExample) -> None:
    for field in SEQUENCE_TENSOR_FIELDS:
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.name == b.name


def channels_last(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(0, 2, 3, 1).numpy()


def test_shapes_dtypes_and_values_without_augmentation(recipe) -> None:
    example = ProceduralSequenceDataset(recipe, seed=1, length=3, name="seq")[2]
    sequence = render_sequence_sample(recipe, 1, 2)
    frames, height, width = sequence.frames.shape[:3]
    assert frames == 5 and (height, width) == (96, 128)
    assert example.frames.shape == (5, 3, 96, 128) and example.frames.dtype == torch.float32
    for field in ("flow", "flow_from_first"):
        assert getattr(example, field).shape == (4, 2, 96, 128)
        assert getattr(example, field).dtype == torch.float32
    for field in ("valid", "occlusion", "visible_from_first"):
        assert getattr(example, field).shape == (4, 96, 128)
        assert getattr(example, field).dtype == torch.bool
    assert int(example.sample_index) == 2 and example.name == "seq/0000002"
    assert float(example.frames.min()) >= 0 and float(example.frames.max()) <= 1
    assert np.array_equal(channels_last(example.frames), sequence.frames / np.float32(255))
    assert np.array_equal(channels_last(example.flow), sequence.flow)
    assert np.array_equal(channels_last(example.flow_from_first), sequence.flow_from_first)
    assert np.array_equal(example.occlusion.numpy(), sequence.occlusion)
    assert np.array_equal(example.valid.numpy(), sequence.valid)
    assert np.array_equal(example.visible_from_first.numpy(), sequence.visible_from_first)


@pytest.mark.parametrize("item", [0, 1, 2, 3])
def test_one_crop_and_flip_for_every_frame_and_flows_stay_exact(
    dataset: ProceduralSequenceDataset, recipe, item: int
) -> None:
    example = dataset[item]
    index = dataset.global_index(item)
    sequence = render_sequence_sample(recipe, dataset.seed, index)
    params = sample_augment(AUGMENT, (96, 128), rng=sample_rng(3, index, Stream.AUGMENT))
    rows = slice(params.top, params.top + CROP[0])
    cols = slice(params.left, params.left + CROP[1])
    ys = slice(None, None, -1) if params.vertical_flip else slice(None)
    xs = slice(None, None, -1) if params.horizontal_flip else slice(None)
    sign = np.array([-1 if params.horizontal_flip else 1, -1 if params.vertical_flip else 1])

    def expected(array: np.ndarray, flow: bool = False) -> np.ndarray:
        window = array[:, rows, cols][:, ys, xs]
        return window * sign.astype(np.float32) if flow else window

    assert example.frames.shape == (5, 3, *CROP)
    assert np.array_equal(channels_last(example.flow), expected(sequence.flow, flow=True))
    assert np.array_equal(
        channels_last(example.flow_from_first), expected(sequence.flow_from_first, flow=True)
    )
    for field in ("valid", "occlusion", "visible_from_first"):
        assert np.array_equal(getattr(example, field).numpy(), expected(getattr(sequence, field)))
    assert params.colour1 is not None and params.colour2 is not None
    colours = drift_colours(params.colour1, params.colour2, 5)
    frames = expected(sequence.frames)
    for t, colour in enumerate(colours):  # each frame is the same window, in its own colour
        assert np.array_equal(channels_last(example.frames)[t], apply_colour(frames[t], colour))


def test_a_horizontal_flip_negates_u_of_every_flow(recipe) -> None:
    flip = AugmentConfig.crop_only(None)
    flipped = AugmentConfig(**{**flip.__dict__, "horizontal_flip": 1.0})
    plain = ProceduralSequenceDataset(recipe, seed=0, length=1, augment=flip)[0]
    mirrored = ProceduralSequenceDataset(recipe, seed=0, length=1, augment=flipped)[0]
    for field in ("flow", "flow_from_first"):
        a, b = getattr(plain, field), getattr(mirrored, field)
        assert torch.equal(b[:, 0], -a[:, 0].flip(-1)) and torch.equal(b[:, 1], a[:, 1].flip(-1))
    assert torch.equal(mirrored.frames, plain.frames.flip(-1))


def test_colours_drift_from_the_first_frame_to_the_last(recipe) -> None:
    first, last = Colour(0.8, 1.0, 1.2, -0.1), Colour(1.2, 0.6, 1.0, 0.1)
    colours = drift_colours(first, last, 5)
    assert colours[0] == first and colours[-1] == last
    assert colours[2].brightness == pytest.approx(1.0) and colours[2].hue == pytest.approx(0.0)
    assert drift_colours(first, last, 1) == [first]
    drifting = AugmentConfig(crop=None, horizontal_flip=0, vertical_flip=0, asymmetric=1.0)
    dataset = ProceduralSequenceDataset(recipe, seed=0, length=1, augment=drifting)
    clip = dataset.clip(0)
    augmented = augment_sequence(clip, drifting, seed=0, index=0)
    params = sample_augment(drifting, clip.shape, rng=sample_rng(0, 0, Stream.AUGMENT))
    assert params.colour1 != params.colour2  # asymmetric=1: the last frame has its own draw
    assert augmented.frames.dtype == np.float32 and augmented.frames.shape == (5, 96, 128, 3)
    assert np.array_equal(augmented.flow, clip.flow)  # colours never touch the ground truth


def test_two_frames_are_augmented_as_the_pair(recipe) -> None:
    two = load_recipe("sequences/default", [*SMALL, "frames=2"])
    assert isinstance(two, FlowRecipe)
    clip = ProceduralSequenceDataset(two, seed=5, length=1).clip(0)
    pair = make_pair(
        clip.frames[0], clip.frames[1], clip.flow[0], clip.valid[0], clip.occlusion[0], "p"
    )
    config = AugmentConfig(crop=CROP, asymmetric=1.0)
    for index in range(3):
        sequence = augment_sequence(clip, config, seed=5, index=index)
        expected = augment_pair(pair, config, seed=5, index=index)
        assert np.array_equal(sequence.frames[0], expected.image1)
        assert np.array_equal(sequence.frames[1], expected.image2)
        assert np.array_equal(sequence.flow[0], expected.flow)


def test_batches_identical_for_0_and_2_workers_and_alone(
    dataset: ProceduralSequenceDataset,
) -> None:
    def load(workers: int) -> list[SequenceExample]:
        loader = DataLoader(
            dataset, batch_size=2, num_workers=workers, collate_fn=collate_sequences
        )
        return list(loader)

    serial, parallel = load(0), load(2)
    assert len(serial) == len(parallel) == 2
    for a, b in zip(serial, parallel, strict=True):
        assert_same(a, b)
    batch = serial[1]
    assert batch.frames.shape == (2, 5, 3, *CROP) and batch.valid.shape == (2, 4, *CROP)
    assert batch.flow_from_first.shape == (2, 4, 2, *CROP) and batch.sample_index.tolist() == [2, 3]
    alone = dataset[3]
    for field in SEQUENCE_TENSOR_FIELDS:
        assert torch.equal(getattr(batch, field)[1], getattr(alone, field)), field
    assert batch.name[1] == alone.name


def test_same_items_from_two_constructions_and_fresh_ones_each_epoch(recipe) -> None:
    first = ProceduralSequenceDataset(recipe, seed=3, length=4, augment=AUGMENT, name="seq")
    second = ProceduralSequenceDataset(recipe, seed=3, length=4, augment=AUGMENT, name="seq")
    assert_same(first[1], second[1])
    assert_same(first[-1], second[3])
    second.set_epoch(1)
    later = second[1]
    assert int(later.sample_index) == 5 and not torch.equal(later.frames, first[1].frames)
    with pytest.raises(IndexError):
        first[4]


def test_collate_refuses_mixed_sizes_and_empty_lists(recipe) -> None:
    small = ProceduralSequenceDataset(recipe, seed=0, length=1, augment=AUGMENT)[0]
    full = ProceduralSequenceDataset(recipe, seed=0, length=1)[0]
    with pytest.raises(ValueError, match="different sizes"):
        collate_sequences([small, full])
    with pytest.raises(ValueError, match="empty"):
        collate_sequences([])


def test_the_pair_dataset_refuses_a_sequence_recipe(recipe) -> None:
    with pytest.raises(RecipeError, match="frames: this recipe describes sequences") as error:
        ProceduralFlowDataset(recipe)
    assert "ProceduralSequenceDataset" in str(error.value)
