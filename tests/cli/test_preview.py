"""``flowsynth preview`` of an elastic recipe: a sheet from ``--images/--labels``, or a clear
error saying what to pass; of a sequence recipe, a sheet per sequence; of a stereo recipe, the
stereo sheet."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from flowsynth.cli.main import main


def _examples(tmp_path: Path) -> tuple[Path, Path]:
    images, labels = tmp_path / "image", tmp_path / "label"
    images.mkdir()
    labels.mkdir()
    rng = np.random.default_rng(0)
    for stem in ("0", "1"):
        iio.imwrite(images / f"{stem}.png", rng.integers(0, 256, (24, 32), dtype=np.uint8))
        label = np.zeros((24, 32), np.uint8)
        label[6:18, 8:20] = 255
        iio.imwrite(labels / f"{stem}.png", label)
    return images, labels


def test_preview_of_an_elastic_recipe_writes_a_sheet(tmp_path: Path) -> None:
    images, labels = _examples(tmp_path)
    out = tmp_path / "p.png"
    args = ["preview", "elastic/unet", "--out", str(out), "--count", "2"]
    assert main([*args, "--images", str(images), "--labels", str(labels)]) == 0
    sheet = iio.imread(out)
    assert sheet.ndim == 3 and sheet.shape[2] == 3 and sheet.shape[0] > 24


def test_preview_of_an_elastic_recipe_without_examples_says_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.png"
    assert main(["preview", "elastic/unet", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "elastic recipe" in error and "--images" in error and "--labels" in error
    assert not out.exists()


def test_examples_are_refused_for_a_flow_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images, labels = _examples(tmp_path)
    args = ["preview", "default", "--out", str(tmp_path / "p.png")]
    assert main([*args, "--images", str(images), "--labels", str(labels)]) == 2
    assert "--images and --labels are for elastic recipes" in capsys.readouterr().err


def test_preview_of_a_sequence_recipe_writes_a_sheet_per_sequence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "seq.png"
    args = ["preview", "sequences/default", "--set", "scale=0.125", "--out", str(out)]
    assert main([*args, "--count", "2", "--start", "3", "--scale", "1"]) == 0
    written = [tmp_path / "seq-3.png", tmp_path / "seq-4.png"]
    assert sorted(tmp_path.iterdir()) == written
    sheets = [iio.imread(path) for path in written]
    assert sheets[0].shape[1] > 5 * 64 and sheets[0].shape[0] > 4 * 48  # 5 frames, 4 rows
    assert not np.array_equal(sheets[0], sheets[1])
    assert capsys.readouterr().out.split() == ["wrote", str(written[0]), "wrote", str(written[1])]
    assert main([*args, "--count", "1"]) == 0  # one sequence: exactly --out
    assert out.exists()


def test_preview_of_a_stereo_recipe_shows_disparity_not_flow(tmp_path: Path) -> None:
    """``flowsynth preview`` and ``generate``'s preview.png of a stereo recipe: the stereo
    sheet (views, colour-mapped disparity, occlusion), not a flow sheet."""
    from flowsynth.recipe.load import load_recipe
    from flowsynth.render.stereo import render_stereo_sample
    from flowsynth.viz.sheets import stereo_preview_sheet

    out = tmp_path / "stereo.png"
    sets = ["--set", "scale=0.125"]
    assert main(["preview", "stereo/default", *sets, "--out", str(out), "--count", "2"]) == 0
    recipe = load_recipe("stereo/default", ["scale=0.125"])
    pairs = [render_stereo_sample(recipe, 0, index) for index in (0, 1)]
    assert np.array_equal(iio.imread(out), stereo_preview_sheet(pairs, indices=[0, 1]))
    data = tmp_path / "data"
    args = ["generate", "stereo/default", *sets, "--out", str(data), "--count", "2"]
    assert main([*args, "--preview", "2", "--workers", "1", "--no-progress"]) == 0
    assert np.array_equal(iio.imread(data / "preview.png"), iio.imread(out))
