"""Scene flow on disk: flat files, FlyingThings3D's tree (read by the project's reader and
paired as the flow loaders pair it) and shards, each holding the rendered sample's values."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.data.formats.stereo import list_flyingthings3d_stereo, read_stereo
from flowsynth.dataset.verify import verify_dataset
from flowsynth.io import read_flo, read_image, read_png
from flowsynth.io.layout import SCENE_FLOW_FILES, file_name, flyingthings3d_files
from flowsynth.io.pfm import read_pfm
from flowsynth.recipe.load import load_flow_recipe
from flowsynth.render.stereo import SceneFlowSample, render_scene_flow_sample
from tests.dataset.helpers import digests

SETS = ["--set", "scale=0.25"]
RECIPE = "stereo/sceneflow"


def generate(out: Path, *extra: str, count: int = 2) -> int:
    args = ["generate", RECIPE, "--out", str(out), "--count", str(count), "--preview", "0"]
    return main([*args, "--no-progress", *SETS, *extra])


def rendered(index: int) -> SceneFlowSample:
    return render_scene_flow_sample(load_flow_recipe(RECIPE, ["scale=0.25"]), 0, index)


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flat") / "data"
    assert generate(out, "--workers", "1", "--executor", "serial") == 0
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tree") / "data"
    assert (
        generate(out, "--format", "flyingthings3d", "--workers", "1", "--executor", "serial") == 0
    )
    return out


def _equal(got: np.ndarray, field: str, sample: SceneFlowSample) -> bool:
    want = getattr(sample, field)
    if want.dtype == bool:
        return np.array_equal(got == 255, want)
    return np.array_equal(got, want)


def test_flat_files_hold_every_field_of_the_rendered_sample(flat: Path) -> None:
    for index in range(2):
        sample = rendered(index)
        for suffix, (field, kind) in SCENE_FLOW_FILES.items():
            path = flat / file_name(index, suffix)
            value = read_image(path) if field.startswith(("left", "right")) else None
            if value is None:
                value = read_flo(path) if kind == "flo" else None
            if value is None:
                value = read_pfm(path) if kind == "pfm" else read_png(path)
            assert _equal(value, field, sample), suffix
    assert verify_dataset(flat).ok


def test_the_tree_holds_every_field_and_nan_where_there_is_no_value(tree: Path) -> None:
    for index in range(2):
        sample = rendered(index)
        for entry, (field, kind) in flyingthings3d_files(scene_flow=True).items():
            path = tree / file_name(index, entry)
            if kind == "png" and "frames_cleanpass" in entry:
                value = read_image(path)
            elif kind == "png":
                value = read_png(path)
            else:
                value = read_pfm(path)
            if kind == "pfm_flow":  # three channels, the third zero
                assert value.shape[-1] == 3 and not value[..., 2].any()
                value = value[..., :2]
            if field.startswith("unknown"):
                assert np.isnan(value).all(), entry
            else:
                assert _equal(value, field, sample), entry
    assert verify_dataset(tree).ok


def test_the_projects_reader_reads_both_times_stereo_pairs_from_the_tree(tree: Path) -> None:
    pairs = list_flyingthings3d_stereo(tree)
    assert len(pairs) == 4  # two samples, each at t and t + 1
    for number, files in enumerate(pairs):
        index, later = divmod(number, 2)
        stereo = rendered(index).stereo(later=later)
        pair = read_stereo(files)
        assert np.array_equal(pair.left, stereo.left)
        assert np.array_equal(pair.right, stereo.right)
        assert np.array_equal(pair.disparity, stereo.disp_left)
        assert pair.occlusion is not None and np.array_equal(pair.occlusion, stereo.occ_left)


def test_flow_loaders_pairing_finds_each_views_flows(tree: Path) -> None:
    """The FlyingThings3D flow loaders' pairing (RAFT's ``FlyingThings3D``, torchvision's with
    ``camera="both"``): ``into_future`` file ``i`` with frames ``(i, i + 1)``, ``into_past``
    file ``i + 1`` with frames ``(i + 1, i)``, for every ``i`` but the last."""
    root = str(tree / "FlyingThings3D")
    found = []
    for view in ("left", "right"):
        for direction in ("into_future", "into_past"):
            image_dirs = sorted(glob.glob(os.path.join(root, "frames_cleanpass", "TRAIN/*/*")))
            flow_dirs = sorted(glob.glob(os.path.join(root, "optical_flow", "TRAIN/*/*")))
            for idir, fdir in zip(image_dirs, flow_dirs, strict=True):
                images = sorted(glob.glob(os.path.join(idir, view, "*.png")))
                flows = sorted(glob.glob(os.path.join(fdir, direction, view, "*.pfm")))
                for i in range(len(flows) - 1):
                    if direction == "into_future":
                        found.append((view, images[i], images[i + 1], flows[i]))
                    else:
                        found.append((view, images[i + 1], images[i], flows[i + 1]))
    assert len(found) == 8
    for view, first, second, flow_path in found:
        index = int(Path(first).parts[-3])
        sample = rendered(index).as_dict()
        now, later = sample[view], sample[f"{view}_next"]
        future = Path(first).stem == "0000"
        assert np.array_equal(read_image(first), now if future else later)
        assert np.array_equal(read_image(second), later if future else now)
        flow = read_pfm(flow_path)[..., :2]
        expected = sample[f"flow_{view}" if future else f"flow_{view}_backward"]
        assert np.array_equal(flow, expected)


def test_two_workers_and_shards_keep_the_bytes_and_verify(
    flat: Path, tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two"
    assert generate(out, "--format", "flyingthings3d", "--workers", "2", "--chunk-size", "1") == 0
    ours = {k: v for k, v in digests(out).items() if k.startswith("FlyingThings3D")}
    assert ours == {k: v for k, v in digests(tree).items() if k.startswith("FlyingThings3D")}
    shards = tmp_path / "shards"
    assert generate(shards, "--format", "shards") == 0
    assert verify_dataset(shards).ok


def test_generate_writes_a_scene_flow_preview(tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert generate(out, "--preview", "1", count=1) == 0
    sheet = read_image(out / "preview.png")
    assert sheet.ndim == 3 and sheet.shape[0] > 2 * 96 // 2  # two rows: t and t + 1
