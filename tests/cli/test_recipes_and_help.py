"""``flowsynth recipes`` lists and shows built-in recipes; every dataset command's ``--help``
has a description, an example and its defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flowsynth.cli.main import main
from flowsynth.recipe.fields import recipe_hash
from flowsynth.recipe.load import builtin_recipes, from_mapping, load_recipe


def test_recipes_lists_every_builtin_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = {line.split()[0] for line in lines if line.strip()}
    assert {"default", "ablation/boxes", "elastic/unet"} <= names
    assert len(names) == len(builtin_recipes())
    boxes = next(line for line in lines if line.startswith("ablation/boxes "))
    assert "boxes, translation only" in boxes


def test_recipes_show_prints_the_resolved_recipe_as_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sets = ["--set", "size=[32,48]", "--set", "objects.count=[2,3]"]
    assert main(["recipes", "show", "ablation/boxes", *sets]) == 0
    text = capsys.readouterr().out
    shown = yaml.safe_load(text)
    expected = load_recipe("ablation/boxes", ["size=[32,48]", "objects.count=[2,3]"])
    assert shown["size"] == [32, 48] and shown["objects"]["count"] == [2, 3]
    assert recipe_hash(from_mapping(shown)) == recipe_hash(expected)
    path = tmp_path / "boxes.yaml"  # the output is a recipe file that loads to the same recipe
    path.write_text(text)
    assert recipe_hash(load_recipe(path)) == recipe_hash(expected)


def test_recipes_show_of_an_unknown_name_lists_the_builtins(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["recipes", "show", "nope"]) == 2
    assert "ablation/boxes" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["generate", "deform", "verify", "preview", "recipes"])
def test_help_has_a_description_an_example_and_defaults(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    usage, _, rest = text.partition("\n\n")
    assert rest.split("\n")[0].strip() and not rest.startswith("positional")  # a description
    assert f"examples:\n  flowsynth {command}" in text
    if command in ("generate", "deform", "preview"):
        assert "(default: 0)" in text  # --seed


def test_evaluate_help_names_every_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "chairs" in text and "flyingchairs2" in text and "sintel-clean" in text
