"""Recipes: every shipped recipe loads; bad recipes raise errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.ablation import paper
from flowsynth.recipe.fields import RecipeError, recipe_hash, to_dict
from flowsynth.recipe.load import builtin_recipes, from_mapping, load_recipe, parse_overrides
from flowsynth.recipe.schema import ROOT_SCHEMAS, FlowRecipe

ABLATION_ROWS = [row for row, _ in paper.ROWS]


@pytest.mark.parametrize("path", builtin_recipes(), ids=lambda p: p.stem)
def test_every_shipped_recipe_loads(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.kind in ROOT_SCHEMAS
    assert recipe_hash(recipe) == recipe_hash(load_recipe(path))


def test_ablation_rows_each_add_one_ingredient() -> None:
    rows = {name: load_recipe(f"ablation/{name}") for name in ABLATION_ROWS}
    assert set(rows["boxes"].objects.kinds) == {"box"}
    assert set(rows["polygons"].objects.kinds) == {"polygon"}
    assert set(rows["ellipses"].objects.kinds) == {"ellipse"}
    assert set(rows["polygons_ellipses"].objects.kinds) == {"polygon", "ellipse"}
    for name in ["boxes", "polygons", "ellipses", "polygons_ellipses"]:
        motion = rows[name].motion
        assert motion.objects.rotation.probability == 0 and motion.objects.scale.probability == 0
        assert motion.background.rotation.probability == 0
    assert rows["rotations"].motion.objects.rotation.probability > 0
    assert rows["rotations"].motion.objects.scale.probability == 0
    assert rows["scaling"].motion.objects.scale.probability > 0
    assert "composite" in rows["holes"].objects.kinds
    assert {"needle", "outline", "crescent"} <= set(rows["thin"].objects.kinds)
    assert rows["thin"].deformation.objects.probability == 0
    assert rows["deformations"].deformation.objects.probability > 0
    assert len({recipe_hash(r) for r in rows.values()}) == len(rows)


def test_defaults_match_the_default_recipe_file() -> None:
    assert to_dict(load_recipe("default")) == to_dict(FlowRecipe()) | {
        "description": load_recipe("default").description,
        "objects": to_dict(load_recipe("default").objects),
        "deformation": to_dict(load_recipe("default").deformation),
    }


def test_unknown_key_names_its_path_and_the_allowed_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("objects:\n  shapes:\n    box_halfextent: [1, 2]\n")
    with pytest.raises(
        RecipeError, match=r"objects\.shapes\.box_halfextent.*allowed keys:.*box_half_extent"
    ):
        load_recipe(path)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("size=[4,8]", r"size.*out of range; allowed \[8, 8192\]"),
        ("objects.shapes.box_half_extent=[0,5]", r"box_half_extent.*allowed >= 1\.0$"),
        ("objects.count=[9,3]", r"count.*exceeds"),
        ("objects.kinds={cube: 1}", r"kinds.*cube.*allowed keys"),
        ("motion.objects.rotation.probability=1.5", r"probability.*out of range.*\[0.0, 1.0\]"),
        ("motion.objects.rotation.law=gauss", r"law.*allowed values"),
        ("render.supersampling=two", r"render\.supersampling.*integer"),
        ("objects=3", r"objects.*expected a mapping"),
        ("kind=video", r"kind.*allowed values"),
    ],
)
def test_bad_values_raise_clear_errors(override: str, pattern: str) -> None:
    with pytest.raises(RecipeError, match=pattern):
        load_recipe("default", [override])


def test_base_chain_overrides_and_cycles(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("base: ablation/boxes\nsize: [64, 80]\n")
    recipe = load_recipe(tmp_path / "a.yaml", ["objects.count=[1,2]"])
    assert recipe.size == (64, 80) and recipe.objects.count == (1, 2)
    assert set(recipe.objects.kinds) == {"box"}
    (tmp_path / "x.yaml").write_text("base: y.yaml\n")
    (tmp_path / "y.yaml").write_text("base: x.yaml\n")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "x.yaml")
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(RecipeError, match="mapping at the top level"):
        load_recipe(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("size: [1, 2\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(tmp_path / "broken.yaml")


def test_overrides_parse_as_yaml() -> None:
    assert parse_overrides(["a.b=[1, 2]", "a.c=x", "d=3.5"]) == {
        "a": {"b": [1, 2], "c": "x"},
        "d": 3.5,
    }
    with pytest.raises(RecipeError, match="key.sub=value"):
        parse_overrides(["novalue"])


def test_recipes_are_frozen() -> None:
    recipe = load_recipe("default")
    with pytest.raises(AttributeError):
        recipe.size = (1, 1)  # type: ignore[misc]


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "size",
                    "objects",
                    "count",
                    "kinds",
                    "box",
                    "range",
                    "motion",
                    "law",
                    "x",
                    "shapes",
                    "kind",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([f.name for f in __import__("dataclasses").fields(FlowRecipe)] + ["bogus"]),
        yaml_values,
        max_size=5,
    )
)
def test_fuzzed_recipes_load_or_raise_recipe_error(data: dict) -> None:
    try:
        recipe = from_mapping(data)
    except RecipeError:
        return
    assert isinstance(recipe, FlowRecipe)
    yaml.safe_dump(to_dict(recipe))  # a loaded recipe is plain data again
