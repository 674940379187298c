"""Shared fixtures: the real-data root, from ``$FLOWSYNTH_DATA_ROOT``, or a clear skip."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real-data root (one subfolder per dataset); skips the test when it is absent."""
    value = os.environ.get("FLOWSYNTH_DATA_ROOT")
    if not value:
        pytest.skip("FLOWSYNTH_DATA_ROOT is not set; point it at the real-data root to run this")
    root = Path(value)
    if not root.is_dir():
        pytest.skip(f"FLOWSYNTH_DATA_ROOT={value} is not a directory")
    return root


@pytest.fixture(scope="session")
def data_subdir(data_root: Path) -> Callable[..., Path]:
    """A function ``(*parts) -> Path`` giving a folder under the data root, or skipping."""

    def require(*parts: str) -> Path:
        folder = data_root.joinpath(*parts)
        if not folder.is_dir():
            pytest.skip(f"{folder} is missing from the data root (FLOWSYNTH_DATA_ROOT)")
        return folder

    return require
