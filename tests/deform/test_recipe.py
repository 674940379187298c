"""Elastic segmentation datasets: recipes, the `deform` command, files, determinism, errors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from flowsynth.base.conventions import warp_backward
from flowsynth.cli.main import main
from flowsynth.deform.pairs import load_pairs
from flowsynth.deform.recipe import elastic_sample
from flowsynth.io import read_flo, read_pfm, read_png
from flowsynth.recipe.load import load_recipe


def _examples(root: Path, count: int = 3, shape: tuple[int, ...] = (40, 48)) -> tuple[Path, Path]:
    images, labels = root / "images", root / "labels"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(count):
        image = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (5, 5), 0)
        label = np.where(image > 128, 255, 0).astype(np.uint8)
        if len(shape) == 3:
            np.save(images / f"{k}.npy", image)
            np.save(labels / f"{k}.npy", label)
        else:
            cv2.imwrite(str(images / f"{k}.png"), image)
            cv2.imwrite(str(labels / f"{k}.png"), label)
    return images, labels


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "flowsynth.json"
    }


def _deform(images: Path, labels: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "deform",
            "elastic/unet",
            "--images",
            str(images),
            "--labels",
            str(labels),
            "--out",
            str(out),
            "--count",
            "5",
            "--chunk-size",
            "2",
            "--no-progress",
            *extra,
        ]
    )


def test_deform_writes_exact_pairs_identical_for_any_worker_count(tmp_path: Path) -> None:
    images, labels = _examples(tmp_path)
    assert _deform(images, labels, tmp_path / "one", "--workers", "1", "--preview", "2") == 0
    assert _deform(images, labels, tmp_path / "two", "--workers", "2", "--preview", "2") == 0
    assert _hashes(tmp_path / "one") == _hashes(tmp_path / "two")
    assert main(["verify", str(tmp_path / "one")]) == 0
    examples = load_pairs(images, labels)
    for i in range(5):
        source = examples[i % 3]
        label = read_png(tmp_path / "one" / f"{i:07d}-label.png")
        assert set(np.unique(label)) <= set(np.unique(source.label))
        flow = read_flo(tmp_path / "one" / f"{i:07d}-flow.flo")
        image = read_png(tmp_path / "one" / f"{i:07d}-image.png")
        valid = read_png(tmp_path / "one" / f"{i:07d}-valid.png") > 0
        warped = warp_backward(source.image, flow)
        error = np.abs(warped.astype(int) - image)[valid]
        assert valid.mean() > 0.5 and error.mean() < 0.5, error.mean()
        relabelled = warp_backward(source.label, flow, nearest=True)
        assert (relabelled != label)[valid].mean() < 0.01
        weight = read_pfm(tmp_path / "one" / f"{i:07d}-weight.pfm")
        assert weight.shape == label.shape and weight.min() > 0
    assert (tmp_path / "one" / "preview.png").exists()


def test_volumes_are_deformed_to_npy(tmp_path: Path) -> None:
    images, labels = _examples(tmp_path, count=2, shape=(12, 16, 20))
    code = main(
        [
            "deform",
            "elastic/unet3d",
            "--images",
            str(images),
            "--labels",
            str(labels),
            "--out",
            str(tmp_path / "v"),
            "--count",
            "2",
            "--workers",
            "1",
            "--no-progress",
            "--set",
            "spacing=8",
        ]
    )
    assert code == 0
    label = np.load(tmp_path / "v" / "0000001-label.npy")
    flow = np.load(tmp_path / "v" / "0000001-flow.npy")
    assert label.shape == (12, 16, 20) and flow.shape == (12, 16, 20, 3)
    assert set(np.unique(label)) <= {0, 255}


def test_sample_is_a_pure_function_of_seed_and_index(tmp_path: Path) -> None:
    examples = load_pairs(*_examples(tmp_path))
    recipe = load_recipe("elastic/affine_elastic")
    a = elastic_sample(recipe, examples, 3, 4)
    elastic_sample(recipe, examples, 3, 0)
    b = elastic_sample(recipe, examples, 3, 4)
    assert a.image.tobytes() == b.image.tobytes() and a.flow.tobytes() == b.flow.tobytes()
    assert elastic_sample(recipe, examples, 4, 4).flow.tobytes() != a.flow.tobytes()
    still = elastic_sample(load_recipe("elastic/unet", ["sigma=0.0"]), examples, 3, 4)
    assert np.array_equal(still.image, examples[1].image) and not still.flow.any()


def test_bad_inputs_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, labels = _examples(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _deform(empty, labels, tmp_path / "o1") == 2
    assert str(empty) in capsys.readouterr().err
    (images / "9.png").write_bytes(b"not a png")
    (labels / "9.png").write_bytes(b"not a png")
    assert _deform(images, labels, tmp_path / "o2") == 2
    assert "9.png" in capsys.readouterr().err
    flow_recipe = [
        "deform",
        "default",
        "--images",
        str(images),
        "--labels",
        str(labels),
        "--out",
        str(tmp_path / "o3"),
        "--count",
        "1",
    ]
    assert main(flow_recipe) == 2
    assert "flowsynth generate" in capsys.readouterr().err
    assert main(["generate", "elastic/unet", "--out", str(tmp_path / "o4"), "--count", "1"]) == 2
    assert "flowsynth deform" in capsys.readouterr().err
    assert _deform(images, labels, tmp_path / "o5", "--set", "sigma=-1") == 2


def test_real_isbi_slices_deform(data_subdir: Callable[..., Path], tmp_path: Path) -> None:
    root = data_subdir("isbi2012_em", "train")
    assert _deform(root / "image", root / "label", tmp_path / "isbi", "--workers", "1") == 0
    label = read_png(tmp_path / "isbi" / "0000004-label.png")
    assert label.shape == (512, 512) and set(np.unique(label)) <= {0, 255}
