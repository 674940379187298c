"""Generation: determinism of sample i, the written layout, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.write import generate_dataset
from flowsynth.io import read_flo, read_image, read_png
from flowsynth.io.layout import FLOW_FILES, METADATA_NAME, file_name
from flowsynth.io.lock import LOCK_NAME
from flowsynth.io.manifest import MANIFEST_DIR
from flowsynth.recipe.load import load_recipe
from flowsynth.render.layers import render_sample
from tests.render.helpers import SMALL


def _bytes(sample) -> dict[str, bytes]:
    return {name: array.tobytes() for name, array in sample.as_dict().items()}


@pytest.mark.parametrize("name", ["ablation/boxes", "ablation/deformations"])
def test_sample_is_a_pure_function_of_recipe_seed_index(name: str) -> None:
    recipe = load_recipe(name, SMALL)
    alone = _bytes(render_sample(recipe, 7, 3))
    for index in range(3):
        render_sample(recipe, 7, index)
    assert _bytes(render_sample(recipe, 7, 3)) == alone
    assert _bytes(render_sample(load_recipe(name, SMALL), 7, 3)) == alone
    assert _bytes(render_sample(recipe, 8, 3))["image1"] != alone["image1"]
    assert _bytes(render_sample(recipe, 7, 4))["image1"] != alone["image1"]


def test_switching_off_rotation_keeps_the_layout() -> None:
    recipe = load_recipe("ablation/rotations", SMALL)
    still = load_recipe("ablation/rotations", [*SMALL, "motion.objects.rotation.probability=0.0"])
    a, b = render_sample(recipe, 0, 5), render_sample(still, 0, 5)
    assert np.array_equal(a.segmentation1, b.segmentation1)
    assert np.array_equal(a.image1, b.image1)


def test_sample_fields_have_the_documented_types() -> None:
    sample = render_sample(load_recipe("default", SMALL), 0, 0)
    h, w = 72, 96
    expected = {
        "image1": (np.uint8, (h, w, 3)),
        "image2": (np.uint8, (h, w, 3)),
        "flow": (np.float32, (h, w, 2)),
        "flow_backward": (np.float32, (h, w, 2)),
        "occlusion": (np.bool_, (h, w)),
        "occlusion_backward": (np.bool_, (h, w)),
        "valid": (np.bool_, (h, w)),
        "valid_backward": (np.bool_, (h, w)),
        "segmentation1": (np.uint16, (h, w)),
        "segmentation2": (np.uint16, (h, w)),
        "motion_boundary": (np.bool_, (h, w)),
        "motion_boundary_backward": (np.bool_, (h, w)),
    }
    for name, array in sample.as_dict().items():
        assert (array.dtype, array.shape) == expected[name], name


def _generate(out: Path, *extra: str) -> int:
    sets = [arg for s in SMALL for arg in ("--set", s)]
    return main(["generate", "default", "--out", str(out), "--count", "2", *sets, *extra])


def test_generate_writes_flyingchairs2_files_that_read_back(tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert _generate(out, "--seed", "3", "--preview", "1") == 0
    meta = json.loads((out / METADATA_NAME).read_text())
    assert meta["seed"] == 3 and len(meta["recipe_hash"]) == 64
    assert meta["recipe"]["size"] == [72, 96] and "numpy" in meta["versions"]
    names = sorted(p.name for p in out.iterdir())
    expected = sorted(file_name(i, s) for i in range(2) for s in FLOW_FILES)
    assert names == sorted([*expected, METADATA_NAME, MANIFEST_DIR, "preview.png", "README.md"])
    sample = render_sample(load_recipe("default", SMALL), 3, 1)
    assert np.array_equal(read_image(out / "0000001-img_0.png"), sample.image1)
    assert np.array_equal(read_flo(out / "0000001-flow_01.flo"), sample.flow)
    assert np.array_equal(
        cv2.readOpticalFlow(str(out / "0000001-flow_10.flo")), sample.flow_backward
    )
    assert np.array_equal(read_png(out / "0000001-occ_01.png") > 0, sample.occlusion)
    assert np.array_equal(read_png(out / "0000001-seg_1.png"), sample.segmentation2)
    assert read_png(out / "0000001-seg_1.png").dtype == np.uint16


def test_generate_refuses_to_mix_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert _generate(out, "--preview", "0") == 0
    assert _generate(out, "--preview", "0", "--start", "2") == 0  # same recipe and seed: fine
    assert _generate(out, "--preview", "0", "--seed", "1") == 2
    assert "not" in capsys.readouterr().err
    assert _generate(out, "--preview", "0", "--set", "objects.count=[1,1]") == 2
    # A folder started by another flowsynth release is not continued: its bytes could differ.
    meta = json.loads((out / METADATA_NAME).read_text())
    (out / METADATA_NAME).write_text(json.dumps({**meta, "flowsynth": "0.0.1"}))
    assert _generate(out, "--preview", "0", "--start", "4") == 2
    assert "0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--seed", "--start", "--count"])
def test_negative_numbers_are_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    out = tmp_path / "data"
    assert _generate(out, flag, "-1") == 2
    assert ("must be >= 1" if flag == "--count" else "must be >= 0") in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ValueError, match="seed must be >= 0"):
        generate_dataset(load_recipe("default", SMALL), -1, out, count=1, progress=False)
    assert not out.exists()


def test_a_folder_being_written_is_refused_until_its_writer_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process holding the folder's lock (here: a sleeping child) makes generate fail
    at once, naming the holder and writing nothing; killed with -9, the child leaves no lock."""
    out = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert _generate(out, "--preview", "0") == 2
        error = capsys.readouterr().err
        assert f"is being written by flowsynth pid {holder.pid}" in error
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    finally:
        holder.kill()
        holder.wait()
    assert _generate(out, "--preview", "0") == 0
    assert main(["verify", str(out)]) == 0  # the lock file is no stray file


_HOLD_LOCK = """
import sys, time
from pathlib import Path
from flowsynth.io.lock import folder_lock
with folder_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_cli_reports_bad_recipes_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["preview", "default", "--out", str(tmp_path / "x.png"), "--set", "objects.colour=1"]
    )
    assert code == 2
    assert "objects.colour" in capsys.readouterr().err


def test_preview_writes_a_contact_sheet(tmp_path: Path) -> None:
    sets = [arg for s in SMALL for arg in ("--set", s)]
    assert (
        main(["preview", "ablation/thin", "--out", str(tmp_path / "s.png"), "--count", "2", *sets])
        == 0
    )
    sheet = read_image(tmp_path / "s.png")
    assert sheet.shape[0] > 2 * 72 * 0.5 and sheet.shape[1] > 6 * 96 * 0.5


@pytest.mark.parametrize(("flag", "value"), [("--count", "0"), ("--seed", "-2")])
def test_preview_refuses_an_empty_sheet_and_a_negative_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    out = tmp_path / "s.png"
    assert main(["preview", "default", "--out", str(out), flag, value]) == 2
    assert flag in capsys.readouterr().err and not out.exists()
