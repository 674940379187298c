"""Where the compiled kernels are cached, and whether they still need compiling
(``flowsynth.base.compiled``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import flowsynth
from flowsynth.base import compiled

PACKAGE = Path(flowsynth.__file__).parent


def test_the_kernel_modules_are_those_with_a_kernels_file() -> None:
    assert {p.parent.name for p in PACKAGE.glob("*/kernels.py")} == set(compiled.KERNEL_MODULES)


def test_without_numba_cache_dir_the_caches_lie_beside_each_kernels_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    folders = compiled.kernel_cache_folders()
    assert [f.parent.name for f in folders] == ["scene", "render", "deform"]
    assert all(f.name == "__pycache__" and (f.parent / "kernels.py").is_file() for f in folders)


def test_numba_cache_dir_is_one_tree_searched_for_kernel_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert compiled.kernel_cache_folders() == [tmp_path]
    assert compiled.kernel_cache_is_cold()
    (tmp_path / "flowsynth" / "render").mkdir(parents=True)
    (tmp_path / "flowsynth" / "render" / "other.f-1.py311.nbi").write_bytes(b"")
    assert compiled.kernel_cache_is_cold()  # not a kernels module's index
    (tmp_path / "flowsynth" / "render" / "kernels.blend-1.py311.nbi").write_bytes(b"")
    assert not compiled.kernel_cache_is_cold()


def test_the_cache_is_cold_while_any_kernels_module_has_no_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = [tmp_path / name / "__pycache__" for name in compiled.KERNEL_MODULES]
    monkeypatch.setattr(compiled, "kernel_cache_folders", lambda: folders)
    assert compiled.kernel_cache_is_cold()  # no folder yet
    for folder in folders[:-1]:
        folder.mkdir(parents=True)
        (folder / "kernels.f-1.py311.nbi").write_bytes(b"")
    assert compiled.kernel_cache_is_cold()
    folders[-1].mkdir(parents=True)
    (folders[-1] / "kernels.g-2.py311.nbi").write_bytes(b"")
    assert not compiled.kernel_cache_is_cold()


def test_checking_the_cache_imports_no_kernels_module() -> None:
    """Importing a kernels module would compile it: the check only looks at folders."""
    code = (
        "import sys; from flowsynth.base import compiled; compiled.kernel_cache_is_cold(); "
        "print(sorted(m for m in sys.modules if m.endswith('.kernels')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
