"""What every ``flowsynth`` command shares in its parser: the help formatter (the description
and example as written, and each option's default) and the recipe ``--set`` option."""

from __future__ import annotations

import argparse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the description's and epilog's line breaks; append ``(default: X)`` to options that
    have a meaningful default (not None, False or an empty list) and do not state it already."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        unset = default is None or default is False or (isinstance(default, list) and not default)
        if unset or "%(default)" in text or "default" in text:
            return text
        if default is argparse.SUPPRESS or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def command_help(description: str, *examples: str) -> dict[str, object]:
    """Keyword arguments of ``add_parser`` for a command: its description, an ``examples:``
    epilog and the shared formatter."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    return {"description": description, "epilog": epilog, "formatter_class": HelpFormatter}


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """The repeatable ``--set KEY=VALUE`` recipe override (into ``args.overrides``, a list)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, value in YAML (e.g. objects.count=[8,12]); repeatable",
    )
