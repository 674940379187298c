"""YAML text -> plain Python data, within bounds: the only place recipes are parsed.

``yaml.safe_load`` alone accepts inputs that cost far more than their size: nine anchors that
each alias the previous one nine times (a "billion laughs") expand to 9**9 items as soon as
anything walks the value (an error message that prints it, a type check), an alias inside the
node it names makes a cyclic value, and a bracket nested thousands deep overflows the stack.
:func:`load_yaml` refuses all of these while the text is composed, before anything expands:
it counts nesting depth, aliases and the size of the value *as expanded*, and it refuses
integers too long for Python to convert. Every failure is a :class:`RecipeError` naming the
file or override.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from flowsynth.recipe.fields import RecipeError

#: Largest recipe file or override value, in bytes.
MAX_BYTES = 1 << 20
#: Deepest nesting of lists and mappings, aliases expanded.
MAX_DEPTH = 32
#: Most nodes (scalars, lists, mappings) of one document, aliases expanded.
MAX_NODES = 100_000
#: Most aliases (``*name``) in one document.
MAX_ALIASES = 1_000
#: Longest integer literal, in characters (Python refuses to convert more than 4,300 digits).
MAX_INT_CHARS = 100


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that measures every node as it is composed (see the module)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        #: id(node) -> (nodes, depth) of the node with its aliases expanded.
        self._measures: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                problem = f"more than {MAX_ALIASES} aliases"
                raise ComposerError(None, None, problem, event.start_mark)
            node = self.anchors.get(event.anchor)
            if node is not None and id(node) not in self._measures:
                problem = f"alias *{event.anchor} is inside the node it names (a cycle)"
                raise ComposerError(None, None, problem, event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._measure(node)
        return node

    def _measure(self, node: yaml.Node) -> None:
        if id(node) in self._measures:  # an alias: measured where its anchor was
            return
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        measures = [self._measures[id(child)] for child in children]
        nodes = 1 + sum(m[0] for m in measures)
        depth = 1 + max((m[1] for m in measures), default=0)
        if nodes > MAX_NODES:
            problem = f"more than {MAX_NODES} values once aliases are expanded"
            raise ComposerError(None, None, problem, node.start_mark)
        if depth > MAX_DEPTH:
            problem = f"nested deeper than {MAX_DEPTH} levels once aliases are expanded"
            raise ComposerError(None, None, problem, node.start_mark)
        self._measures[id(node)] = (nodes, depth)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
        if len(str(node.value)) > MAX_INT_CHARS:
            problem = f"integer longer than {MAX_INT_CHARS} characters"
            raise ConstructorError(None, None, problem, node.start_mark)
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def load_yaml(text: str, where: str) -> Any:
    """The value of the YAML document ``text``; ``where`` names it in errors (a file, an
    override). Raises ``RecipeError`` for invalid YAML and for input past the bounds above."""
    if len(text) > MAX_BYTES:
        raise RecipeError(f"{where} is longer than {MAX_BYTES} characters")
    loader = None
    try:
        loader = _BoundedLoader(text)  # (refuses control characters already)
        loader.name = where  # what the marks of YAML errors name
        return loader.get_single_data()
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as error:
        # ValueError and OverflowError: values PyYAML converts unchecked (a timestamp such as
        # 2024-13-45); RecursionError: a guard, the depth bound should keep it from happening.
        raise RecipeError(f"{where} is not valid YAML: {error}") from error
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path) -> Any:
    """The value of the YAML file ``path`` (UTF-8, at most :data:`MAX_BYTES` bytes)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RecipeError(f"recipe {path} is {size} bytes; a recipe may have {MAX_BYTES}")
        data = path.read_bytes()[: MAX_BYTES + 1]
    except OSError as error:
        raise RecipeError(f"cannot read recipe {path}: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecipeError(
            f"recipe {path} is not UTF-8 text: byte {error.start} is {data[error.start]:#04x}"
        ) from error
    return load_yaml(text, f"recipe {path}")
