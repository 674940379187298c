"""Hostile or careless recipes: every one loads or raises a ``RecipeError`` that names the key
(or the file), quickly, with values shown cut short; and what loads can be rendered."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from flowsynth.io.limits import MAX_SIDE
from flowsynth.recipe.bounded_yaml import MAX_BYTES, load_yaml
from flowsynth.recipe.fields import SHOWN_CHARS, RecipeError, shown
from flowsynth.recipe.load import from_mapping, load_flow_recipe, load_recipe
from flowsynth.recipe.schema import ELASTIC_MAX_LENGTH, MAX_SMOOTHING, ElasticRecipe, FlowRecipe
from flowsynth.render.layers import render_sample

SMALL = ["size=[32,48]", "objects.count=[2,3]"]


def _alias_bomb(key: str, depth: int = 9) -> str:
    """``depth`` anchors, each a list of nine aliases of the previous: 9**depth items."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    lines.append(f"{key}: [{', '.join([f'*a{depth - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _fails_fast(path: Path, pattern: str) -> str:
    start = time.perf_counter()
    with pytest.raises(RecipeError, match=pattern) as error:
        load_recipe(path)
    assert time.perf_counter() - start < 2.0
    return str(error.value)


# ------------------------------------------------------------------ finding 3: alias bombs


@pytest.mark.parametrize("key", ["description", "kind", "size", "objects", "base", "motion"])
def test_alias_bombs_are_refused_before_they_expand(tmp_path: Path, key: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb(key))
    message = _fails_fast(path, r"more than \d+ values once aliases are expanded")
    assert str(path) in message


def test_cyclic_aliases_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    (tmp_path / "cycle.yaml").write_text("objects: &o {count: *o}\n")
    _fails_fast(tmp_path / "cycle.yaml", r"alias \*o is inside the node it names")
    (tmp_path / "deep.yaml").write_text("size: " + "[" * 5000 + "]" * 5000 + "\n")
    _fails_fast(tmp_path / "deep.yaml", "nested deeper than")
    with pytest.raises(RecipeError, match="nested deeper than"):
        load_recipe("default", ["size=" + "[" * 5000 + "]" * 5000])


def test_files_past_the_size_cap_are_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("description: " + "x" * MAX_BYTES + "\n")
    _fails_fast(path, rf"bytes; a recipe may have {MAX_BYTES}")


def test_error_messages_show_values_cut_short() -> None:
    bomb = load_yaml(_alias_bomb("x", depth=4), "test")["x"]  # 9**4 items: within bounds
    for key in ("description", "objects", "size", "kind"):
        start = time.perf_counter()
        with pytest.raises(RecipeError) as error:
            from_mapping({key: bomb})
        assert time.perf_counter() - start < 1.0
        assert len(str(error.value)) < 3 * SHOWN_CHARS + 100, str(error.value)
    assert len(shown(list(range(10**6)))) <= SHOWN_CHARS
    assert "digit integer" in shown(10**5000)  # Python refuses to repr it in full


# ------------------------------------------------- finding 4: valid-looking, crashing recipes


def test_a_partial_motion_table_keeps_the_defaults_of_its_place(tmp_path: Path) -> None:
    """Left-out keys of a table take the defaults shown at that place: the scale range of
    ``motion.objects`` is (0.8, 1.2), not the (0, 0) of a bare ``Distribution``: a zoom of 0."""
    path = tmp_path / "zoom.yaml"
    path.write_text("size: [32, 48]\nmotion: {objects: {scale: {probability: 0.5}}}\n")
    recipe = load_flow_recipe(path)
    scale = recipe.motion.objects.scale
    assert scale.range == FlowRecipe().motion.objects.scale.range == (0.8, 1.2)
    assert scale.probability == 0.5 and scale.law == FlowRecipe().motion.objects.scale.law
    background = load_flow_recipe(path, ["motion.background.rotation={probability: 0}"])
    assert background.motion.background.translation == FlowRecipe().motion.background.translation
    for index in range(3):
        render_sample(recipe, 0, index)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("motion.objects.scale.range=[0, 1.2]", r"motion\.objects: scale\.range.*within"),
        ("motion.background.scale.range=[-1, 1]", r"motion\.background: scale\.range"),
        ("motion.objects.scale.range=[1, 1000]", r"motion\.objects: scale\.range"),
        ("motion.objects.rotation.range=[-1.0e+300, 1.0e+300]", r"rotation\.range.*within"),
        ("objects.shapes.polygon_radius=[20, 1.0e+12]", r"objects\.shapes\.polygon_radius.*reach"),
        ("objects.shapes.ellipse_semi_axis=[20, 1.0e+7]", r"shapes\.ellipse_semi_axis.*reach"),
        ("objects.shapes.box_half_extent=[10, 1.0e+9]", r"shapes\.box_half_extent.*reach"),
        ("textures.noise_scale=[8, 1.0e+9]", r"textures\.noise_scale.*reach"),
        ("motion.background.translation.range=[-1.0e+9, 0]", r"background\.translation.*reach"),
        ("motion.objects.scale.range=[.nan, 1]", r"motion\.objects\.scale\.range\[0\].*finite"),
        ("objects.shapes.polygon_radius=[20, .inf]", r"polygon_radius\[1\].*finite"),
        ("scale=" + "9" * 400 + ".5", r"^scale: expected a finite number"),
    ],
)
def test_ranges_that_cannot_be_rendered_are_refused(override: str, pattern: str) -> None:
    with pytest.raises(RecipeError, match=pattern):
        load_recipe("default", [*SMALL, override])


def test_the_reach_grows_with_the_frame_and_ignores_scale() -> None:
    radius = "objects.shapes.polygon_radius=[20, 5000]"
    with pytest.raises(RecipeError, match="polygon_radius"):
        load_recipe("default", [*SMALL, radius])  # 16 x 256 px (the smallest reach) < 5000
    big = load_flow_recipe("default", ["size=[1024,1024]", radius])
    assert big.objects.shapes.polygon_radius == (20.0, 5000.0)
    assert load_recipe("default", ["size=[1024,1024]", radius, "scale=0.25"]).scale == 0.25


def test_recipes_at_the_limits_render() -> None:
    """The largest shapes, translations and zooms validation allows still render."""
    recipe = load_flow_recipe(
        "default",
        [
            *SMALL,
            "objects.kinds={polygon: 1, ellipse: 1, box: 1, composite: 1, crescent: 1}",
            "objects.shapes.polygon_radius=[20, 4096]",
            "objects.shapes.ellipse_semi_axis=[25, 4096]",
            "objects.shapes.box_half_extent=[10, 4096]",
            "motion.background.translation.range=[-256, 256]",
            "motion.objects.scale={range: [0.1, 10], probability: 1}",
            "motion.background.scale={range: [0.1, 10], probability: 1}",
        ],
    )
    for index in range(3):
        sample = render_sample(recipe, 0, index)
        assert sample.image1.shape == (32, 48, 3)


# ----------------------------------------------------- finding 7: untyped loader errors


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"size: [\xff\xfe, 8]\n", r"is not UTF-8 text: byte 7 is 0xff"),
        (b"size: [" + b"9" * 5000 + b", 8]\n", r"integer longer than"),
        (b"scale: " + b"9" * 400 + b"\n", r"integer longer than"),
        (b"scale: 1" + b"0" * 99 + b"\n", r"^scale: 1e\+99 is out of range"),
        (b"base: ''\n", r"base: must be a recipe path or name"),
        (b"base: 'a\\0b'\n", r"not found"),
        (b"base: " + b"a" * 5000 + b"\n", r"not found"),
        (b"description: 2024-13-45\n", r"not valid YAML: month must be in 1\.\.12"),
        (b"\x00\x01", r"not valid YAML"),
        (b"? [a, b]\n: 1\n", r"not valid YAML"),
    ],
)
def test_malformed_files_raise_recipe_errors(tmp_path: Path, content: bytes, pattern: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    _fails_fast(path, pattern)


def test_malformed_overrides_raise_recipe_errors() -> None:
    for override in ["size=[" + "9" * 5000 + ", 8]", "a" + ".a" * 100 + "=1", "x=*nowhere"]:
        with pytest.raises(RecipeError, match="override"):
            load_recipe("default", [override])
    with pytest.raises(RecipeError, match=r"^unknown key '1'"):
        from_mapping({1: 2})  # type: ignore[dict-item]
    with pytest.raises(RecipeError, match=r"^scale: expected a finite number, got <401-digit"):
        from_mapping({"scale": 10**400})  # beyond float: OverflowError before


# ------------------------------------------- elastic recipes: every length and scale bounded


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("sigma=1.0e+300", r"^sigma: 1e\+300 is out of range; allowed \[0\.0, 32768\.0\]"),
        ("spacing=1.0e+9", r"^spacing: .* is out of range; allowed \[0\.0, 32768\.0\]"),
        ("spacing=0.001", r"^recipe: spacing: 0\.001 is too small; give 0 .* at least 4"),
        ("alpha=1.0e+12", r"^alpha: .* is out of range"),
        ("smoothing=1.0e+9", r"^smoothing: .* is out of range; allowed \[0\.1, 1024\.0\]"),
        ("w0=1.0e+300", r"^w0: .* is out of range"),
        ("weight_sigma=1.0e+9", r"^weight_sigma: .* is out of range"),
        ("fill=-1.0e+300", r"^fill: .* is out of range; allowed \[-65535\.0, 65535\.0\]"),
        ("ignore_label=" + "9" * 30, r"^ignore_label: .* is out of range"),
        ("foreground=4294967296", r"^foreground: 4294967296 is out of range"),
        ("sigma=.inf", r"^sigma: expected a finite number"),
    ],
)
def test_elastic_values_that_cannot_be_deformed_are_refused(override: str, pattern: str) -> None:
    start = time.perf_counter()
    with pytest.raises(RecipeError, match=pattern):
        load_recipe("elastic/unet", [override])
    assert time.perf_counter() - start < 1.0


def test_elastic_values_at_the_limits_load_and_deform() -> None:
    """The largest lengths and scales validation allows still deform a small pair."""
    from flowsynth.deform.pairs import Pair
    from flowsynth.deform.recipe import elastic_sample, encode_elastic

    image = np.random.default_rng(0).integers(0, 256, (24, 20), dtype=np.uint8)
    pair = Pair("edge", image, np.where(image > 128, 255, 0).astype(np.int32))
    common = [
        "sigma=32768",
        "weight_sigma=32768",
        "w0=1000",
        "fill=-65535",
        "border=constant",
        f"ignore_label={2**31 - 1}",
        "foreground=255",
    ]
    for extra in (["spacing=32768"], ["spacing=4"], ["field=smoothed", "alpha=32768"]):
        recipe = load_recipe("elastic/unet", [*common, *extra, "smoothing=1024"])
        assert isinstance(recipe, ElasticRecipe) and recipe.smoothing == MAX_SMOOTHING
        sample = elastic_sample(recipe, [pair], 0, 1)
        assert sample.flow is not None and np.isfinite(sample.flow).all()
        assert sample.weight is not None and np.isfinite(sample.weight).all()
        encode_elastic(dataclasses.replace(sample, label=sample.label % 256))


def test_elastic_bounds_admit_the_built_in_recipes_and_match_the_readers() -> None:
    for name in ("elastic/unet", "elastic/affine_elastic", "elastic/unet3d"):
        assert isinstance(load_recipe(name), ElasticRecipe)
    assert from_mapping({"kind": "elastic"}) == ElasticRecipe()
    assert ELASTIC_MAX_LENGTH == MAX_SIDE  # the largest image side a reader accepts
