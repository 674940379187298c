"""Stereo pairs on disk: exact names, values that read back (PFM disparity exactly), verify and
repair, workers. (FlyingThings3D's tree, shards and Dask: test_stereo_layouts.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.dataset.write import generate_dataset
from flowsynth.io import read_image, read_pfm, read_png
from flowsynth.io.layout import METADATA_NAME, STEREO_FILES, file_name
from flowsynth.io.manifest import MANIFEST_DIR
from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.stereo import render_stereo_sample
from tests.dataset.helpers import digests

SETS = ["--set", "scale=0.25"]
RECIPE = "stereo/default"
SUFFIXES = [
    "left.png",
    "right.png",
    "disp_left.pfm",
    "disp_right.pfm",
    "occ_left.png",
    "occ_right.png",
    "seg_left.png",
    "seg_right.png",
]


def stereo_recipe(name: str = RECIPE) -> FlowRecipe:
    recipe = load_recipe(name, ["scale=0.25"])
    assert isinstance(recipe, FlowRecipe)
    return recipe


def generate(out: Path, *extra: str, count: int = 2, recipe: str = RECIPE) -> int:
    args = ["generate", recipe, "--out", str(out), "--count", str(count), "--preview", "0"]
    return main([*args, "--no-progress", *SETS, *extra])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two stereo pairs, one chunk each, written in this process."""
    out = tmp_path_factory.mktemp("stereo") / "data"
    assert generate(out, "--workers", "1", "--executor", "serial", "--chunk-size", "1") == 0
    return out


def test_two_stereo_pairs_have_exactly_their_names(dataset: Path) -> None:
    assert list(STEREO_FILES) == SUFFIXES
    expected = {f"{i:07d}-{s}" for i in (0, 1) for s in SUFFIXES}
    expected |= {METADATA_NAME, "README.md"}
    expected |= {f"{MANIFEST_DIR}/chunk-000000{i}-1.json" for i in (0, 1)}
    assert set(digests(dataset)) == expected
    assert {file_name(1, s) for s in STEREO_FILES} == {n for n in expected if n[:7] == "0000001"}
    card = (dataset / "README.md").read_text()
    assert "rectified stereo pairs" in card and "disp_left.pfm" in card
    assert verify_dataset(dataset).ok


@pytest.mark.parametrize("name", [RECIPE, "stereo/slanted"])
def test_the_files_hold_the_rendered_pair(name: str, dataset: Path, tmp_path: Path) -> None:
    out = dataset
    if name != RECIPE:
        out = tmp_path / "slanted"
        assert generate(out, "--workers", "1", "--executor", "serial", recipe=name) == 0
    recipe = stereo_recipe(name)
    for index in (0, 1):
        stereo = render_stereo_sample(recipe, 0, index)

        def path(suffix: str, index: int = index) -> Path:
            return out / f"{index:07d}-{suffix}"

        assert np.array_equal(read_image(path("left.png")), stereo.left)
        assert np.array_equal(read_image(path("right.png")), stereo.right)
        for side in ("left", "right"):
            disparity = read_pfm(path(f"disp_{side}.pfm"))
            expected = getattr(stereo, f"disp_{side}")
            assert disparity.dtype == np.float32 and disparity.shape == expected.shape
            assert disparity.tobytes() == expected.astype(np.float32).tobytes()  # exactly
            occ = read_png(path(f"occ_{side}.png"))
            assert set(np.unique(occ)) <= {0, 255}
            assert np.array_equal(occ == 255, getattr(stereo, f"occ_{side}"))
            seg = read_png(path(f"seg_{side}.png"))
            assert seg.dtype == np.uint16
            assert np.array_equal(seg, getattr(stereo, f"seg_{side}"))
        head = path("disp_left.pfm").read_bytes()[:32]  # FlyingThings3D's header
        height, width = stereo.disp_left.shape
        assert head.startswith(f"Pf\n{width} {height}\n-1.0\n".encode())


def test_verify_names_a_damaged_file_and_repair_restores_its_bytes(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(shutil.copytree(dataset, tmp_path / "data"))
    assert main(["verify", str(out)]) == 0
    before = digests(out)
    deleted = out / "0000001-disp_right.pfm"
    cut = out / "0000000-disp_left.pfm"
    flipped = out / "0000000-occ_right.png"
    deleted.unlink()
    cut.write_bytes(cut.read_bytes()[:40])
    data = bytearray(flipped.read_bytes())
    data[-20] ^= 0xFF
    flipped.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    report = capsys.readouterr()
    text = report.out + report.err
    assert f"{deleted}: missing" in text and f"{cut}: " in text and f"{flipped}: " in text
    assert main(["verify", str(out), "--repair", "--workers", "1"]) == 0
    assert digests(out) == before
    assert verify_dataset(out).ok


def test_two_workers_write_the_same_bytes_as_one(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    assert generate(out, "--workers", "2", "--chunk-size", "1") == 0
    assert digests(out) == digests(dataset)


def test_a_resumed_run_writes_the_same_bytes(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    assert (
        generate(out, "--workers", "1", "--executor", "serial", "--chunk-size", "1", count=1) == 0
    )
    assert generate(out, "--workers", "1", "--executor", "serial") == 0
    assert digests(out) == digests(dataset)


def test_sequences_in_shards_or_flyingthings3d_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    sequence = load_recipe("sequences/default", ["scale=0.25"])
    with pytest.raises(RecipeError, match="frames"):
        generate_dataset(sequence, 0, tmp_path / "shards", count=1, layout="shards")
    with pytest.raises(ValueError, match="--format flyingthings3d"):
        generate_dataset(sequence, 0, tmp_path / "ft3d", count=1, layout="flyingthings3d")
    assert not (tmp_path / "shards").exists() and not (tmp_path / "ft3d").exists()
