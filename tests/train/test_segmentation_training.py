"""Segmentation data and training on image/label folders (fake ISBI-like pairs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from flowsynth.cli.main import main
from flowsynth.data.segmentation import (
    SegmentationDataset,
    load_segmentation_pairs,
    parse_segmentation_spec,
    to_classes,
)
from flowsynth.io.images import write_png


def _write_pairs(root: Path, count: int = 3, size: int = 48) -> Path:
    """ISBI-like tree: grey images, labels 0 (membrane) / 255 (cells)."""
    for k in range(count):
        label = np.full((size, size), 255, np.uint8)
        label[:, 15 + k] = 0  # membranes: one vertical and one horizontal line
        label[20 + k, :] = 0
        image = np.where(label == 0, 40, 200).astype(np.uint8)
        write_png(root / "train/image" / f"{k}.png", image)
        write_png(root / "train/label" / f"{k}.png", label)
    return root


def test_specs_slices_and_class_mapping(tmp_path: Path) -> None:
    root = _write_pairs(tmp_path / "isbi")
    images, labels, part = parse_segmentation_spec(f"isbi2012_em={root}[1:]")
    assert images == root / "train/image" and labels == root / "train/label"
    assert part == slice(1, None)
    assert len(load_segmentation_pairs(f"isbi2012_em={root}[:2]")) == 2
    assert len(load_segmentation_pairs(f"{root}/train/image,{root}/train/label")) == 3
    with pytest.raises(ValueError, match="unknown segmentation dataset"):
        parse_segmentation_spec("drive")
    classes = to_classes(np.array([[0, 255, 7, -1]]), [0, 255])
    assert classes.tolist() == [[0, 1, -1, -1]]


def test_training_items_are_deterministic_and_keep_labels(tmp_path: Path) -> None:
    pairs = load_segmentation_pairs(f"isbi2012_em={_write_pairs(tmp_path)}")
    dataset = SegmentationDataset(pairs, crop=(32, 32), seed=5)
    first, again = dataset[1], dataset[1]
    assert first.image.shape == (1, 32, 32) and first.label.shape == (32, 32)
    assert torch.equal(first.image, again.image) and torch.equal(first.label, again.label)
    assert set(first.label.unique().tolist()) <= {-1, 0, 1}
    assert float(first.weight.max()) > 1.0  # border term between cells
    dataset.set_epoch(1)
    assert not torch.equal(dataset[1].image, first.image)


def test_train_and_evaluate_segmentation_from_the_cli(tmp_path: Path) -> None:
    root = _write_pairs(tmp_path / "isbi", count=3, size=64)
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--task",
            "segmentation",
            "--data",
            f"isbi2012_em={root}[:2]",
            "--out",
            str(out),
            "--preset",
            "cpu",
            "--width",
            "0.125",
            "--steps",
            "3",
            "--batch",
            "2",
            "--crop",
            "32",
            "32",
            "--workers",
            "0",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    results = tmp_path / "results.json"
    code = main(
        [
            "evaluate",
            str(out / "checkpoint.pt"),
            "--dataset",
            f"isbi2012_em={root}[2:]",
            "--out",
            str(results),
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    import json

    summary = json.loads(results.read_text())["datasets"][f"isbi2012_em={root}[2:]"]["model"]
    assert summary["images"] == 1
    assert set(summary) >= {"iou", "dice", "pixel_error", "rand_error"}


def test_held_out_curves_and_plain_cross_entropy_from_the_cli(tmp_path: Path) -> None:
    import csv
    import json

    root = _write_pairs(tmp_path / "isbi", count=3, size=64)
    out = tmp_path / "run"
    common = ["train", "--task", "segmentation", "--data", f"isbi2012_em={root}[:2]"]
    options = ["--width", "0.125", "--steps", "3", "--batch", "1", "--crop", "32", "32"]
    options += ["--device", "cpu", "--no-progress", "--workers", "0", "--log-every", "3"]
    code = main(
        [*common, "--out", str(out), *options, "--seg-weights", "none", "--ema", "0.5"]
        + ["--held-out", f"isbi2012_em={root}[2:]", "--held-out-every", "2"]
    )
    assert code == 0
    with open(out / "log.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["step"]) for r in rows if r["heldout_iou"]] == [2, 3]
    assert all(0 <= float(r["heldout_iou"]) <= 1 for r in rows if r["heldout_iou"])
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["seg_weights"] == "none" and config["ema"] == 0.5
    # --held-out is for segmentation runs; --held-out-every needs it
    assert main([*common, "--out", str(tmp_path / "b"), *options, "--held-out-every", "2"]) == 2
    flow = ["train", "--data", "recipe:ablation/boxes", "--out", str(tmp_path / "c")]
    assert main([*flow, "--held-out", "isbi2012_em", "--steps", "1", "--device", "cpu"]) == 2
