"""Checkpoints round-trip with weights_only; hostile pickles are refused before they run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from flowsynth.train.checkpoint import (
    FORMAT,
    CheckpointError,
    load_checkpoint,
    rng_state,
    save_checkpoint,
)
from flowsynth.train.config import TrainConfig
from flowsynth.train.models import build_model, model_spec
from flowsynth.train.schedule import make_optimizer, make_scheduler


class Hostile:
    """Unpickling this creates a folder: the side effect a refused load must not have."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.mkdir, (str(self.marker),))


def test_round_trip_restores_model_optimizer_scheduler(tmp_path: Path) -> None:
    spec = model_spec("pwc", width=0.25)
    model = build_model(spec)
    optimizer = make_optimizer(model, lr=1e-3, weight_decay=1e-4)
    scheduler = make_scheduler(optimizer, steps=10, warmup=2, schedule="cosine", min_lr=0.1)
    loss = sum(p.sum() for p in model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)))
    loss.backward()
    optimizer.step()
    scheduler.step()
    config = TrainConfig(data="recipe:ablation/boxes", out=str(tmp_path))
    path = save_checkpoint(
        tmp_path / "checkpoint.pt",
        {
            "step": 1,
            "model": model.state_dict(),
            "model_spec": spec,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "config": config.to_dict(),
            "info": {},
            "rng": rng_state(),
        },
    )
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"
    checkpoint = load_checkpoint(tmp_path)  # a run folder works too
    assert checkpoint["format"] == FORMAT and checkpoint["step"] == 1
    assert TrainConfig.from_dict(checkpoint["config"]) == config
    restored = build_model(checkpoint["model_spec"], generator=torch.Generator().manual_seed(9))
    restored.load_state_dict(checkpoint["model"])
    for a, b in zip(model.state_dict().values(), restored.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    optimizer2 = make_optimizer(restored, lr=1e-3, weight_decay=1e-4)
    optimizer2.load_state_dict(checkpoint["optimizer"])
    scheduler2 = make_scheduler(optimizer2, steps=10, warmup=2, schedule="cosine", min_lr=0.1)
    scheduler2.load_state_dict(checkpoint["scheduler"])
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert path == tmp_path / "checkpoint.pt"


def test_hostile_torch_checkpoint_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": FORMAT, "version": 1, "model": Hostile(marker)}, path)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_checkpoint(path)
    assert not marker.exists(), "the pickle ran code"


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_hostile_plain_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(pickle.dumps({"format": FORMAT, "x": Hostile(marker)}))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists(), "the pickle ran code"


def test_other_files_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a flowsynth checkpoint"):
        load_checkpoint(foreign)
