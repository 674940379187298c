"""Every ```python block of README.md runs: with small sizes where the test says so, and the
blocks marked ``# needs $FLOWSYNTH_DATA_ROOT`` only when it is set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NEEDS_DATA = "# needs $FLOWSYNTH_DATA_ROOT"
#: Text of a block -> its small form in this test; each must be found in some block.
SMALL = {
    "length=20_000": "length=4",
    "crop=(320, 448)": "crop=(64, 96)",
    'load_recipe("ablation/deformations")': (
        'load_recipe("ablation/deformations", ["size=[72,96]"])'
    ),
    "batch_size=8, num_workers=2": "batch_size=2, num_workers=0",
    "range(10)": "range(1)",
}


def _blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text[: m.start()].count("\n") + 1, m.group(1))
        for m in re.finditer(r"```python\n(.*?)```", text, re.S)
    ]


def test_the_small_forms_still_match_the_readme() -> None:
    code = "\n".join(block for _, block in _blocks())
    assert [old for old in SMALL if old not in code] == []


@pytest.mark.parametrize(
    ("line", "code"), _blocks(), ids=lambda v: str(v) if isinstance(v, int) else ""
)
def test_a_readme_python_block_runs(
    line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if NEEDS_DATA in code and not os.environ.get("FLOWSYNTH_DATA_ROOT"):
        pytest.skip("needs $FLOWSYNTH_DATA_ROOT (the real datasets)")
    if "flowsynth.data" in code:
        pytest.importorskip("torch")
    for old, new in SMALL.items():
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "readme"})  # noqa: S102
