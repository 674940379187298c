"""The weight average (``--ema``): kept beside the weights, resumed exactly, evaluated."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from flowsynth.evaluate.flow import load_model
from flowsynth.train.checkpoint import CheckpointError, evaluation_weights, load_checkpoint
from flowsynth.train.config import TrainConfig
from flowsynth.train.loop import train
from tests.train.helpers import TINY_OVERRIDES


def _config(out: Path, ema: float = 0.9) -> TrainConfig:
    return TrainConfig(
        data="recipe:ablation/boxes",
        out=str(out),
        model="pwc",
        width=0.25,
        steps=4,
        batch=1,
        crop=(64, 64),
        warmup=1,
        device="cpu",
        threads=1,
        overrides=tuple(TINY_OVERRIDES),
        epoch_length=8,
        checkpoint_every=2,
        log_every=2,
        ema=ema,
    )


def test_the_average_is_saved_evaluated_and_resumed_exactly(tmp_path: Path) -> None:
    whole = train(_config(tmp_path / "whole"), progress=False)
    checkpoint = load_checkpoint(whole.checkpoint)
    assert checkpoint["ema_count"] == 4
    weights, name = evaluation_weights(checkpoint)
    assert name == "ema"
    differs = [k for k in weights if not torch.equal(weights[k], checkpoint["model"][k])]
    assert differs  # an average, not a copy of the last weights
    model, _ = load_model(whole.checkpoint, torch.device("cpu"))
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())
    # killed after step 3 (last checkpoint at 2), then resumed: the same average, bit for bit
    config = _config(tmp_path / "split")
    train(config, progress=False, stop_at=3)
    train(config, resume=True, progress=False)
    again = load_checkpoint(tmp_path / "split/checkpoint.pt")
    assert all(torch.equal(again["ema"][k], checkpoint["ema"][k]) for k in checkpoint["ema"])


def test_without_ema_the_weights_are_evaluated(tmp_path: Path) -> None:
    result = train(_config(tmp_path / "plain", ema=0.0), progress=False)
    checkpoint = load_checkpoint(result.checkpoint)
    assert "ema" not in checkpoint and evaluation_weights(checkpoint)[1] == "model"
    # an --ema run cannot resume a checkpoint without an average
    with pytest.raises(CheckpointError):
        train(dataclasses.replace(_config(tmp_path / "plain"), steps=5), resume=True)


def test_ema_must_be_a_decay() -> None:
    with pytest.raises(ValueError, match="ema is a decay"):
        _config(Path("x"), ema=1.0)
