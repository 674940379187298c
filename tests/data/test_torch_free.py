"""torch loads only where it is used: never at ``import flowsynth`` or in the numpy layers."""

from __future__ import annotations

import subprocess
import sys

import pytest

TORCH_FREE = [
    "flowsynth, flowsynth.dataset.write, flowsynth.io",
    "flowsynth.data, flowsynth.cli.stream_bench",
    "flowsynth.data.flowpair, flowsynth.data.formats, flowsynth.data.augment",
    "flowsynth.data.sequence_augment",
]


@pytest.mark.parametrize("modules", TORCH_FREE)
def test_import_does_not_load_torch(modules: str) -> None:
    code = f"import {modules}; import sys; assert 'torch' not in sys.modules, 'torch loaded'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_lazy_names_resolve() -> None:
    import flowsynth.data as data

    for name in data.__all__:
        assert getattr(data, name) is not None
    with pytest.raises(AttributeError, match="no attribute"):
        _ = data.NoSuchThing
