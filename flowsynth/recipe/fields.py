"""How a recipe's frozen dataclasses are declared and built: ``spec`` fields with ranges,
``build`` (a mapping to a dataclass, every key, type and range checked), ``to_dict`` and
``recipe_hash``, and ``scaled`` (every length in pixels multiplied by a factor, found from the
``pixels`` marks of ``spec``).

Errors are :class:`RecipeError`, naming the offending key's dotted path and the allowed keys or
range. This module knows no schema: ``flowsynth.recipe.schema`` declares the tables with
:func:`spec`, and ``flowsynth.recipe.load`` reads files into them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import reprlib
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class RecipeError(ValueError):
    """A recipe is malformed; the message names the offending key path."""


#: Longest shown value in an error message, in characters.
SHOWN_CHARS = 80


class _BoundedRepr(reprlib.Repr):
    """``reprlib.Repr`` that never formats a huge integer in full (Python refuses ints of
    more than 4,300 digits, and formatting a long one is quadratic)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            digits = int(x.bit_length() * math.log10(2)) + 1
            return f"<{'-' if x < 0 else ''}{digits}-digit integer>"
        return super().repr_int(x, level)


_REPR = _BoundedRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 6, 6, 6
_REPR.maxstring = _REPR.maxother = SHOWN_CHARS


def shown(value: Any) -> str:
    """``repr(value)`` cut to about :data:`SHOWN_CHARS` characters, for error messages.

    The work is bounded too: nested and shared values (a YAML alias bomb expands to billions
    of items) are visited only to a few levels and items.
    """
    text = _REPR.repr(value)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 3] + "..."
    return text


#: ``spec(pixels=...)`` of a field whose unit is that of the field holding its table: a length
#: in pixels (scaled) when that field is marked ``pixels=True``, else left alone (a
#: ``Distribution``'s ``range``: pixels for a translation, degrees for a rotation).
INHERIT = "inherit"


def spec(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    doc: str = "",
    pixels: bool | str = False,
    omit_default: bool = False,
) -> Any:
    """A dataclass field with an allowed range ``[low, high]`` (inclusive) checked on load.

    ``pixels=True`` marks a length in pixels (or a table of them, see :data:`INHERIT`), which
    :func:`scaled` multiplies. ``omit_default`` leaves the field out of :func:`to_dict` (and so
    of :func:`recipe_hash`) while it holds its default: a key added later keeps the hash of
    recipes that do not use it.
    """
    metadata = {"low": low, "high": high, "doc": doc, "pixels": pixels}
    if omit_default:
        metadata["omit_default"] = True
    return dataclasses.field(default=default, metadata=metadata)


def _is_pixels(field: dataclasses.Field[Any], inherited: bool) -> bool:
    mark = field.metadata.get("pixels", False)
    return mark is True or (mark == INHERIT and inherited)


def _times(value: Any, factor: float) -> Any:
    """``value`` (a number or a tuple of numbers) times ``factor``; integers are rounded."""
    if isinstance(value, tuple):
        return tuple(_times(v, factor) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"cannot scale {value!r}: not a number")
    if isinstance(value, int):
        return int(round(value * factor))
    return float(value * factor)


def scaled(config: T, factor: float, *, inherited: bool = False) -> T:
    """``config`` (a frozen dataclass) with every field that ``spec`` marks ``pixels``
    multiplied by ``factor``, in nested tables too; integers are rounded. The same object when
    nothing changes (``factor`` 1 changes nothing)."""
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, field.name)
        pixels = _is_pixels(field, inherited)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            new = scaled(value, factor, inherited=pixels)
        elif pixels and factor != 1.0:
            new = _times(value, factor)
        else:
            continue
        if new != value:
            changes[field.name] = new
    return dataclasses.replace(config, **changes) if changes else config  # type: ignore[type-var]


def pixel_fields(cls: type, path: str = "", *, inherited: bool = False) -> dict[str, bool]:
    """Every non-table field of the dataclass ``cls`` and its nested tables, by dotted path:
    True for a length in pixels (what :func:`scaled` multiplies), else False."""
    hints = typing.get_type_hints(cls)
    result: dict[str, bool] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = f"{path}.{field.name}" if path else field.name
        pixels = _is_pixels(field, inherited)
        if dataclasses.is_dataclass(hints[field.name]):
            result |= pixel_fields(hints[field.name], key, inherited=pixels)
        else:
            result[key] = pixels
    return result


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
                raise RecipeError(
                    f"{path}: {shown(value)} is out of range; allowed {_span(low, high)}"
                )


def _convert(value: Any, annotation: Any, path: str, default: Any = None) -> Any:
    """Convert a YAML value to ``annotation`` (dataclass, scalar, tuple, mapping, optional).

    A table (dataclass) starts from ``default``, the field's default table, when there is one:
    keys a recipe leaves out keep the defaults the schema shows at that place (``motion.objects.
    scale: {probability: 0.5}`` keeps the scale range of ``motion.objects``).
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, Mapping):
            allowed = _allowed(annotation)  # type: ignore[arg-type]
            raise RecipeError(f"{path}: expected a mapping of {allowed}, got {shown(value)}")
        base = default if isinstance(default, annotation) else None  # type: ignore[arg-type]
        return build(annotation, value, path, base=base)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], path, default)
    if origin is typing.Literal:
        if value not in args:
            values = list(args)
            raise RecipeError(f"{path}: {shown(value)} is not allowed; allowed values: {values}")
        return value
    if origin is tuple:
        return _convert_tuple(value, args, path)
    if origin in (dict, Mapping) or annotation is dict:
        if not isinstance(value, Mapping):
            raise RecipeError(f"{path}: expected a mapping, got {shown(value)}")
        key_type, value_type = args or (str, Any)
        return {_key(k): _convert(v, value_type, f"{path}.{_key(k)}") for k, v in value.items()}
    return _convert_scalar(value, annotation, path)


def _convert_tuple(value: Any, args: tuple[Any, ...], path: str) -> tuple[Any, ...]:
    """A YAML value as ``tuple[args]``: a fixed-length tuple, or ``tuple[T, ...]``; a scalar
    stands for a pair of itself (``tuple[T, T]``) or a one-item tuple."""
    if not isinstance(value, (list, tuple)):
        value = [value, value] if len(args) == 2 and args[1] is not Ellipsis else [value]
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise RecipeError(f"{path}: expected {len(args)} values, got {shown(value)}")
    pairs = enumerate(zip(value, args, strict=True))
    return tuple(_convert(v, a, f"{path}[{i}]") for i, (v, a) in pairs)


def _convert_scalar(value: Any, annotation: Any, path: str) -> Any:
    """A YAML value as a bool, int, float (finite), str or ``Any``; ``TypeError`` for an
    annotation the schema may not use."""
    if annotation is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{path}: expected true or false, got {shown(value)}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{path}: expected an integer, got {shown(value)}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{path}: expected a number, got {shown(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            number = math.inf
        if not math.isfinite(number):
            raise RecipeError(f"{path}: expected a finite number, got {shown(value)}")
        return number
    if annotation is str:
        if not isinstance(value, str):
            raise RecipeError(f"{path}: expected a string, got {shown(value)}")
        return value
    if annotation is Any:
        return value
    raise TypeError(f"unsupported recipe annotation {_type_name(annotation)} at {path}")


def _allowed(cls: type) -> str:
    return ", ".join(f.name for f in dataclasses.fields(cls))


def _key(key: Any) -> str:
    """A mapping key as a part of a key path: the string itself, else its cut ``repr``."""
    return key if isinstance(key, str) and len(key) <= SHOWN_CHARS else shown(key)


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def build(cls: type[T], data: Mapping[str, Any], path: str = "", *, base: T | None = None) -> T:
    """Build the frozen dataclass ``cls`` from a mapping, checking keys, types and ranges.

    Keys that ``data`` leaves out take their values from ``base`` (an instance of ``cls``)
    when given, else the class defaults.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in data.items():
        key_path = f"{path}.{_key(key)}" if path else _key(key)
        if key not in fields:
            where = path or "the top level"
            raise RecipeError(f"unknown key {key_path!r} in {where}; allowed keys: {_allowed(cls)}")
        field = fields[key]
        default = getattr(base, key) if base is not None else _default(field)
        converted = _convert(value, hints[key], key_path, default)
        _check_range(converted, field, key_path)
        values[key] = converted
    try:
        if base is not None:
            instance = dataclasses.replace(base, **values)  # type: ignore[type-var]
        else:
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
        return {
            f.name: to_dict(getattr(config, f.name))
            for f in dataclasses.fields(config)
            if not (f.metadata.get("omit_default") and getattr(config, f.name) == f.default)
        }
    if isinstance(config, (tuple, list)):
        return [to_dict(v) for v in config]
    if isinstance(config, Mapping):
        return {str(k): to_dict(v) for k, v in config.items()}
    return config


def recipe_hash(config: Any) -> str:
    """sha256 of the resolved recipe's canonical JSON: two recipes with the same hash agree."""
    text = json.dumps(to_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
