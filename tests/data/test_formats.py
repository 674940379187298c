"""Every on-disk reader on tiny fake trees in the real formats: shapes, dtypes, values, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from flowsynth.data.flowpair import FlowPair, read_pair
from flowsynth.data.formats import (
    list_flowsynth,
    list_flying_chairs,
    list_flying_chairs2,
    list_hd1k,
    list_kitti,
    list_middlebury,
    list_sintel,
    read_flowsynth_metadata,
)
from flowsynth.io import FileFormatError
from tests.data import fakes
from tests.data.fakes import HEIGHT, WIDTH, Fake


def check_pair(pair: FlowPair, expected: Fake, *, has_occlusion: bool) -> None:
    """Documented shapes and dtypes, and the values written."""
    assert pair.image1.dtype == np.uint8 and pair.image1.shape == (HEIGHT, WIDTH, 3)
    assert pair.image2.dtype == np.uint8 and pair.image2.shape == (HEIGHT, WIDTH, 3)
    assert pair.flow.dtype == np.float32 and pair.flow.shape == (HEIGHT, WIDTH, 2)
    assert pair.valid.dtype == np.bool_ and pair.valid.shape == (HEIGHT, WIDTH)
    assert pair.occlusion.dtype == np.bool_ and pair.occlusion.shape == (HEIGHT, WIDTH)
    assert np.array_equal(pair.image1, expected.image1)
    assert np.array_equal(pair.image2, expected.image2)
    assert np.array_equal(pair.valid, expected.valid)
    assert np.array_equal(pair.flow[pair.valid], expected.flow[expected.valid])
    assert not pair.flow[~pair.valid].any()
    assert pair.has_occlusion == has_occlusion
    assert np.array_equal(pair.occlusion, expected.occlusion if has_occlusion else 0 * pair.valid)


def test_flying_chairs(tmp_path: Path) -> None:
    written = fakes.flying_chairs(tmp_path)
    pairs = list_flying_chairs(tmp_path)
    assert [p.name for p in pairs] == [
        "flyingchairs/00001",
        "flyingchairs/00002",
        "flyingchairs/00003",
    ]
    for files, expected in zip(pairs, written, strict=True):
        check_pair(read_pair(files), expected, has_occlusion=False)


def test_flying_chairs_split_file(tmp_path: Path) -> None:
    fakes.flying_chairs(tmp_path)
    with pytest.raises(FileNotFoundError, match="FlyingChairs_train_val.txt"):
        list_flying_chairs(tmp_path, split="val")
    (tmp_path / "FlyingChairs_train_val.txt").write_text("1\n2\n1\n")
    assert [p.name[-1] for p in list_flying_chairs(tmp_path, split="train")] == ["1", "3"]
    assert [p.name[-1] for p in list_flying_chairs(tmp_path, split="val")] == ["2"]
    with pytest.raises(ValueError, match="split"):
        list_flying_chairs(tmp_path, split="test")


@pytest.mark.parametrize("backward", [False, True])
def test_flying_chairs2_both_directions(tmp_path: Path, backward: bool) -> None:
    written = fakes.per_file_layout(tmp_path / "val")
    pairs = list_flying_chairs2(tmp_path, split="val", backward=backward)
    assert len(pairs) == 2
    for files, expected in zip(pairs, written, strict=True):
        if backward:
            expected = Fake(
                expected.image2,
                expected.image1,
                -expected.flow,
                expected.valid,
                ~expected.occlusion,
            )
        check_pair(read_pair(files), expected, has_occlusion=True)


def test_flowsynth_layout_and_metadata(tmp_path: Path) -> None:
    written = fakes.per_file_layout(tmp_path)
    assert read_flowsynth_metadata(tmp_path) is None
    (tmp_path / "flowsynth.json").write_text('{"seed": 3, "recipe_hash": "abc"}')
    assert read_flowsynth_metadata(tmp_path) == {"seed": 3, "recipe_hash": "abc"}
    pairs = list_flowsynth(tmp_path)
    assert [p.name for p in pairs] == ["flowsynth/0000000", "flowsynth/0000001"]
    check_pair(read_pair(pairs[1]), written[1], has_occlusion=True)
    (tmp_path / "flowsynth.json").write_text("[1, 2")
    with pytest.raises(FileFormatError, match="flowsynth.json"):
        read_flowsynth_metadata(tmp_path)


@pytest.mark.parametrize("pass_name", ["clean", "final"])
def test_sintel_with_occlusion_and_invalid(tmp_path: Path, pass_name: str) -> None:
    written = fakes.sintel(tmp_path)
    pairs = list_sintel(tmp_path, pass_name=pass_name)
    assert [p.name for p in pairs] == [
        f"sintel/{pass_name}/alley_1/frame_0001",
        f"sintel/{pass_name}/alley_1/frame_0002",
    ]
    for files, expected in zip(pairs, written, strict=True):
        if pass_name == "final":
            expected = Fake(
                255 - expected.image1,
                255 - expected.image2,
                expected.flow,
                expected.valid,
                expected.occlusion,
            )
        check_pair(read_pair(files), expected, has_occlusion=True)


def test_sintel_test_split_has_no_flow(tmp_path: Path) -> None:
    fakes.sintel(tmp_path)
    (tmp_path / "training").rename(tmp_path / "test")
    pair = read_pair(list_sintel(tmp_path, split="test")[0])
    assert not pair.valid.any() and not pair.flow.any() and not pair.has_occlusion


@pytest.mark.parametrize("year", [2012, 2015])
def test_kitti_grey_to_rgb_and_occlusion_from_noc(tmp_path: Path, year: int) -> None:
    written = fakes.kitti(tmp_path, year)
    pairs = list_kitti(tmp_path, year=year)
    assert [p.name for p in pairs] == [
        f"kitti{year}/training/000000",
        f"kitti{year}/training/000001",
    ]
    for files, expected in zip(pairs, written, strict=True):
        check_pair(read_pair(files), expected, has_occlusion=True)
    noc = read_pair(list_kitti(tmp_path, year=year, flow="noc")[0])
    assert not noc.has_occlusion
    assert np.array_equal(noc.valid, written[0].valid & ~written[0].occlusion)


def test_middlebury_unknown_flow_is_invalid(tmp_path: Path) -> None:
    written = fakes.middlebury(tmp_path)
    pairs = list_middlebury(tmp_path)
    assert [p.name for p in pairs] == ["middlebury/Grove2", "middlebury/Venus"]
    for files, expected in zip(pairs, written, strict=True):
        check_pair(read_pair(files), expected, has_occlusion=False)


def test_hd1k_consecutive_frames(tmp_path: Path) -> None:
    written = fakes.hd1k(tmp_path)
    pairs = list_hd1k(tmp_path)
    assert [p.name for p in pairs] == ["hd1k/000000_0000", "hd1k/000000_0001"]
    for files, expected in zip(pairs, written, strict=True):
        check_pair(read_pair(files), expected, has_occlusion=False)


LISTERS: list[tuple[Callable[..., object], str]] = [
    (list_flying_chairs, "_img1.ppm"),
    (list_flying_chairs2, "-img_0.png"),
    (list_flowsynth, "-img_0.png"),
    (list_sintel, "frame_0001.png"),
    (list_kitti, "image_0/"),
    (list_middlebury, "other-gt-flow/"),
    (list_hd1k, "hd1k_flow_gt/"),
]


@pytest.mark.parametrize(("lister", "tree_text"), LISTERS)
def test_wrong_root_names_the_expected_layout(
    tmp_path: Path, lister: Callable[..., object], tree_text: str
) -> None:
    (tmp_path / "train").mkdir()  # FlyingChairs2's folder, but empty
    with pytest.raises(FileNotFoundError) as error:
        lister(
            tmp_path
            / ("" if lister is list_flowsynth or lister is list_flying_chairs2 else "nowhere")
        )
    message = str(error.value)
    assert "expected the layout" in message and "ROOT/" in message and tree_text in message


def test_missing_partner_file_is_named(tmp_path: Path) -> None:
    fakes.flying_chairs(tmp_path)
    (tmp_path / "data" / "00002_flow.flo").unlink()
    with pytest.raises(FileNotFoundError, match="00002_flow.flo"):
        list_flying_chairs(tmp_path)


@pytest.mark.parametrize("victim", ["00002_img2.ppm", "00002_flow.flo"])
def test_corrupt_file_raises_naming_it(tmp_path: Path, victim: str) -> None:
    fakes.flying_chairs(tmp_path)
    path = tmp_path / "data" / victim
    path.write_bytes(path.read_bytes()[:20])
    pairs = list_flying_chairs(tmp_path)
    read_pair(pairs[0])
    with pytest.raises(FileFormatError, match=victim):
        read_pair(pairs[1])


def test_size_mismatch_within_a_pair_names_the_file(tmp_path: Path) -> None:
    fakes.flying_chairs(tmp_path)
    fakes.write_ppm(tmp_path / "data" / "00001_img2.ppm", np.zeros((5, 8, 3), np.uint8))
    with pytest.raises(FileFormatError, match="00001_img2.ppm"):
        read_pair(list_flying_chairs(tmp_path)[0])


def test_flying_chairs2_reads_a_flat_flowsynth_folder_as_train(tmp_path: Path) -> None:
    from flowsynth.cli.main import main

    out = tmp_path / "data"
    args = ["generate", "default", "--out", str(out), "--count", "2", "--workers", "1"]
    sets = ["--set", "size=[32,48]", "--set", "objects.count=[2,3]"]
    assert main([*args, "--no-progress", "--preview", "0", *sets]) == 0
    pairs = list_flying_chairs2(out)
    assert [p.name for p in pairs] == ["flyingchairs2/train/0000000", "flyingchairs2/train/0000001"]
    assert [p.name for p in pairs] != [q.name for q in list_flowsynth(out)]  # same files
    assert [p.image1 for p in pairs] == [q.image1 for q in list_flowsynth(out)]
    assert read_pair(pairs[0]).flow.shape[:2] == (32, 48)
    with pytest.raises(FileNotFoundError):  # a flat folder is no val split
        list_flying_chairs2(out, split="val")
