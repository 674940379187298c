"""Models: output shapes and units, registry, explicit-generator initialisation, correlation."""

from __future__ import annotations

import pytest
import torch

from flowsynth.train.correlation import local_correlation, warp
from flowsynth.train.models import build_model, canonical_name, model_spec, parameter_count

FLOW_MODELS = [("flownets", {"width": 0.125}), ("pwc", {"width": 0.25})]


@pytest.mark.parametrize(("name", "options"), FLOW_MODELS)
def test_flow_models_predict_at_strides_4_to_64(name: str, options: dict) -> None:
    model = build_model(model_spec(name, **options))
    image = torch.rand(2, 3, 64, 128)
    predictions = model(image, image)
    assert [tuple(p.shape) for p in predictions] == [
        (2, 2, 64 // s, 128 // s) for s in (4, 8, 16, 32, 64)
    ]
    assert model.stride == 64


def test_unet_keeps_size_and_counts_classes() -> None:
    model = build_model(model_spec("unet", width=0.125, depth=2, in_channels=1, classes=3))
    assert model(torch.rand(2, 1, 32, 48)).shape == (2, 3, 32, 48)
    assert model.stride == 4


def test_flownets_full_width_has_reference_parameter_count() -> None:
    with torch.device("meta"):
        from flowsynth.train.flownets import FlowNetS

        model = FlowNetS(width=1.0)
    assert parameter_count(model) == 38_675_546  # flownet2-pytorch FlowNetS: 38.7 M


def test_registry_names_aliases_and_errors() -> None:
    assert canonical_name("corr") == "pwc"
    assert canonical_name("FlowNetS") == "flownets"
    with pytest.raises(ValueError, match="unknown model"):
        canonical_name("raft")
    with pytest.raises(ValueError, match="no options"):
        model_spec("pwc", depth=3)


def test_initialisation_uses_only_the_given_generator() -> None:
    spec = model_spec("pwc", width=0.25)
    before = torch.get_rng_state()
    first = build_model(spec, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), before), "the global torch RNG was drawn from"
    second = build_model(spec, generator=torch.Generator().manual_seed(7))
    other = build_model(spec, generator=torch.Generator().manual_seed(8))
    for (key, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
    pairs = zip(first.parameters(), other.parameters(), strict=True)
    assert not all(torch.equal(a, c) for a, c in pairs)


def test_correlation_peaks_at_the_displacement() -> None:
    features1 = torch.randn(1, 8, 12, 12, generator=torch.Generator().manual_seed(0))
    dx, dy, d = 2, -1, 3
    # frame 2 shows frame 1 moved by (dx, dy): f2(x + dx, y + dy) = f1(x, y)
    features2 = torch.roll(features1, shifts=(dy, dx), dims=(2, 3))
    cost = local_correlation(features1, features2, d)
    assert cost.shape == (1, 49, 12, 12)
    best = cost[0, :, 4:8, 4:8].mean(dim=(1, 2)).argmax().item()
    assert best == (dy + d) * (2 * d + 1) + (dx + d)


def test_warp_by_integer_flow_is_a_shift() -> None:
    image = torch.arange(2 * 6 * 7, dtype=torch.float32).reshape(1, 2, 6, 7)
    flow = torch.zeros(1, 2, 6, 7)
    flow[:, 0] = 1.0  # sample one pixel to the right
    warped = warp(image, flow)
    assert torch.allclose(warped[..., :-1], image[..., 1:])
    assert torch.all(warped[..., -1] == 0)  # outside: zeros
    assert torch.allclose(warp(image, torch.zeros_like(flow)), image, atol=1e-4)
