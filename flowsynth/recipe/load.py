"""Recipe files -> frozen, typed, validated configuration objects.

A recipe is a YAML file (read within bounds by ``flowsynth.recipe.bounded_yaml``) that maps onto
the frozen dataclasses of ``flowsynth.recipe.schema``. Every key is checked: an unknown key, a
wrong type or a value out of range raises ``RecipeError`` naming the key's dotted path and the
allowed keys or range.

A recipe may extend another with ``base: other.yaml`` (a path relative to the recipe's folder, or
the name of a built-in recipe) and be overridden with ``--set key.sub=value`` pairs, whose values
are parsed as YAML (``--set objects.count=[8,12]``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flowsynth.recipe.bounded_yaml import MAX_DEPTH, load_yaml, read_yaml_file
from flowsynth.recipe.fields import RecipeError, shown
from flowsynth.recipe.fields import build as build
from flowsynth.recipe.schema import ROOT_SCHEMAS, FlowRecipe, Recipe

#: Folder of the recipes shipped with flowsynth (``recipes/`` of the repository or the wheel).
BUILTIN_RECIPES = Path(__file__).resolve().parents[2] / "recipes"


# ----------------------------------------------------------------------------------- loading


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(
            f"recipe {path} must be a mapping at the top level, got {type(data).__name__}"
        )
    return data


def resolve_recipe_path(name: str | Path, relative_to: Path | None = None) -> Path:
    """Find a recipe file: an existing path, a path relative to ``relative_to``, or a built-in name.

    Built-in names are paths below ``recipes/`` with or without ``.yaml``
    (``default``, ``ablation/boxes``).
    """
    raw = Path(name)
    candidates = [raw]
    if relative_to is not None:
        candidates.append(relative_to / raw)
    candidates.append(BUILTIN_RECIPES / raw)
    if raw.name not in ("", ".", ".."):
        candidates.append(BUILTIN_RECIPES / raw.with_suffix(".yaml"))
    for candidate in candidates:
        try:
            if str(name) and candidate.is_file():
                return candidate
        except (OSError, ValueError):  # a name too long, or with a NUL byte: not a file
            continue
    builtin = sorted(str(p.relative_to(BUILTIN_RECIPES).with_suffix("")) for p in builtin_recipes())
    raise RecipeError(
        f"recipe {shown(str(name))} not found; built-in recipes: {', '.join(builtin)}"
    )


def builtin_recipes() -> list[Path]:
    """Every recipe file shipped in ``recipes/``."""
    return sorted(BUILTIN_RECIPES.rglob("*.yaml"))


def _table_type(schema: type | None, key: str) -> type | None:
    """The dataclass type of ``schema.key`` when that field is itself a table, else None."""
    if schema is None or not dataclasses.is_dataclass(schema):
        return None
    hint = typing.get_type_hints(schema).get(key)
    return hint if dataclasses.is_dataclass(hint) else None  # type: ignore[return-value]


def deep_merge(
    base: Mapping[str, Any], override: Mapping[str, Any], schema: type | None = None
) -> dict[str, Any]:
    """Merge ``override`` into ``base``.

    Tables of the schema (dataclass fields) merge key by key; every other value, including a
    mapping such as a weight table (``objects.kinds``), is replaced whole: ``kinds: {box: 1}``
    means boxes only, whatever the base allowed.
    """
    merged = dict(base)
    for key, value in override.items():
        table = _table_type(schema, key)
        if (
            table is not None
            and isinstance(value, Mapping)
            and isinstance(merged.get(key), Mapping)
        ):
            merged[key] = deep_merge(merged[key], value, table)
        else:
            merged[key] = value
    return merged


def _root_schema(data: Mapping[str, Any]) -> type | None:
    kind = data.get("kind", "flow")
    return ROOT_SCHEMAS.get(kind) if isinstance(kind, str) else None


def load_raw(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a recipe file and the chain of ``base:`` files it extends, merged into one mapping."""
    path = path.resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise RecipeError(f"recipe bases form a cycle: {chain}")
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base.strip():
        raise RecipeError(f"base: must be a recipe path or name, got {shown(base)} in {path}")
    base_data = load_raw(resolve_recipe_path(base, path.parent), (*_seen, path))
    return deep_merge(base_data, data, _root_schema(deep_merge(base_data, data)))


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["objects.count=[8,12]", "size=[64,96]"]`` -> nested mapping, values parsed as YAML."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {shown(pair)} must look like key.sub=value")
        parts = key.strip().split(".")
        if len(parts) > MAX_DEPTH:
            raise RecipeError(f"override {shown(pair)}: key nested deeper than {MAX_DEPTH} levels")
        value = load_yaml(text, f"override {shown(pair)}: value")
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise RecipeError(
                    f"override {shown(pair)} conflicts with another override of {shown(part)}"
                )
        node[parts[-1]] = value
    return result


def load_recipe(name: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Load, merge, override and validate a recipe; returns its frozen config object.

    The top-level ``kind`` key picks the schema (``flow`` by default).
    """
    raw = load_raw(resolve_recipe_path(name))
    raw = deep_merge(raw, parse_overrides(overrides), _root_schema(raw))
    return from_mapping(raw)


def load_flow_recipe(name: str | Path, overrides: Sequence[str] = ()) -> FlowRecipe:
    """:func:`load_recipe` for callers that need a flow recipe; another kind raises
    ``RecipeError`` saying so."""
    recipe = load_recipe(name, overrides)
    if not isinstance(recipe, FlowRecipe):
        raise RecipeError(
            f"{shown(str(name))} is a recipe of kind {recipe.kind!r}; this needs kind: flow"
        )
    return recipe


def from_mapping(raw: Mapping[str, Any]) -> Recipe:
    """Validate a merged recipe mapping against the schema its ``kind`` names."""
    kind = raw.get("kind", "flow")
    if not isinstance(kind, str) or kind not in ROOT_SCHEMAS:
        allowed = sorted(ROOT_SCHEMAS)
        raise RecipeError(f"kind: {shown(kind)} is not allowed; allowed values: {allowed}")
    recipe: Recipe = build(ROOT_SCHEMAS[kind], raw)
    return recipe
