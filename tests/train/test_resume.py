"""A killed run resumed with --resume reproduces the uninterrupted run exactly (CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowsynth.train.checkpoint import CheckpointError, load_checkpoint
from flowsynth.train.config import TrainConfig
from flowsynth.train.loop import train

from .helpers import TINY_OVERRIDES


def _config(out: Path, **changes: object) -> TrainConfig:
    values = dict(
        data="recipe:ablation/boxes",
        out=str(out),
        model="pwc",
        width=0.25,
        steps=6,
        batch=2,
        crop=(64, 64),
        overrides=tuple(TINY_OVERRIDES),
        lr=1e-3,
        warmup=2,
        device="cpu",
        threads=1,
        log_every=1,
        checkpoint_every=2,
        epoch_length=5,
        seed=1,
        data_seed=2,
    )
    values.update(changes)
    return TrainConfig(**values)  # type: ignore[arg-type]


def test_resumed_run_matches_uninterrupted_run(tmp_path: Path) -> None:
    whole = train(_config(tmp_path / "whole"), progress=False)
    killed = train(_config(tmp_path / "split"), progress=False, stop_at=3)  # last ckpt: step 2
    assert killed.step == 3
    assert load_checkpoint(tmp_path / "split")["step"] == 2
    resumed = train(_config(tmp_path / "split"), resume=True, progress=False)
    assert resumed.start_step == 2
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history[2:]]
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in whole.history[2:]]
    a = load_checkpoint(tmp_path / "whole")
    b = load_checkpoint(tmp_path / "split")
    assert a["step"] == b["step"] == 6
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    # the log holds each step once: rows of the killed run after its checkpoint are dropped
    steps = [line.split(",")[0] for line in (tmp_path / "split/log.csv").read_text().split()]
    assert steps == ["step", "1", "2", "3", "4", "5", "6"]
    # epochs of 5 items with batch 2: the run crossed epochs, so order and samples changed
    assert whole.history[0]["loss"] != whole.history[3]["loss"]


def test_resume_refuses_other_settings_and_new_run_refuses_old_folder(tmp_path: Path) -> None:
    train(_config(tmp_path, steps=2), progress=False)
    with pytest.raises(CheckpointError, match="lr: 0.001 -> 0.002"):
        train(_config(tmp_path, steps=2, lr=2e-3), resume=True, progress=False)
    with pytest.raises(ValueError, match="already holds a run"):
        train(_config(tmp_path, steps=2), progress=False)
    done = train(_config(tmp_path, steps=2, workers=0, threads=2), resume=True, progress=False)
    assert done.start_step == done.step == 2  # finished already; speed settings may change
