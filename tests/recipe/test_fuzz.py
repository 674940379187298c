"""Fuzzing the recipe loader: mutated built-in recipes and ``--set`` overrides either load or
raise ``RecipeError``, each within a time limit: never another exception, never a hang."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.recipe.fields import RecipeError, pixel_fields, recipe_hash
from flowsynth.recipe.load import BUILTIN_RECIPES, builtin_recipes, load_recipe
from flowsynth.recipe.schema import ElasticRecipe, FlowRecipe
from tests.limits import deadline

#: Seconds one case may take.
TIME_LIMIT = 5.0


def _with_builtin_bases(path: Path) -> bytes:
    """The recipe's text with each relative ``base:`` made a built-in name, so that a mutated
    copy written elsewhere still finds its base."""
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("base:"):
            base = (path.parent / line.split(":", 1)[1].strip()).resolve()
            line = f"base: {base.relative_to(BUILTIN_RECIPES).with_suffix('')}"
        lines.append(line)
    return ("\n".join(lines) + "\n").encode()


RECIPES = [_with_builtin_bases(p) for p in builtin_recipes()]
KEYS = sorted({*pixel_fields(FlowRecipe), *pixel_fields(ElasticRecipe), "base", "kind", "x.y"})

ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)

#: Text that breaks YAML or the schema in known ways, spliced into recipes and overrides.
SNIPPETS = [
    "&a ",
    "*a",
    "*a0",
    "<<: *a\n",
    "[*a8, *a8]",
    ALIAS_BOMB,
    "[" * 200 + "]" * 200,
    "{a: " * 100 + "1" + "}" * 100,
    "9" * 5000,
    "9" * 400 + ".5",
    "-1.0e+400",
    "1.0e+12",
    ".nan",
    ".inf",
    "0",
    "-1",
    "''",
    "base: ''\n",
    "base: default\n",
    "base: [default]\n",
    "kind: elastic\n",
    "!!binary AAAA",
    "!!python/object:os.system",
    "!!set {a, b}",
    "2024-13-45",
    "? [a, b]\n: 1\n",
    "\t",
    "\x00",
    "\ufeff",
    ": :",
    "- - -",
    "null",
    "~",
    "yes",
]

NUMBER = re.compile(rb"-?[0-9][0-9.e+]*")

values = st.one_of(
    st.sampled_from(SNIPPETS),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),  # bytes: "flip"
)


@st.composite
def mutated_recipe(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(RECIPES)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["flip", "truncate", "insert", "line", "number", "append"]))
        numbers = list(NUMBER.finditer(data))
        if how == "number" and numbers:
            number = draw(st.sampled_from(numbers))
            data[number.start() : number.end()] = draw(values).encode()
        elif how == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif how == "truncate":
            del data[at:]
        elif how == "insert":
            data[at:at] = draw(values).encode()
        elif how == "line":
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            key = lines[index].split(b":", 1)[0] or b"x"
            lines[index] = key + b": " + draw(values).encode()
            data = bytearray(b"\n".join(lines))
        else:
            data += b"\n" + draw(values).encode() + b"\n"
    return bytes(data)


overrides = st.lists(
    st.one_of(
        st.builds(lambda key, value: f"{key}={value}", st.sampled_from(KEYS), values),
        st.text(max_size=20),
    ),
    max_size=3,
)


def _loads_or_raises_recipe_error(folder: Path, text: bytes, sets: list[str]) -> None:
    path = folder / "fuzzed.yaml"
    path.write_bytes(text)
    with deadline(TIME_LIMIT):
        try:
            recipe = load_recipe(path, sets)
        except RecipeError as error:
            assert len(str(error)) < 2000  # values are shown cut short
            return
        recipe_hash(recipe)  # a loaded recipe is plain data again


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    max_examples=300,
    deadline=TIME_LIMIT * 1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(mutated_recipe(), overrides)
def test_mutated_recipes_load_or_raise_recipe_error(
    folder: Path, text: bytes, sets: list[str]
) -> None:
    _loads_or_raises_recipe_error(folder, text, sets)


@pytest.mark.slow
@settings(
    max_examples=5000,
    deadline=TIME_LIMIT * 1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_recipe(), overrides)
def test_mutated_recipes_load_or_raise_recipe_error_long(
    folder: Path, text: bytes, sets: list[str]
) -> None:
    _loads_or_raises_recipe_error(folder, text, sets)
