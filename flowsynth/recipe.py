"""Recipe files -> frozen, typed, validated configuration objects.

A recipe is a YAML file (read with ``yaml.safe_load``) that maps onto the frozen dataclasses of
``flowsynth.schema``. Every key is checked: an unknown key, a wrong type or a value out of range
raises ``RecipeError`` naming the key's dotted path and the allowed keys or range.

A recipe may extend another with ``base: other.yaml`` (a path relative to the recipe's folder, or
the name of a built-in recipe) and be overridden with ``--set key.sub=value`` pairs, whose values
are parsed as YAML (``--set objects.count=[8,12]``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

#: Folder of the recipes shipped with flowsynth (``recipes/`` of the repository or the wheel).
BUILTIN_RECIPES = Path(__file__).resolve().parent.parent / "recipes"


class RecipeError(ValueError):
    """A recipe is malformed; the message names the offending key path."""


def spec(
    default: Any, *, low: float | None = None, high: float | None = None, doc: str = ""
) -> Any:
    """A dataclass field with an allowed range ``[low, high]`` (inclusive) checked on load."""
    return dataclasses.field(default=default, metadata={"low": low, "high": high, "doc": doc})


# ----------------------------------------------------------------------------------- loading


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RecipeError(f"cannot read recipe {path}: {error.strerror or error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RecipeError(f"recipe {path} is not valid YAML: {error}") from error
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
    candidates += [BUILTIN_RECIPES / raw, BUILTIN_RECIPES / raw.with_suffix(".yaml")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    builtin = sorted(str(p.relative_to(BUILTIN_RECIPES).with_suffix("")) for p in builtin_recipes())
    raise RecipeError(f"recipe {str(name)!r} not found; built-in recipes: {', '.join(builtin)}")


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
    from flowsynth.schema import ROOT_SCHEMAS  # schema imports this module

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
    if not isinstance(base, str):
        raise RecipeError(f"base: must be a recipe path or name, got {base!r} in {path}")
    base_data = load_raw(resolve_recipe_path(base, path.parent), (*_seen, path))
    return deep_merge(base_data, data, _root_schema(deep_merge(base_data, data)))


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["objects.count=[8,12]", "size=[64,96]"]`` -> nested mapping, values parsed as YAML."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {pair!r} must look like key.sub=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise RecipeError(f"override {pair!r}: value is not valid YAML: {error}") from error
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise RecipeError(f"override {pair!r} conflicts with another override of {part}")
        node[parts[-1]] = value
    return result


# -------------------------------------------------------------------------------- validation


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation))


def _span(low: float | None, high: float | None) -> str:
    """The allowed values of a range with optional ends, as the errors print them."""
    if high is None:
        return f">= {low}"
    if low is None:
        return f"<= {high}"
    return f"[{low}, {high}]"


def _check_range(value: Any, field: dataclasses.Field[Any], path: str) -> None:
    low, high = field.metadata.get("low"), field.metadata.get("high")
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if (low is not None and item < low) or (high is not None and item > high):
                raise RecipeError(f"{path}: {value!r} is out of range; allowed {_span(low, high)}")


def _convert(value: Any, annotation: Any, path: str) -> Any:
    """Convert a YAML value to ``annotation`` (dataclass, scalar, tuple, mapping, optional)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            allowed = _allowed(annotation)  # type: ignore[arg-type]
            raise RecipeError(f"{path}: expected a mapping of {allowed}, got {value!r}")
        return build(annotation, value, path)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], path)
    if origin is typing.Literal:
        if value not in args:
            raise RecipeError(f"{path}: {value!r} is not allowed; allowed values: {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            value = [value, value] if len(args) == 2 and args[1] is not Ellipsis else [value]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise RecipeError(f"{path}: expected {len(args)} values, got {list(value)!r}")
        pairs = enumerate(zip(value, args, strict=True))
        return tuple(_convert(v, a, f"{path}[{i}]") for i, (v, a) in pairs)
    if origin in (dict, Mapping) or annotation is dict:
        if not isinstance(value, Mapping):
            raise RecipeError(f"{path}: expected a mapping, got {value!r}")
        key_type, value_type = args or (str, Any)
        return {str(k): _convert(v, value_type, f"{path}.{k}") for k, v in value.items()}
    if annotation is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{path}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{path}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{path}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise RecipeError(f"{path}: expected a finite number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise RecipeError(f"{path}: expected a string, got {value!r}")
        return value
    if annotation is Any:
        return value
    raise TypeError(f"unsupported recipe annotation {_type_name(annotation)} at {path}")


def _allowed(cls: type) -> str:
    return ", ".join(f.name for f in dataclasses.fields(cls))


def build(cls: type[T], data: Mapping[str, Any], path: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a mapping, checking keys, types and ranges."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in data.items():
        key_path = f"{path}.{key}" if path else str(key)
        if key not in fields:
            where = path or "the top level"
            raise RecipeError(f"unknown key {key_path!r} in {where}; allowed keys: {_allowed(cls)}")
        converted = _convert(value, hints[key], key_path)
        _check_range(converted, fields[key], key_path)
        values[key] = converted
    try:
        instance = cls(**values)
    except RecipeError:
        raise
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{path or 'recipe'}: {error}") from error
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as error:
            raise RecipeError(f"{path or 'recipe'}: {error}") from error
    return instance


def to_dict(config: Any) -> Any:
    """The plain (JSON-ready) form of a config: dataclasses to dicts, tuples to lists."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (tuple, list)):
        return [to_dict(v) for v in config]
    if isinstance(config, Mapping):
        return {str(k): to_dict(v) for k, v in config.items()}
    return config


def recipe_hash(config: Any) -> str:
    """sha256 of the resolved recipe's canonical JSON: two recipes with the same hash agree."""
    text = json.dumps(to_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def load_recipe(name: str | Path, overrides: Sequence[str] = ()) -> Any:
    """Load, merge, override and validate a recipe; returns its frozen config object.

    The top-level ``kind`` key picks the schema (``flow`` by default).
    """
    from flowsynth.schema import ROOT_SCHEMAS  # schema imports this module

    raw = load_raw(resolve_recipe_path(name))
    raw = deep_merge(raw, parse_overrides(overrides), _root_schema(raw))
    return from_mapping(raw, ROOT_SCHEMAS)


def from_mapping(raw: Mapping[str, Any], schemas: Mapping[str, type]) -> Any:
    """Validate a merged recipe mapping against the schema its ``kind`` names."""
    kind = raw.get("kind", "flow")
    if not isinstance(kind, str) or kind not in schemas:
        raise RecipeError(f"kind: {kind!r} is not allowed; allowed values: {sorted(schemas)}")
    return build(schemas[kind], raw)
