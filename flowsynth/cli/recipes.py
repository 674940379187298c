"""``flowsynth recipes``: list the built-in recipes, or show one fully resolved as YAML."""

from __future__ import annotations

import argparse
import sys

from flowsynth.cli.help import add_overrides, command_help
from flowsynth.recipe.fields import recipe_hash, to_dict
from flowsynth.recipe.load import BUILTIN_RECIPES, builtin_recipes, load_raw, load_recipe


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``recipes`` command (and its ``show`` action) to ``commands``."""
    parser = commands.add_parser(
        "recipes",
        help="list the built-in recipes, or show one resolved ('recipes show NAME')",
        **command_help(  # type: ignore[arg-type]
            "List the built-in recipes with their descriptions; with 'show NAME', print the\n"
            "recipe fully resolved (its base: chain merged, --set applied, every default\n"
            "filled in) as YAML: a file 'flowsynth generate' accepts as it is.",
            "flowsynth recipes",
            "flowsynth recipes show ablation/boxes --set size=[96,128] > boxes.yaml",
        ),
    )
    parser.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    parser.add_argument("name", nargs="?", default=None, help="recipe name or file (for show)")
    add_overrides(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """List the built-ins, or print one resolved recipe."""
    if args.action == "list":
        if args.name is not None or args.overrides:
            raise ValueError("use 'flowsynth recipes show NAME [--set KEY=VALUE ...]'")
        return _list()
    if args.name is None:
        raise ValueError("say which recipe: 'flowsynth recipes show NAME'")
    return _show(args.name, args.overrides)


def _list() -> int:
    rows = []
    for path in builtin_recipes():
        name = str(path.relative_to(BUILTIN_RECIPES).with_suffix(""))
        description = load_raw(path).get("description") or ""
        rows.append((name, str(description)))
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}".rstrip())
    print("\nshow one resolved: flowsynth recipes show NAME [--set KEY=VALUE ...]", file=sys.stderr)
    return 0


def _show(name: str, overrides: list[str]) -> int:
    import yaml

    recipe = load_recipe(name, overrides)
    print(f"# {name}{''.join(f' --set {o}' for o in overrides)}: recipe {recipe_hash(recipe)[:12]}")
    # No sort_keys: the order of a recipe's weight tables changes what is drawn.
    print(yaml.safe_dump(to_dict(recipe), sort_keys=False, default_flow_style=None), end="")
    return 0
