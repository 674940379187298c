"""DRIVE retinal vessels: files paired by their leading number, labels -1 outside the field of
view, and the plain cross-entropy weights. The real-data test skips without the data root."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.segmentation import (
    IGNORE,
    SegmentationDataset,
    find_numbered_pairs,
    label_values,
    load_segmentation_pairs,
    resolve_segmentation_spec,
    sample_training_arrays,
)
from flowsynth.deform.pairs import PairFileError, PairFolderError
from flowsynth.io.images import read_label
from tests.data.drive_fakes import SIZE, vessel_count, write_drive_split


def test_real_drive_training_and_test_sets(data_subdir: Callable[..., Path]) -> None:
    root = data_subdir("retina_drive")
    start = time.perf_counter()
    training = load_segmentation_pairs("retina_drive", root.parent)
    test = load_segmentation_pairs(f"retina_drive_test={root}")
    seconds = time.perf_counter() - start
    assert [p.name for p in training] == [str(n) for n in range(21, 41)]
    assert [p.name for p in test] == [f"{n:02d}" for n in range(1, 21)]
    for pairs, split, kind in ((training, "training", "training"), (test, "testing", "test")):
        for pair in pairs:
            assert pair.image.shape == (584, 565, 3) and pair.image.dtype == np.uint8
            assert pair.label.shape == (584, 565)
            assert set(np.unique(pair.label).tolist()) == {IGNORE, 0, 255}
            mask = read_label(root / split / "mask" / f"{pair.name}_{kind}_mask.gif")
            np.testing.assert_array_equal(pair.label == IGNORE, mask == 0)
    assert label_values(training) == label_values(test) == [0, 255]
    assert [p.name for p in load_segmentation_pairs("retina_drive[:2]", root.parent)] == [
        "21",
        "22",
    ]
    assert [p.name for p in load_segmentation_pairs(f"retina_drive_test={root}[-1:]")] == ["20"]
    assert seconds < 20, f"reading 40 DRIVE pairs took {seconds:.1f} s"


def test_spec_names_the_drive_folders(tmp_path: Path) -> None:
    folders = resolve_segmentation_spec(f"retina_drive_test={tmp_path}[1:3]")
    assert folders.images == tmp_path / "testing/images"
    assert folders.labels == tmp_path / "testing/1st_manual"
    assert folders.masks == tmp_path / "testing/mask"
    assert folders.pairing == "number" and folders.part == slice(1, 3)
    isbi = resolve_segmentation_spec(f"isbi2012_em={tmp_path}")
    assert isbi.masks is None and isbi.pairing == "stem"


def test_fake_tree_pairs_by_number_and_marks_the_field_of_view(tmp_path: Path) -> None:
    written = write_drive_split(tmp_path, "testing", numbers=(2, 1, 10))
    pairs = load_segmentation_pairs(f"retina_drive_test={tmp_path}")
    assert [p.name for p in pairs] == ["01", "02", "10"]  # numeric order
    for pair in pairs:
        arrays = written[int(pair.name)]
        np.testing.assert_array_equal(pair.image, arrays["image"])
        np.testing.assert_array_equal(pair.label == IGNORE, arrays["mask"] == 0)
        assert int((pair.label == 255).sum()) == vessel_count(int(pair.name))
        assert pair.label.dtype == np.int32
    assert label_values(pairs) == [0, 255]
    sliced = load_segmentation_pairs(f"retina_drive_test={tmp_path}[1:]")
    assert [p.name for p in sliced] == ["02", "10"]


@pytest.mark.parametrize(("folder", "role"), [("mask", "mask"), ("1st_manual", "label")])
def test_a_missing_mask_or_label_names_the_folder_and_the_image(
    tmp_path: Path, folder: str, role: str
) -> None:
    write_drive_split(tmp_path, "training", numbers=(21, 22))
    next((tmp_path / "training" / folder).glob("22_*")).unlink()
    with pytest.raises(PairFolderError, match=f"{role} folder .*{folder}.* numbered 22") as error:
        load_segmentation_pairs(f"retina_drive={tmp_path}")
    assert "22_training.tif" in str(error.value)


def test_an_image_without_a_number_or_a_duplicate_number_is_refused(tmp_path: Path) -> None:
    write_drive_split(tmp_path, "training", numbers=(21,))
    images = tmp_path / "training/images"
    extra = images / "21_copy.tif"
    extra.write_bytes((images / "21_training.tif").read_bytes())
    with pytest.raises(PairFolderError, match="two files numbered 21"):
        find_numbered_pairs(images, tmp_path / "training/1st_manual")
    extra.rename(images / "notes.tif")
    with pytest.raises(PairFolderError, match="notes.tif does not start with a number"):
        find_numbered_pairs(images, tmp_path / "training/1st_manual")


@pytest.mark.parametrize("folder", ["mask", "1st_manual"])
def test_a_mask_or_label_of_another_size_is_refused(tmp_path: Path, folder: str) -> None:
    write_drive_split(tmp_path, "training", numbers=(21, 22))
    path = next((tmp_path / "training" / folder).glob("22_*"))
    Image.fromarray(np.zeros((SIZE[0], SIZE[1] + 1), np.uint8)).save(path)
    with pytest.raises(PairFileError, match=f"{path.name} is 19x20 but image .*22_training.tif"):
        load_segmentation_pairs(f"retina_drive={tmp_path}")


def test_an_undecodable_file_is_named(tmp_path: Path) -> None:
    write_drive_split(tmp_path, "training", numbers=(21,))
    path = tmp_path / "training/mask/21_training_mask.gif"
    path.write_bytes(b"GIF89a broken")
    with pytest.raises(PairFileError, match="21_training_mask.gif"):
        load_segmentation_pairs(f"retina_drive={tmp_path}")


def test_plain_weights_draw_the_same_crop_as_unet_weights(tmp_path: Path) -> None:
    write_drive_split(tmp_path, "training", numbers=(21,))
    (pair,) = load_segmentation_pairs(f"retina_drive={tmp_path}")
    for augment in ("elastic", "affine", "none"):
        results = {
            weights: sample_training_arrays(
                pair,
                [0, 255],
                crop=(16, 16),
                sigma=2.0,
                augment=augment,
                weights=weights,
                rng=sample_rng(3, 0, Stream.ELASTIC),
            )
            for weights in ("unet", "none")
        }
        (image, label, unet), (plain_image, plain_label, plain) = results.values()
        np.testing.assert_array_equal(image, plain_image)
        np.testing.assert_array_equal(label, plain_label)
        # -1 travels with the label through the deformation; it gets weight 0 in both modes.
        assert set(np.unique(label).tolist()) == {IGNORE, 0, 1}
        np.testing.assert_array_equal(plain, (label != IGNORE).astype(np.float32))
        assert not unet[label == IGNORE].any()


def test_dataset_weights_option(tmp_path: Path) -> None:
    write_drive_split(tmp_path, "training", numbers=(21, 22))
    pairs = load_segmentation_pairs(f"retina_drive={tmp_path}")
    unet = SegmentationDataset(pairs, crop=(16, 16), seed=1, sigma=2.0)
    plain = SegmentationDataset(pairs, crop=(16, 16), seed=1, sigma=2.0, weights="none")
    for item in range(len(pairs)):
        a, b = unet[item], plain[item]
        assert a.image.equal(b.image) and a.label.equal(b.label)
        assert b.weight.equal((b.label != IGNORE).float())
    whole = SegmentationDataset(pairs)[0]  # whole images: weight 0 outside the field of view
    assert whole.weight.equal((whole.label != IGNORE).float())
    assert int((whole.label == IGNORE).sum()) > 0
    with pytest.raises(ValueError, match="weights must be one of unet, none"):
        SegmentationDataset(pairs, weights="balanced")
    with pytest.raises(ValueError, match="weights must be one of"):
        sample_training_arrays(
            pairs[0], [0, 255], crop=(8, 8), sigma=0.0, weights="", rng=sample_rng(0, 0, 0)
        )
