"""CUDA paths: bf16 autocast training, resume and evaluation on the GPU (``-m gpu``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from flowsynth.evaluate.flow import load_model, predict_flow
from flowsynth.train.config import TrainConfig
from flowsynth.train.loop import train

from .helpers import TINY_OVERRIDES

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")


@pytest.mark.parametrize("model", ["pwc", "flownets"])
def test_bf16_training_resumes_and_predicts_on_cuda(tmp_path: Path, model: str) -> None:
    config = TrainConfig(
        data="recipe:ablation/boxes",
        out=str(tmp_path),
        model=model,
        width=0.25,
        steps=4,
        batch=2,
        crop=(64, 64),
        overrides=tuple(TINY_OVERRIDES),
        device="cuda",
        checkpoint_every=2,
        warmup=1,
    )
    first = train(config, progress=False, stop_at=2)
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in first.history)
    resumed = train(config, resume=True, progress=False)
    assert resumed.start_step == 2 and resumed.step == 4
    network, _ = load_model(tmp_path / "checkpoint.pt", torch.device("cuda"))
    image = torch.rand(1, 3, 70, 90, device="cuda")
    assert predict_flow(network, image, image).shape == (1, 2, 70, 90)
