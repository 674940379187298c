"""Held-out measurements during training: columns in log.csv, same training with or without."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from flowsynth.io.images import write_png
from flowsynth.train.config import TrainConfig
from flowsynth.train.loop import SEGMENTATION_COLUMNS, HeldOut, train


def _tree(root: Path, count: int = 2, size: int = 48) -> Path:
    for k in range(count):
        label = np.full((size, size), 255, np.uint8)
        label[:, 12 + 3 * k] = 0
        label[20 + k, :] = 0
        image = np.where(label == 0, 40, 200).astype(np.uint8)
        write_png(root / "train/image" / f"{k}.png", image)
        write_png(root / "train/label" / f"{k}.png", label)
    return root


def _config(root: Path, out: Path, steps: int = 6) -> TrainConfig:
    return TrainConfig(
        data=f"isbi2012_em={root}",
        out=str(out),
        task="segmentation",
        model="unet",
        width=0.125,
        steps=steps,
        batch=1,
        crop=(32, 32),
        lr=1e-3,
        warmup=1,
        device="cpu",
        threads=1,
        log_every=4,
        checkpoint_every=3,
    )


class _Probe:
    """A measurement that records the steps' model modes and returns the mean weight."""

    def __init__(self) -> None:
        self.modes: list[bool] = []

    def __call__(self, model: nn.Module) -> dict[str, float | None]:
        self.modes.append(model.training)
        first = next(model.parameters())
        return {"mean": float(first.detach().mean()), "missing": None}


def test_measurements_land_in_the_log_and_change_nothing(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data")
    probe = _Probe()
    held_out = HeldOut(2, ("mean", "missing"), probe)
    measured = train(_config(root, tmp_path / "a"), progress=False, held_out=held_out)
    train(_config(root, tmp_path / "b"), progress=False)
    # every 2 steps and the last; the model is measured in eval mode and put back
    assert [r["step"] for r in measured.held_out] == [2.0, 4.0, 6.0]
    assert probe.modes == [False, False, False]
    with open(tmp_path / "a/log.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]  # a measurement closes a log window
    assert all(r["heldout_mean"] and r["heldout_missing"] == "" for r in rows)
    assert float(rows[-1]["heldout_mean"]) == pytest.approx(measured.held_out[-1]["heldout_mean"])
    state_a = torch.load(tmp_path / "a/checkpoint.pt", weights_only=True)["model"]
    state_b = torch.load(tmp_path / "b/checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_a_resumed_run_keeps_the_earlier_measurements(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data")
    config = _config(root, tmp_path / "run")
    train(config, progress=False, stop_at=4, held_out=HeldOut(2, ("mean",), _Probe()))
    result = train(config, resume=True, progress=False, held_out=HeldOut(2, ("mean",), _Probe()))
    assert result.start_step == 3  # the last checkpoint; step 4's row is dropped, then redone
    with open(tmp_path / "run/log.csv", newline="") as file:
        steps = [int(r["step"]) for r in csv.DictReader(file) if r["heldout_mean"]]
    assert steps == [2, 4, 6]


def test_every_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every >= 1"):
        HeldOut(0, ("x",), lambda model: {})


def test_held_out_added_on_resume_keeps_the_log_aligned(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data")
    config = dataclasses.replace(_config(root, tmp_path / "run"), log_every=1)
    train(config, progress=False, stop_at=4)  # no measurements; checkpoint at step 3
    train(config, resume=True, progress=False, held_out=HeldOut(2, ("mean",), _Probe()))
    with open(tmp_path / "run/log.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["step", *SEGMENTATION_COLUMNS, "heldout_mean"]
    measured = [(int(r["step"]), bool(r["heldout_mean"])) for r in rows]
    assert measured == [(1, False), (2, False), (3, False), (4, True), (5, False), (6, True)]
    assert all(float(r["loss"]) > 0 for r in rows)
