"""``generate`` writes a dataset card, ``DIR/README.md``, that ``verify`` accepts and that
changes no sample file."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset

TINY = ["--set", "size=[32,48]", "--set", "objects.count=[2,3]"]
QUIET = ["--workers", "1", "--no-progress", "--preview", "0"]


def _generate(out: Path, *extra: str) -> None:
    args = ["generate", "ablation/boxes", "--out", str(out), "--count", "3", "--chunk-size", "2"]
    assert main([*args, *QUIET, *TINY, *extra]) == 0


def test_the_card_describes_the_data_and_verify_accepts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    _generate(out)
    card = (out / "README.md").read_text()
    assert "boxes, translation only" in card  # the recipe's description
    assert "samples: 3 (indices 0-2)" in card and "32 x 48 pixels" in card
    assert "`{index:07d}-flow_01.flo`" in card and "FlowsynthFiles" in card
    assert "Mayer" in card and "2018" in card and "Texture licences" not in card
    assert "ROOT/train" in card
    report = verify_dataset(out, count=3)
    assert report.ok, report.problems
    assert not list(out.glob(".*.tmp"))


def test_the_card_is_the_same_after_a_resume_and_counts_new_samples(tmp_path: Path) -> None:
    out = tmp_path / "data"
    _generate(out)
    first = (out / "README.md").read_bytes()
    _generate(out)  # nothing to do: the same card
    assert (out / "README.md").read_bytes() == first
    args = ["generate", "ablation/boxes", "--out", str(out), "--count", "5", *QUIET, *TINY]
    assert main(args) == 0
    assert "samples: 5 (indices 0-4)" in (out / "README.md").read_text()


def test_a_texture_folder_adds_a_licence_note(tmp_path: Path) -> None:
    textures = tmp_path / "photos"
    textures.mkdir()
    rng = np.random.default_rng(0)
    iio.imwrite(textures / "a.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    out = tmp_path / "data"
    _generate(out, "--textures", str(textures), "--set", "textures.kinds={folder: 1}")
    card = (out / "README.md").read_text()
    assert "## Texture licences" in card and "`photos`" in card
    assert verify_dataset(out).ok
