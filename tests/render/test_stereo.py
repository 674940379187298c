"""Rectified stereo from the layered renderer: exact disparity, consistency, occlusion."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from flowsynth.base.conventions import warp_backward
from flowsynth.recipe.fields import RecipeError, recipe_hash, to_dict
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe, scaled
from flowsynth.render.layers import render, render_sample
from flowsynth.render.sample import Sample
from flowsynth.render.stereo import (
    StereoSample,
    render_stereo_sample,
    stereo_from_pair,
    stereo_plan,
)
from flowsynth.scene.plan import ScenePlan
from tests.render.helpers import cubic_at, interior_pixels, reference_occlusion

#: Tiny views with proportionally small objects and disparities.
SMALL = [
    "size=[64,96]",
    "objects.count=[3,6]",
    "objects.shapes.box_half_extent=[3,20]",
    "objects.shapes.polygon_radius=[5,20]",
    "objects.shapes.ellipse_semi_axis=[5,16]",
    "stereo.disparity=[0,16]",
]
RECIPES = {
    "fronto": ("stereo/default", ()),
    "slanted": ("stereo/slanted", ("stereo.slant=0.2", "objects.count=[2,4]")),
}


def _flow_recipe(path: str, overrides: list[str]) -> FlowRecipe:
    recipe = load_recipe(path, overrides)
    assert isinstance(recipe, FlowRecipe)
    return recipe


def _recipe(name: str, *extra: str) -> FlowRecipe:
    path, more = RECIPES[name]
    return _flow_recipe(path, [*SMALL, *more, *extra])


def _render(recipe: FlowRecipe, index: int) -> tuple[ScenePlan, Sample, StereoSample]:
    plan = stereo_plan(recipe, 0, index)
    pair = render(plan, recipe.render)
    return plan, pair, stereo_from_pair(pair)


def _flow(disparity: np.ndarray, sign: float) -> np.ndarray:
    return np.stack([sign * disparity, np.zeros_like(disparity)], axis=-1).astype(np.float32)


@pytest.mark.parametrize("name", RECIPES)
def test_right_view_at_x_minus_disparity_reproduces_left_view(name: str) -> None:
    recipe = _recipe(name)
    warp_errors, zero_errors = [], []
    for index in range(3):
        _, pair, stereo = _render(recipe, index)
        _, _, mask = interior_pixels(pair)
        assert mask.sum() > 300, "too few interior pixels to judge"
        warped = warp_backward(stereo.right, _flow(stereo.disp_left, -1.0)).astype(float)
        left = stereo.left.astype(float)
        warp_errors.append(np.abs(warped - left)[mask].mean())
        zero_errors.append(np.abs(stereo.right.astype(float) - left)[mask].mean())
    warp_error, zero_error = np.mean(warp_errors), np.mean(zero_errors)
    assert warp_error < 0.2 * zero_error and warp_error < 3.0, (warp_error, zero_error)


@pytest.mark.parametrize("name", RECIPES)
def test_flat_textures_warp_almost_exactly(name: str) -> None:
    recipe = _recipe(name, "textures.kinds={flat: 1}")
    for index in range(3):
        _, pair, stereo = _render(recipe, index)
        _, _, mask = interior_pixels(pair)
        warped = warp_backward(stereo.right, _flow(stereo.disp_left, -1.0)).astype(float)
        error = np.abs(warped - stereo.left.astype(float))[mask]
        assert error.mean() < 0.05 and error.max() <= 1.0


@pytest.mark.parametrize("name", RECIPES)
def test_left_right_disparities_agree(name: str) -> None:
    recipe = _recipe(name)
    worst = 0.0
    for index in range(3):
        _, pair, stereo = _render(recipe, index)
        ys, xs, _ = interior_pixels(pair, reach=3)
        x_right = xs - stereo.disp_left[ys, xs].astype(np.float64)
        there = cubic_at(stereo.disp_right[..., None].astype(np.float64), x_right, ys * 1.0)
        residual = np.abs(stereo.disp_left[ys, xs] - there[:, 0])
        worst = max(worst, float(residual.max()))
    assert worst <= 0.01, worst


@pytest.mark.parametrize("name", RECIPES)
def test_occlusion_and_segmentation_match_brute_force(name: str) -> None:
    recipe = _recipe(name)
    for index in range(3):
        plan, _, stereo = _render(recipe, index)
        for backward, occlusion, segmentation in (
            (False, stereo.occ_left, stereo.seg_left),
            (True, stereo.occ_right, stereo.seg_right),
        ):
            occluded, owner = reference_occlusion(plan, backward=backward)
            assert np.array_equal(segmentation, owner)
            assert np.array_equal(occlusion, occluded)


@pytest.mark.parametrize("name", RECIPES)
def test_disparity_is_horizontal_nonnegative_and_within_range(name: str) -> None:
    recipe = _recipe(name)
    for index in range(3):
        _, pair, stereo = _render(recipe, index)
        assert not pair.flow[..., 1].any() and not pair.flow_backward[..., 1].any()
        for disparity in (stereo.disp_left, stereo.disp_right):
            assert disparity.dtype == np.float32 and disparity.shape == (64, 96)
            assert disparity.min() >= 0.0 and disparity.max() <= 16.0 + 1e-3
        # The clip at 0 only removes float32 rounding.
        assert (-pair.flow[..., 0]).min() > -1e-3 and pair.flow_backward[..., 0].min() > -1e-3


@pytest.mark.parametrize("name", RECIPES)
def test_nearer_layers_have_larger_disparity(name: str) -> None:
    recipe = _recipe(name)
    ys, xs = np.mgrid[0:64, 0:96].astype(np.float64)
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    slanted = False
    for index in range(3):
        plan, _, stereo = _render(recipe, index)
        planes = [points[:, 0] - layer.motion.forward(points)[:, 0] for layer in plan.layers]
        for back, front in zip(planes, planes[1:], strict=False):
            assert (front > back).all()
        slanted |= any(np.ptp(d) > 0.5 for d in planes)
        # Each pixel's disparity is that of its owner's plane.
        owner_plane = np.choose(stereo.seg_left.ravel(), planes)
        assert np.allclose(stereo.disp_left.ravel(), owner_plane, atol=1e-3)
    assert slanted == (name == "slanted")


def test_scale_multiplies_the_disparity_range_not_the_slant() -> None:
    recipe = _flow_recipe("stereo/slanted", ["scale=0.5"])
    assert scaled(recipe).stereo.disparity == (0.0, 64.0)
    assert scaled(recipe).stereo.slant == recipe.stereo.slant


def test_same_seed_and_index_give_the_same_bytes() -> None:
    recipe = _recipe("slanted")
    a, b = render_stereo_sample(recipe, 3, 5), render_stereo_sample(recipe, 3, 5)
    other = render_stereo_sample(recipe, 3, 6)
    for key, value in a.as_dict().items():
        assert np.array_equal(value, b.as_dict()[key]), key
    assert not np.array_equal(a.left, other.left)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("stereo.disparity=[-1,4]", r"stereo\.disparity"),
        ("stereo.disparity=[8,4]", r"stereo.*disparity"),
        ("stereo.slant=0.9", r"stereo\.slant"),
        ("stereo.baseline=1", r"stereo\.baseline"),
        ("stereo.disparity=[0,100000]", r"stereo\.disparity"),
        ("motion.still_probability=0.5", r"motion\.still_probability"),
        ("deformation.objects.probability=0.5", r"deformation\.objects\.probability"),
        ("frames=3", r"frames"),
    ],
)
def test_bad_stereo_keys_are_refused_by_name(override: str, key: str) -> None:
    with pytest.raises(RecipeError, match=key):
        _recipe("fronto", override)


def test_each_path_refuses_the_other_kind_of_recipe() -> None:
    with pytest.raises(RecipeError, match=r"stereo\.enabled"):
        render_stereo_sample(_flow_recipe("default", ["size=[64,96]"]), 0, 0)
    with pytest.raises(RecipeError, match=r"stereo\.enabled"):
        render_sample(_recipe("fronto"), 0, 0)


def test_a_recipe_without_stereo_keeps_its_hash_and_bytes() -> None:
    recipe = _flow_recipe("default", ["size=[64,96]", "objects.count=[3,6]"])
    assert "stereo" not in to_dict(recipe)
    assert recipe_hash(load_recipe("default")) == (
        "995aabbb6ce410991d292d7cce0ef0d98d8c6e3d8c808cc3dcdf7e562ab029b4"
    )
    digest = hashlib.sha256()
    for key, value in render_sample(recipe, 7, 2).as_dict().items():
        digest.update(key.encode())
        digest.update(value.tobytes())
    # The bytes of this sample before stereo existed.
    assert digest.hexdigest() == "8f313b22daa4d6dd8c3b5afd4f5103b8f5d1fee361232e91a9f9a4a11fef62ff"
