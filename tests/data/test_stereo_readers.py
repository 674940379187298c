"""Stereo readers and StereoDataset: Middlebury 2014 on the real data root, a fake KITTI stereo
tree, a fake FlyingThings3D tree, flowsynth's own stereo layouts (flat files, FlyingThings3D's
tree, shards), the disparity sign convention, crops and bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from flowsynth.cli.main import main
from flowsynth.data import StereoDataset, StereoExample, resolve_stereo_dataset
from flowsynth.data.formats import (
    list_flowsynth_stereo,
    list_kitti_stereo,
    list_middlebury_stereo,
    read_stereo,
)
from flowsynth.data.formats.shards import (
    list_flowsynth_stereo_shards,
    read_stereo_shard_sample,
)
from flowsynth.data.formats.stereo import list_flyingthings3d_stereo
from flowsynth.io import FileFormatError, write_pfm, write_png
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.stereo import render_stereo_sample


@pytest.fixture(scope="module")
def middlebury_root(data_subdir: Callable[..., Path]) -> Path:
    return data_subdir("middlebury_stereo")


def test_middlebury_stereo_has_15_scenes_with_finite_disparity(middlebury_root: Path) -> None:
    files = list_middlebury_stereo(middlebury_root)
    assert len(files) == 15
    assert files[0].name == "middlebury_stereo/Adirondack"
    for entry in files:
        pair = read_stereo(entry)
        height, width = pair.disparity.shape
        assert pair.left.shape == pair.right.shape == (height, width, 3)
        assert pair.left.dtype == np.uint8 and pair.disparity.dtype == np.float32
        assert pair.valid.dtype == np.bool_ and pair.valid.mean() > 0.5
        assert pair.occlusion is not None and pair.occlusion.shape == (height, width)
        assert np.isfinite(pair.disparity).all()
        assert (pair.disparity[pair.valid] >= 0).all() and pair.disparity.max() > 10
        assert (pair.disparity[~pair.valid] == 0).all()


def warp_errors(pair_left: np.ndarray, right: np.ndarray, disp: np.ndarray, mask: np.ndarray):
    """Mean |left - right(x - d)| and |left - right(x)| over ``mask`` pixels in bounds."""
    height, width = disp.shape
    xs = np.arange(width, dtype=np.float32)[None, :] - disp
    inside = mask & (xs >= 0) & (xs <= width - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, width - 2)
    t = np.clip(xs - x0, 0, 1)[..., None]
    rows = np.arange(height)[:, None]
    right = right.astype(np.float32)
    warped = (1 - t) * right[rows, x0] + t * right[rows, x0 + 1]
    left = pair_left.astype(np.float32)
    warped_error = np.abs(warped - left)[inside].mean()
    plain_error = np.abs(right - left)[inside].mean()
    return float(warped_error), float(plain_error)


def test_right_sampled_at_x_minus_d_reproduces_left(middlebury_root: Path) -> None:
    """Sign convention: left pixel x is right pixel x - d on valid, non-occluded pixels."""
    ratios = []
    for entry in list_middlebury_stereo(middlebury_root):
        pair = read_stereo(entry)
        assert pair.occlusion is not None
        mask = pair.valid & ~pair.occlusion
        warped, plain = warp_errors(pair.left, pair.right, pair.disparity, mask)
        wrong_sign, _ = warp_errors(pair.left, pair.right, -pair.disparity, mask)
        print(f"{entry.name}: warped {warped:.2f} unwarped {plain:.2f} x+d {wrong_sign:.2f}")
        assert warped < plain and warped < wrong_sign
        ratios.append(warped / plain)
    assert float(np.mean(ratios)) < 0.5


def write_kitti_disparity(path: Path, disparity: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(path, np.round(disparity * 256).astype(np.uint16))


def test_fake_kitti_stereo_reads_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    root = tmp_path / "kitti"
    expected = {}
    for id_ in ("000000", "000001"):
        left = rng.integers(0, 256, (6, 8, 3), np.uint8)
        right = rng.integers(0, 256, (6, 8, 3), np.uint8)
        disparity = (rng.integers(1, 40 * 256, (6, 8)) / 256).astype(np.float32)
        valid = rng.random((6, 8)) < 0.7
        visible = valid & (rng.random((6, 8)) < 0.8)
        for folder, image in (("image_2", left), ("image_3", right)):
            (root / "training" / folder).mkdir(parents=True, exist_ok=True)
            write_png(root / "training" / folder / f"{id_}_10.png", image)
        write_kitti_disparity(root / "training/disp_occ_0" / f"{id_}_10.png", disparity * valid)
        write_kitti_disparity(root / "training/disp_noc_0" / f"{id_}_10.png", disparity * visible)
        expected[id_] = (left, right, disparity, valid, visible)
    files = list_kitti_stereo(root, year=2015)
    assert [f.name for f in files] == [
        "kitti_stereo2015/training/000000",
        "kitti_stereo2015/training/000001",
    ]
    for entry, (left, right, disparity, valid, visible) in zip(
        files, expected.values(), strict=True
    ):
        pair = read_stereo(entry)
        assert np.array_equal(pair.left, left) and np.array_equal(pair.right, right)
        assert np.array_equal(pair.valid, valid)
        assert np.array_equal(pair.disparity, np.where(valid, disparity, 0))
        assert pair.occlusion is not None and np.array_equal(pair.occlusion, valid & ~visible)
    dataset = resolve_stereo_dataset(f"kitti_stereo={root}")
    example = dataset[1]
    assert isinstance(example, StereoExample) and example.name.endswith("000001")
    assert example.left.shape == (3, 6, 8) and example.left.dtype == torch.float32
    assert torch.equal(example.valid, torch.from_numpy(expected["000001"][3]))
    # KITTI 2012: disp_occ/ and no non-occluded folder: occlusion unknown.
    root12 = tmp_path / "kitti2012"
    for folder in ("colored_0", "colored_1"):
        (root12 / "training" / folder).mkdir(parents=True)
        write_png(root12 / "training" / folder / "000000_10.png", left)
    write_kitti_disparity(root12 / "training/disp_occ/000000_10.png", disparity)
    (pair12,) = [read_stereo(f) for f in list_kitti_stereo(root12, year=2012)]
    assert pair12.occlusion is None and pair12.valid.all()
    assert np.array_equal(pair12.disparity, disparity)


@pytest.fixture(scope="module")
def flowsynth_stereo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stereo") / "data"
    args = ["generate", "stereo/default", "--out", str(out), "--count", "2"]
    args += ["--set", "scale=0.25", "--preview", "0", "--workers", "1", "--no-progress"]
    assert main(args) == 0
    return out


def test_flowsynth_stereo_reads_back_the_rendered_pair(flowsynth_stereo: Path) -> None:
    recipe = load_recipe("stereo/default", ["scale=0.25"])
    assert isinstance(recipe, FlowRecipe)
    files = list_flowsynth_stereo(flowsynth_stereo)
    assert [f.name for f in files] == ["flowsynth_stereo/0000000", "flowsynth_stereo/0000001"]
    for index, entry in enumerate(files):
        pair = read_stereo(entry)
        stereo = render_stereo_sample(recipe, 0, index)
        assert np.array_equal(pair.left, stereo.left) and np.array_equal(pair.right, stereo.right)
        assert pair.disparity.tobytes() == stereo.disp_left.astype(np.float32).tobytes()
        assert pair.valid.all()
        assert pair.occlusion is not None and np.array_equal(pair.occlusion, stereo.occ_left)
    example = resolve_stereo_dataset(f"flowsynth_stereo={flowsynth_stereo}")[0]
    assert example.has_occlusion and example.occlusion.dtype == torch.bool


def test_crops_keep_both_views_aligned(flowsynth_stereo: Path) -> None:
    files = list_flowsynth_stereo(flowsynth_stereo)
    full = StereoDataset(files)[0]
    dataset = StereoDataset(files, crop=(32, 40), seed=5)
    windows = set()
    for epoch in range(4):
        dataset.set_epoch(epoch)
        example = dataset[0]
        assert example.left.shape == example.right.shape == (3, 32, 40)
        assert example.disparity.shape == example.valid.shape == example.occlusion.shape == (32, 40)
        # Find the window in the full left view; every field must come from that same window.
        height, width = full.disparity.shape
        found = [
            (top, left)
            for top in range(height - 31)
            for left in range(width - 39)
            if torch.equal(full.left[:, top : top + 32, left : left + 40], example.left)
        ]
        assert found
        top, left = found[0]
        rows, cols = slice(top, top + 32), slice(left, left + 40)
        assert torch.equal(full.right[:, rows, cols], example.right)
        assert torch.equal(full.disparity[rows, cols], example.disparity)
        assert torch.equal(full.occlusion[rows, cols], example.occlusion)
        windows.add((top, left))
    assert len(windows) > 1  # new draws each epoch
    with pytest.raises(ValueError, match="smaller than the crop"):
        StereoDataset(files, crop=(10_000, 10))[0]


def test_truncated_pfm_gives_a_typed_error(flowsynth_stereo: Path, tmp_path: Path) -> None:
    (entry,) = list_flowsynth_stereo(flowsynth_stereo)[:1]
    cut = tmp_path / "cut.pfm"
    cut.write_bytes(entry.disparity.read_bytes()[:60])  # type: ignore[union-attr]
    broken = type(entry)(entry.name, entry.left, entry.right, cut, entry.mask, entry.kind)
    with pytest.raises(FileFormatError, match="cut.pfm"):
        read_stereo(broken)


def test_unknown_specs_and_missing_roots(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown stereo dataset"):
        resolve_stereo_dataset("sintel_stereo=/x")
    with pytest.raises(ValueError, match="PATH"):
        resolve_stereo_dataset("kitti_stereo")
    with pytest.raises(FileNotFoundError, match="expected the layout"):
        resolve_stereo_dataset(f"middlebury_stereo={tmp_path}")
    with pytest.raises(FileNotFoundError, match="image_2"):
        list_kitti_stereo(tmp_path / "none")


def test_middlebury_stereo_spec_reads_the_data_root(middlebury_root: Path) -> None:
    dataset = resolve_stereo_dataset("middlebury_stereo", middlebury_root.parent, crop=(64, 96))
    assert len(dataset) == 15
    example = dataset[3]
    assert example.left.shape == (3, 64, 96) and float(example.left.max()) <= 1.0


def test_fake_flyingthings3d_tree_reads_back(tmp_path: Path) -> None:
    """FlyingThings3D's own naming (``%04d`` scenes and frames), both passes, TRAIN and TEST,
    under ``ROOT/FlyingThings3D``; no occlusion folder: occlusion unknown."""
    rng = np.random.default_rng(4)
    root = tmp_path / "sceneflow"
    base = root / "FlyingThings3D"
    expected = {}
    for pass_, split, subset, scene, frame in [
        ("frames_cleanpass", "TRAIN", "A", "0000", "0006"),
        ("frames_cleanpass", "TRAIN", "B", "0012", "0007"),
        ("frames_cleanpass", "TEST", "C", "0149", "0010"),
        ("frames_finalpass", "TRAIN", "A", "0000", "0006"),
    ]:
        where = (split, subset, scene)
        views = [rng.integers(0, 256, (5, 7, 3), np.uint8) for _ in range(2)]
        for view, image in zip(("left", "right"), views, strict=True):
            path = base.joinpath(pass_, *where, view, f"{frame}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_png(path, image)
        disparity = rng.uniform(0, 40, (5, 7)).astype(np.float32)
        path = base.joinpath("disparity", *where, "left", f"{frame}.pfm")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_pfm(path, disparity)
        expected[f"flyingthings3d_stereo/{pass_}/{split}/{subset}/{scene}/{frame}"] = views
    files = list_flyingthings3d_stereo(root)
    assert [f.name for f in files] == list(expected)  # by pass, then TRAIN before TEST
    for entry in files:
        pair = read_stereo(entry)
        left, right = expected[entry.name]
        assert np.array_equal(pair.left, left) and np.array_equal(pair.right, right)
        assert pair.occlusion is None and pair.valid.all() and pair.disparity.shape == (5, 7)
    clean_train = list_flyingthings3d_stereo(base, passes=("frames_cleanpass",), splits=("TRAIN",))
    assert len(clean_train) == 2
    dataset = resolve_stereo_dataset(f"flyingthings3d_stereo={root}", splits=("TEST",))
    assert len(dataset) == 1 and not dataset[0].has_occlusion
    with pytest.raises(ValueError, match="passes"):
        list_flyingthings3d_stereo(root, passes=("frames_dirtypass",))
    (base / "disparity/TRAIN/B/0012/left/0007.pfm").unlink()
    with pytest.raises(FileNotFoundError, match="0007.pfm"):
        list_flyingthings3d_stereo(root)
    with pytest.raises(FileNotFoundError, match="expected the layout"):
        list_flyingthings3d_stereo(tmp_path / "none")


@pytest.fixture(scope="module")
def stereo_layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three stereo pairs written in FlyingThings3D's tree and as shards (chunks of 2)."""
    folder = tmp_path_factory.mktemp("layouts")
    roots = {}
    for layout in ("flyingthings3d", "shards"):
        out = roots[layout] = folder / layout
        args = ["generate", "stereo/default", "--out", str(out), "--count", "3"]
        args += ["--set", "scale=0.25", "--preview", "0", "--workers", "1", "--no-progress"]
        assert main([*args, "--format", layout, "--chunk-size", "2"]) == 0
    return roots


def _check_rendered(pairs: list, names: list[str]) -> None:
    recipe = load_recipe("stereo/default", ["scale=0.25"])
    assert isinstance(recipe, FlowRecipe)
    assert [pair.name for pair in pairs] == names
    for index, pair in enumerate(pairs):
        stereo = render_stereo_sample(recipe, 0, index)
        assert np.array_equal(pair.left, stereo.left) and np.array_equal(pair.right, stereo.right)
        assert pair.disparity.tobytes() == stereo.disp_left.astype(np.float32).tobytes()
        assert pair.valid.all()
        assert pair.occlusion is not None and np.array_equal(pair.occlusion, stereo.occ_left)


def test_generated_flyingthings3d_tree_reads_back_the_rendered_pairs(
    stereo_layouts: dict[str, Path],
) -> None:
    root = stereo_layouts["flyingthings3d"]
    files = list_flyingthings3d_stereo(root)
    names = [f"flyingthings3d_stereo/frames_cleanpass/TRAIN/A/{i:07d}/0000" for i in range(3)]
    _check_rendered([read_stereo(entry) for entry in files], names)
    dataset = resolve_stereo_dataset(f"flyingthings3d_stereo={root}", crop=(16, 24))
    example = dataset[2]
    assert example.has_occlusion and example.left.shape == (3, 16, 24)


def test_generated_stereo_shards_read_back_the_rendered_pairs(
    stereo_layouts: dict[str, Path],
) -> None:
    root = stereo_layouts["shards"]
    samples = list_flowsynth_stereo_shards(root)
    names = [f"flowsynth_stereo/{i:07d}" for i in range(3)]
    _check_rendered([read_stereo_shard_sample(sample) for sample in samples], names)
    dataset = resolve_stereo_dataset(f"flowsynth_stereo={root}")
    assert len(dataset) == 3 and dataset[1].name == "flowsynth_stereo/0000001"
    with pytest.raises(FileNotFoundError, match="shard"):
        list_flowsynth_stereo_shards(root / "manifest")
