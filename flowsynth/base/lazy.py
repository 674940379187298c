"""Lazy exports: a package names its public API without importing the modules behind it.

``import flowsynth`` and ``import flowsynth.data`` stay cheap (no torch, no numba compilation)
until a name is used; then its module is imported and the name taken from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose ``modules`` map each public name to
    the submodule (relative to ``package``) that defines it."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{modules[name]}"), name)

    def __dir__() -> list[str]:
        return sorted([*vars(importlib.import_module(package)), *modules])

    return __getattr__, __dir__
