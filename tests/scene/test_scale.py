"""The recipe's ``scale``: every length in pixels (and the frame) multiplied, nothing else."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from flowsynth.recipe.fields import RecipeError, pixel_fields, recipe_hash, to_dict
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe, scaled
from flowsynth.render.layers import render, render_sample
from flowsynth.scene.plan import scene_for_index

#: Every length in pixels of a flow recipe: what ``scale`` multiplies.
PIXELS = {
    "size",
    "objects.shapes.box_half_extent",
    "objects.shapes.polygon_radius",
    "objects.shapes.ellipse_semi_axis",
    "textures.stripe_period",
    "textures.checker_size",
    "textures.noise_scale",
    "motion.background.translation.range",
    "motion.objects.translation.range",
    "render.motion_boundary_threshold",
    "stereo.disparity",
    "stereo.disparity_change",
}

#: Every other number of a flow recipe: counts, probabilities, angles, zoom factors, shares of a
#: frame or layer size (deformation amplitudes and wavelengths are relative to the layer).
UNITLESS = {
    "scale",
    "objects.count",
    "objects.spread",
    "objects.shapes.polygon_vertices",
    "objects.shapes.polygon_jitter",
    "objects.shapes.bezier_probability",
    "objects.shapes.composite_parts",
    "objects.shapes.subtract_probability",
    "objects.shapes.needle_squeeze",
    "objects.shapes.outline_ratio",
    "objects.shapes.crescent_offset",
    "textures.contrast",
    "motion.still_probability",
    "motion.small_probability",
    "motion.small_factor",
    *(
        f"deformation.{layer}.{key}"
        for layer in ("background", "objects")
        for key in ("probability", "stages", "amplitude", "wavelength", "waves")
    ),
    *(
        f"motion.{layer}.{param}.{key}"
        for layer in ("background", "objects")
        for param in ("translation", "rotation", "scale")
        for key in ("range", "power", "divisor", "probability")
        if (param, key) != ("translation", "range")
    ),
    "render.supersampling",
    "frames",
    "trajectory.acceleration",
    "trajectory.jitter",
    "stereo.slant",
}

#: Small frames and objects, for statistics over many samples.
BASE = [
    "size=[96,128]",
    "objects.count=[4,7]",
    "objects.shapes.box_half_extent=[4,40]",
    "objects.shapes.polygon_radius=[6,32]",
    "objects.shapes.ellipse_semi_axis=[6,26]",
    "motion.objects.translation.range=[-30,30]",
    "motion.background.translation.range=[-10,10]",
]


def _get(config: object, path: str) -> object:
    for part in path.split("."):
        config = getattr(config, part)
    return config


def _is_number(value: object) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items)


def test_every_numeric_field_is_pixels_or_listed_unitless() -> None:
    marks = pixel_fields(FlowRecipe)
    numeric = {path for path in marks if _is_number(_get(FlowRecipe(), path))}
    assert {path for path, pixels in marks.items() if pixels} == PIXELS
    assert numeric - PIXELS == UNITLESS, "a new numeric field: mark it pixels or list it unitless"
    assert typing.get_type_hints(FlowRecipe)["scale"] is float


def test_scaled_multiplies_exactly_the_pixel_fields() -> None:
    recipe = load_recipe("default", ["scale=0.5"])
    half = scaled(recipe)
    assert half.scale == 1.0 and scaled(half) is half
    assert half.size == (192, 256)
    for path in pixel_fields(FlowRecipe):
        before, after = _get(recipe, path), _get(half, path)
        if path in PIXELS:
            expected = tuple(0.5 * v for v in before) if isinstance(before, tuple) else 0.5 * before
            assert after == expected, path
        elif path != "scale":
            assert after == before, path
    odd = scaled(load_recipe("default", ["size=[97,129]", "scale=0.5"]))
    assert odd.size == (48, 64) and all(isinstance(v, int) for v in odd.size)  # rounded (even)


def test_scale_one_changes_nothing_and_keeps_the_hash() -> None:
    recipe = load_recipe("default")
    assert scaled(recipe) is recipe
    assert "scale" not in to_dict(recipe)
    assert recipe_hash(load_recipe("default", ["scale=1"])) == recipe_hash(recipe)
    half = load_recipe("default", ["scale=0.5"])
    assert to_dict(half)["scale"] == 0.5 and recipe_hash(half) != recipe_hash(recipe)


@pytest.mark.parametrize("value", ["0", "-1", "0.01", "1.0e+6", "9", "big", "[1, 2]"])
def test_bad_scale_raises_naming_scale(value: str) -> None:
    with pytest.raises(RecipeError, match=r"^scale"):
        load_recipe("default", [f"scale={value}"])


def test_scale_that_leaves_no_frame_raises_naming_scale() -> None:
    with pytest.raises(RecipeError, match=r"scale: 0\.05 turns the frame size"):
        load_recipe("default", ["size=[96,128]", "scale=0.05"])
    with pytest.raises(RecipeError, match=r"scale: 8\.0 turns the frame size"):
        load_recipe("default", ["size=[2048,2048]", "scale=8"])


def test_default_at_half_scale_renders_half_size_frames() -> None:
    recipe = load_recipe("default", ["scale=0.5"])
    sample = render_sample(recipe, 0, 0)
    assert sample.image1.shape == (192, 256, 3) and sample.flow.shape == (192, 256, 2)
    # The plan of the recipe is the plan of its scaled copy, and renders to the same bytes
    # (the motion-boundary threshold, in pixels, is scaled by the renderer).
    plan = scene_for_index(recipe, 0, 0)
    assert plan.scale == 0.5
    copy = scaled(recipe)
    expected = render(scene_for_index(copy, 0, 0), copy.render).as_dict()
    for key, value in sample.as_dict().items():
        assert value.tobytes() == expected[key].tobytes(), key


def _correlation_length(images: list[np.ndarray]) -> float:
    """Horizontal lag (px) at which the mean autocorrelation of the grey rows falls to 1/2."""
    curves = []
    for image in images:
        grey = image.astype(np.float64).mean(axis=2)
        grey -= grey.mean(axis=1, keepdims=True)
        width = grey.shape[1]
        spectrum = np.fft.rfft(grey, 2 * width, axis=1)
        curve = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :width].sum(0)
        curve /= width - np.arange(width)
        curves.append(curve / curve[0])
    curve = np.mean(curves, axis=0)
    k = int(np.argmax(curve < 0.5))
    return k - 1 + (curve[k - 1] - 0.5) / (curve[k - 1] - curve[k])


def _statistics(recipe: FlowRecipe, count: int) -> tuple[float, float, float]:
    """Median flow magnitude, mean share of object pixels, texture correlation length."""
    flows, areas, images = [], [], []
    for index in range(count):
        sample = render_sample(recipe, 7, index)
        flows.append(np.hypot(sample.flow[..., 0], sample.flow[..., 1]).ravel())
        areas.append(float((sample.segmentation1 > 0).mean()))
        images.append(sample.image1)
    return (
        float(np.median(np.concatenate(flows))),
        float(np.mean(areas)),
        _correlation_length(images),
    )


def test_half_scale_halves_lengths_and_keeps_area_shares() -> None:
    """Over 200 samples, ``scale: 0.5`` halves flow magnitudes and texture feature sizes and
    keeps the share of the frame that objects cover (seen: ratios 0.4997, 0.9995, 0.509)."""
    full = load_recipe("default", BASE)
    half = load_recipe("default", [*BASE, "scale=0.5"])
    flow1, area1, length1 = _statistics(full, 200)
    flow2, area2, length2 = _statistics(half, 200)
    assert render_sample(half, 7, 0).image1.shape == (48, 64, 3)
    assert flow2 / flow1 == pytest.approx(0.5, rel=0.03)
    assert area2 / area1 == pytest.approx(1.0, rel=0.03)
    assert length2 / length1 == pytest.approx(0.5, rel=0.08)
