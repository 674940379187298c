"""Padding to the model's stride round-trips; predictions come back at the input size."""

from __future__ import annotations

import pytest
import torch

from flowsynth.evaluate.flow import predict_flow
from flowsynth.evaluate.padding import pad_to_multiple, padding_for, unpad
from flowsynth.train.models import build_model, model_spec


@pytest.mark.parametrize(("height", "width"), [(64, 64), (37, 100), (1, 65)])
def test_pad_then_unpad_is_the_identity(height: int, width: int) -> None:
    tensor = torch.rand(2, 3, height, width)
    padded, padding = pad_to_multiple(tensor, 64)
    assert padded.shape[-2] % 64 == 0 and padded.shape[-1] % 64 == 0
    assert torch.equal(unpad(padded, padding), tensor)


def test_padding_is_split_and_replicates_edges() -> None:
    assert tuple(padding_for(37, 100, 64)) == (14, 14, 13, 14)
    tensor = torch.arange(6.0).reshape(1, 1, 2, 3)
    padded, padding = pad_to_multiple(tensor, 4)
    assert padding == (0, 1, 1, 1)
    assert padded[0, 0, 0].tolist() == [0.0, 1.0, 2.0, 2.0]  # top row and right column copied


def test_predict_flow_returns_the_input_size_in_pixels() -> None:
    model = build_model(model_spec("pwc", width=0.25)).eval()
    image = torch.rand(1, 3, 50, 70)
    flow = predict_flow(model, image, image)
    assert flow.shape == (1, 2, 50, 70)
