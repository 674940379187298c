"""Losses: FlowNet's multi-scale EPE by hand; the masked downsampling; segmentation loss."""

from __future__ import annotations

import math

import pytest
import torch

from flowsynth.train.layers import FLOW_SCALE
from flowsynth.train.losses import (
    FLOWNET_WEIGHTS,
    downsample_flow,
    multiscale_epe,
    segmentation_loss,
)


def _levels(flow: torch.Tensor, valid: torch.Tensor) -> list[torch.Tensor]:
    return [downsample_flow(flow / FLOW_SCALE, valid, s)[0] for s in (4, 8, 16, 32, 64)]


def test_weights_are_flownets_finest_to_coarsest() -> None:
    assert FLOWNET_WEIGHTS == (0.005, 0.01, 0.02, 0.08, 0.32)


def test_exact_prediction_has_zero_loss() -> None:
    flow = torch.randn(2, 2, 64, 128)
    valid = torch.ones(2, 64, 128, dtype=torch.bool)
    loss, metrics = multiscale_epe(_levels(flow, valid), flow, valid)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert set(metrics) >= {"loss", "epe", "1px", "3px", "5px"}


def test_constant_error_gives_the_weighted_sum() -> None:
    flow = torch.zeros(1, 2, 64, 64)
    valid = torch.ones(1, 64, 64, dtype=torch.bool)
    # every prediction off by (3, 4) / 20 in FLOW_SCALE units: EPE 5 / 20 = 0.25 per level
    predictions = [torch.zeros(1, 2, 64 // s, 64 // s) for s in (4, 8, 16, 32, 64)]
    for p in predictions:
        p[:, 0], p[:, 1] = 3 / FLOW_SCALE, 4 / FLOW_SCALE
    loss, metrics = multiscale_epe(predictions, flow, valid)
    assert loss.item() == pytest.approx(0.25 * sum(FLOWNET_WEIGHTS))
    assert metrics["epe"] == pytest.approx(5.0)
    assert metrics["5px"] == 0.0 and metrics["3px"] == 0.0
    total, _ = multiscale_epe(predictions, flow, valid, reduction="sum")
    pixels = [(64 // s) ** 2 for s in (4, 8, 16, 32, 64)]
    expected = sum(w * 0.25 * n for w, n in zip(FLOWNET_WEIGHTS, pixels, strict=True))
    assert total.item() == pytest.approx(expected)


def test_invalid_pixels_do_not_count() -> None:
    flow = torch.zeros(1, 2, 64, 64)
    valid = torch.zeros(1, 64, 64, dtype=torch.bool)
    valid[:, :32] = True
    predictions = [torch.zeros(1, 2, 64 // s, 64 // s) for s in (4, 8, 16, 32, 64)]
    predictions[0][..., 8:, :] = 100.0  # rows 32.. at stride 4: all invalid
    loss, _ = multiscale_epe(predictions, flow, valid)
    assert loss.item() == 0.0


def test_downsample_is_a_masked_block_mean() -> None:
    flow = torch.zeros(1, 2, 2, 2)
    flow[0, 0] = torch.tensor([[2.0, 0.0], [4.0, 100.0]])
    valid = torch.tensor([[[True, False], [True, False]]])
    small, small_valid = downsample_flow(flow, valid, 2)
    assert small[0, 0, 0, 0].item() == pytest.approx(3.0)  # mean of 2 and 4, zeros ignored
    assert small_valid.tolist() == [[[True]]]
    _, none_valid = downsample_flow(flow, torch.zeros_like(valid), 2)
    assert none_valid.tolist() == [[[False]]]


def test_segmentation_loss_weights_and_ignores() -> None:
    logits = torch.zeros(1, 2, 1, 3)  # p = 0.5 everywhere: ce = log 2
    label = torch.tensor([[[0, 1, -1]]])
    weight = torch.tensor([[[1.0, 3.0, 100.0]]])
    loss, metrics = segmentation_loss(logits, label, weight)
    assert loss.item() == pytest.approx((1 + 3) * math.log(2) / 2)  # mean over known pixels
    assert metrics["pixel_error"] == pytest.approx(0.5)  # argmax 0: right, wrong
    with_dice, dice_metrics = segmentation_loss(logits, label, weight, dice=1.0)
    assert with_dice.item() == pytest.approx(loss.item() + 1 - dice_metrics["dice"])
