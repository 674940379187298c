"""Curriculum starts (--init) and the segmentation augmentation modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from flowsynth.data.segmentation import sample_training_arrays
from flowsynth.deform.pairs import Pair
from flowsynth.train.checkpoint import CheckpointError, load_checkpoint
from flowsynth.train.loop import train

from .test_resume import _config


def test_init_starts_from_another_runs_weights(tmp_path: Path) -> None:
    first = train(_config(tmp_path / "first", steps=3), progress=False)
    second = train(
        _config(tmp_path / "second", steps=1, lr=1e-12, warmup=0, init=str(first.checkpoint)),
        progress=False,
    )
    a, b = load_checkpoint(first.checkpoint)["model"], load_checkpoint(second.checkpoint)["model"]
    for key, value in a.items():
        assert torch.allclose(value, b[key], atol=1e-6), key
    fresh = load_checkpoint(
        train(_config(tmp_path / "fresh", steps=1, lr=1e-12, warmup=0), progress=False).checkpoint
    )["model"]
    assert any(not torch.allclose(a[k], fresh[k], atol=1e-6) for k in a)
    with pytest.raises(CheckpointError, match="model"):
        train(
            _config(tmp_path / "other", steps=1, width=0.5, init=str(first.checkpoint)),
            progress=False,
        )


def test_segmentation_augment_modes() -> None:
    image = np.arange(60 * 70, dtype=np.uint16).reshape(60, 70)
    label = (np.arange(60 * 70).reshape(60, 70) % 7 == 0).astype(np.uint8) * 255
    pair = Pair("x", image, label)
    outputs = {}
    for mode in ("none", "affine", "elastic"):
        got, classes, weight = sample_training_arrays(
            pair,
            [0, 255],
            crop=(24, 32),
            sigma=10.0,
            augment=mode,
            rng=np.random.default_rng(4),
        )
        assert got.shape == (1, 24, 32) and classes.shape == (24, 32) and weight.min() >= 0
        outputs[mode] = got[0]
    # "none" is a plain crop: consecutive pixel values along rows and columns
    plain = np.rint(outputs["none"] * 65535).astype(np.int64)
    assert np.all(np.diff(plain, axis=1) == 1) and np.all(np.diff(plain, axis=0) == 70)
    assert not np.array_equal(outputs["none"], outputs["elastic"])
    assert not np.array_equal(outputs["none"], outputs["affine"])


def _strain(crop: int, seed: int) -> float:
    """Standard deviation of du/dx of the elastic field on a crop of a 512x512 x-ramp."""
    ramp = np.tile(np.arange(512, dtype=np.float32), (512, 1))
    pair = Pair("ramp", ramp, np.zeros((512, 512), np.uint8))
    rng = np.random.default_rng(seed)
    image, _, _ = sample_training_arrays(
        pair, [0], crop=(crop, crop), sigma=10.0, augment="elastic", rng=rng
    )
    slope = np.abs(np.diff(image[0], axis=1))[4:-4, 4:-4]  # |1 + du/dx| (mirroring: the sign)
    return float(np.std(slope))


def test_elastic_strain_does_not_depend_on_the_crop() -> None:
    # The U-Net's 3x3 grid spans the whole image: a small crop must not be bent harder per pixel
    # than a large one (unscaled, a 64-pixel crop's window would see ~4x the strain).
    small = np.mean([_strain(64, seed) for seed in range(8)])
    large = np.mean([_strain(448, seed) for seed in range(8)])
    assert 0.02 < large < 0.08
    assert 0.5 < small / large < 1.6
