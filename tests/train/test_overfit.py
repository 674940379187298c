"""Each model learns a tiny fixed batch: a few dozen steps lower the loss clearly."""

from __future__ import annotations

import pytest
import torch

from flowsynth.train.losses import multiscale_epe, segmentation_loss
from flowsynth.train.models import build_model, model_spec
from flowsynth.train.schedule import make_optimizer

from .helpers import tiny_recipe_batch


@pytest.mark.parametrize(
    ("name", "options", "lr"),
    [("pwc", {"width": 0.25}, 2e-3), ("flownets", {"width": 0.125}, 1e-3)],
)
def test_flow_model_overfits_a_tiny_recipe_batch(name: str, options: dict, lr: float) -> None:
    batch = tiny_recipe_batch()
    model = build_model(model_spec(name, **options), generator=torch.Generator().manual_seed(0))
    optimizer = make_optimizer(model, lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        predictions = model(batch.image1, batch.image2)
        loss, _ = multiscale_epe(predictions, batch.flow, batch.valid, reduction="sum")
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < 0.5 * losses[0], losses


def test_unet_overfits_a_tiny_segmentation_batch() -> None:
    generator = torch.Generator().manual_seed(0)
    label = torch.zeros(2, 32, 32, dtype=torch.int64)
    label[:, 8:24, 6:20] = 1
    label[1, 2:6, 24:30] = 1
    image = 0.3 + 0.4 * label[:, None].float() + 0.1 * torch.rand(2, 1, 32, 32, generator=generator)
    model = build_model(
        model_spec("unet", width=0.125, depth=2, in_channels=1, classes=2),
        generator=torch.Generator().manual_seed(0),
    )
    optimizer = make_optimizer(model, lr=1e-2, weight_decay=0.0)
    weight = torch.ones(2, 32, 32)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss, _ = segmentation_loss(model(image), label, weight, dice=0.5)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    model.eval()
    with torch.no_grad():
        error = (model(image).argmax(1) != label).float().mean().item()
    assert error < 0.05
