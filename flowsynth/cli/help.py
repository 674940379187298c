"""The help formatter every ``flowsynth`` command shares: the description and example as
written, and each option's default."""

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
