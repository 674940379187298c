"""Augmentation: flips negate the right flow component (the warp test), crops, colour, ranges."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.data.augment import (
    AugmentConfig,
    AugmentParams,
    Colour,
    apply_augment,
    apply_colour,
    augment_pair,
    sample_augment,
)
from flowsynth.data.flowpair import FlowPair, make_pair
from flowsynth.render.layers import render_sample
from tests.data.checks import tiny_recipe, warp_errors
from tests.render.helpers import interior_pixels

NO_COLOUR = dict(brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0)


@pytest.fixture(scope="module")
def rendered() -> tuple[FlowPair, np.ndarray]:
    """A rendered pair with clear motion and its interior, non-occluded pixels."""
    recipe = tiny_recipe("ablation/boxes", (48, 64))
    sample = render_sample(recipe, 0, 3)
    pair = make_pair(sample.image1, sample.image2, sample.flow, sample.valid, sample.occlusion)
    return pair, interior_pixels(sample)[2]


def flip_mask(mask: np.ndarray, horizontal: bool, vertical: bool) -> np.ndarray:
    return mask[:: -1 if vertical else 1, :: -1 if horizontal else 1]


@pytest.mark.parametrize(("horizontal", "vertical"), [(True, False), (False, True), (True, True)])
def test_flip_passes_the_warp_test_and_the_wrong_sign_does_not(
    rendered: tuple[FlowPair, np.ndarray], horizontal: bool, vertical: bool
) -> None:
    pair, mask = rendered
    height, width = pair.shape
    params = AugmentParams(0, 0, height, width, horizontal, vertical)
    out = apply_augment(pair, params)
    mask = flip_mask(mask, horizontal, vertical)
    with_flow, zero = warp_errors(out.image1, out.image2, out.flow, mask)
    assert with_flow < 0.25 * zero
    unsigned = flip_mask(pair.flow, horizontal, vertical)  # mirrored but signs kept: wrong
    wrong, _ = warp_errors(out.image1, out.image2, unsigned, mask)
    assert with_flow < 0.5 * wrong
    expected = flip_mask(pair.flow, horizontal, vertical) * [
        -1 if horizontal else 1,
        -1 if vertical else 1,
    ]
    assert np.array_equal(out.flow, expected.astype(np.float32))


def test_dataset_path_flip_and_symmetric_colour_keep_the_warp(
    rendered: tuple[FlowPair, np.ndarray],
) -> None:
    pair, mask = rendered
    config = AugmentConfig(horizontal_flip=1.0, vertical_flip=1.0, asymmetric=0.0)
    out = augment_pair(pair, config, seed=0, index=5)
    assert out.image1.dtype == np.float32 and 0 <= out.image1.min() <= out.image1.max() <= 1
    with_flow, zero = warp_errors(out.image1, out.image2, out.flow, flip_mask(mask, True, True))
    assert with_flow < 0.25 * zero


def test_crop_keeps_values_and_is_deterministic(rendered: tuple[FlowPair, np.ndarray]) -> None:
    pair, _ = rendered
    config = AugmentConfig(crop=(20, 30), horizontal_flip=0.0, vertical_flip=0.0, **NO_COLOUR)
    first = augment_pair(pair, config, seed=1, index=7)
    again = augment_pair(pair, config, seed=1, index=7)
    assert first.shape == (20, 30) and first.image1.dtype == np.uint8
    assert all(
        np.array_equal(getattr(first, f), getattr(again, f))
        for f in ("image1", "image2", "flow", "valid", "occlusion")
    )
    rng = np.random.default_rng(0)
    params = sample_augment(config, pair.shape, rng=rng)
    window = (slice(params.top, params.top + 20), slice(params.left, params.left + 30))
    out = apply_augment(pair, params)
    assert np.array_equal(out.flow, pair.flow[window])
    assert np.array_equal(out.image2, pair.image2[window])
    others = {augment_pair(pair, config, seed=1, index=i).image1.tobytes() for i in range(8)}
    assert len(others) > 1


def test_crop_larger_than_frame_raises(rendered: tuple[FlowPair, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="larger than the frame"):
        augment_pair(rendered[0], AugmentConfig(crop=(49, 10)), seed=0, index=0)


def test_colour_keeps_grey_grey_and_identity_is_identity() -> None:
    grey = np.repeat(np.linspace(0, 255, 12, dtype=np.uint8).reshape(3, 4, 1), 3, axis=2)
    out = apply_colour(grey, Colour(brightness=1.1, contrast=0.8, saturation=1.4, hue=0.2))
    assert np.allclose(out[..., 0], out[..., 1], atol=1e-5)
    assert np.allclose(out[..., 0], out[..., 2], atol=1e-5)
    colour = np.random.default_rng(0).integers(0, 256, (3, 4, 3), np.uint8)
    assert np.allclose(apply_colour(colour, Colour()), colour / 255, atol=1e-6)
    brighter = apply_colour(colour, Colour(brightness=1.2))
    assert np.allclose(brighter, np.clip(colour / 255 * 1.2, 0, 1), atol=1e-5)


@pytest.mark.parametrize("view", ["whole", "flipped crop", "float"])
def test_colour_is_the_affine_map_about_the_mean_luma(view: str) -> None:
    """Every pixel: brightness * (contrast * (M c - mean luma) + mean luma), M the saturation and
    hue rotation in YIQ, clipped to [0, 1]; the mean over the frame (float64 reference)."""
    from flowsynth.data.augment import colour_matrix

    image = np.random.default_rng(4).integers(0, 256, (37, 53, 3), np.uint8)
    if view == "flipped crop":  # what crops and flips hand over: a strided, reversed view
        image = image[30:2:-1, 5:45]
    elif view == "float":
        image = (image / 255).astype(np.float32)
    colour = Colour(brightness=1.15, contrast=0.7, saturation=1.3, hue=0.1)
    rgb = image.astype(np.float64) / (255 if image.dtype == np.uint8 else 1)
    luma = float(rgb.reshape(-1, 3).mean(axis=0) @ np.array([0.299, 0.587, 0.114]))
    mapped = rgb @ colour_matrix(colour).T
    expected = np.clip(colour.brightness * (colour.contrast * (mapped - luma) + luma), 0, 1)
    out = apply_colour(image, colour)
    assert out.dtype == np.float32 and out.shape == image.shape
    np.testing.assert_allclose(out, expected, atol=2e-6)


def test_asymmetric_colour_differs_between_frames() -> None:
    config = AugmentConfig(asymmetric=1.0)
    params = sample_augment(config, (8, 8), rng=np.random.default_rng(3))
    assert params.colour1 is not None and params.colour1 != params.colour2
    symmetric = sample_augment(AugmentConfig(asymmetric=0.0), (8, 8), rng=np.random.default_rng(3))
    assert symmetric.colour1 == symmetric.colour2


@pytest.mark.parametrize(
    "bad",
    [
        dict(horizontal_flip=1.5),
        dict(vertical_flip=-0.1),
        dict(brightness=2.0),
        dict(hue=0.6),
        dict(asymmetric=2.0),
        dict(crop=(0, 4)),
    ],
)
def test_config_ranges_are_checked(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        AugmentConfig(**bad)
