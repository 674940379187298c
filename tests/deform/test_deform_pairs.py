"""Folders of pairs (order, formats, errors) and the per-sample elastic pair."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import imageio.v3 as iio
import numpy as np
import pytest

from flowsynth.base.conventions import warp_backward
from flowsynth.deform import (
    ElasticPair,
    PairFileError,
    PairFolderError,
    find_pairs,
    load_pairs,
    sample_elastic_pair,
)
from flowsynth.io import FileFormatError


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    images, labels = tmp_path / "image", tmp_path / "label"
    images.mkdir()
    labels.mkdir()
    return images, labels


def _write_2d(images: Path, labels: Path, stem: str, shape: tuple[int, int] = (8, 9)) -> None:
    iio.imwrite(images / f"{stem}.png", np.full(shape, 7, np.uint8))
    iio.imwrite(labels / f"{stem}.png", np.full(shape, 255, np.uint8))


def test_pairs_match_by_stem_in_natural_order(tmp_path: Path) -> None:
    images, labels = _folders(tmp_path)
    for stem in ("10", "2", "1"):
        _write_2d(images, labels, stem)
    (images / "notes.txt").write_text("ignored")
    pairs = load_pairs(images, labels)
    assert [p.name for p in pairs] == ["1", "2", "10"]
    assert pairs[0].image.dtype == np.uint8 and pairs[0].label.shape == (8, 9)


def test_volumes_from_npy_and_tif(tmp_path: Path) -> None:
    pytest.importorskip("tifffile", reason="multi-page TIFF volumes need tifffile")
    images, labels = _folders(tmp_path)
    volume = np.arange(4 * 5 * 6, dtype=np.uint16).reshape(4, 5, 6)
    np.save(images / "a.npy", volume)
    iio.imwrite(labels / "a.tif", (volume % 7).astype(np.uint8))
    (pair,) = load_pairs(images, labels)
    assert pair.image.shape == (4, 5, 6) and pair.label.shape == (4, 5, 6)
    np.testing.assert_array_equal(pair.label, volume % 7)


def test_folder_errors(tmp_path: Path) -> None:
    images, labels = _folders(tmp_path)
    with pytest.raises(FileNotFoundError, match="no image files"):
        load_pairs(images, labels)
    with pytest.raises(PairFolderError, match="does not exist"):
        load_pairs(tmp_path / "nowhere", labels)
    _write_2d(images, labels, "1")
    iio.imwrite(images / "2.png", np.zeros((8, 9), np.uint8))
    with pytest.raises(PairFolderError, match="no partner.*: 2"):
        find_pairs(images, labels)


@pytest.mark.parametrize(
    ("make_label", "message"),
    [
        (lambda labels: (labels / "1.png").write_bytes(b"not a png"), "cannot read"),
        (lambda labels: iio.imwrite(labels / "1.png", np.zeros((8, 10), np.uint8)), "shape"),
        (lambda labels: np.save(labels / "1.npy", np.zeros((8, 9), np.float32)), "integer dtype"),
        (lambda labels: iio.imwrite(labels / "1.png", np.zeros((8, 9, 3), np.uint8)), "single"),
    ],
)
def test_file_errors(tmp_path: Path, make_label: Callable[[Path], object], message: str) -> None:
    images, labels = _folders(tmp_path)
    iio.imwrite(images / "1.png", np.zeros((8, 9), np.uint8))
    make_label(labels)
    with pytest.raises(ValueError, match=message) as error:
        load_pairs(images, labels)
    assert isinstance(error.value, PairFileError)
    assert isinstance(error.value, FileFormatError)  # what every reader's refusal is


def test_pair_file_errors_are_file_format_errors_that_pickle() -> None:
    for error in (PairFileError("cannot read a.png: bad"), PairFileError("bad", "a.png")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is PairFileError and str(copy) == str(error)
        assert (copy.source, copy.problem) == (error.source, error.problem)
    assert str(PairFileError("cannot read a.png: bad")) == "cannot read a.png: bad"
    assert str(PairFileError("bad", "a.png")) == "a.png: bad"
    assert issubclass(PairFileError, FileFormatError) and issubclass(PairFileError, ValueError)


def _pair(shape: tuple[int, ...] = (48, 64)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    label = rng.integers(0, 400, shape).astype(np.uint16)
    return image, label


def test_elastic_pair_is_deterministic() -> None:
    image, label = _pair()

    def sample(seed: int) -> ElasticPair:
        rng = np.random.default_rng(seed)
        return sample_elastic_pair(
            image, label, sigma=8.0, rotation=20.0, scale=(0.9, 1.1), flip=True, rng=rng
        )

    first, again, other = sample(7), sample(7), sample(8)
    for name in ("image", "label", "flow", "valid"):
        assert getattr(first, name).tobytes() == getattr(again, name).tobytes()
    assert first.flow.tobytes() != other.flow.tobytes()
    assert set(np.unique(first.label)) <= set(np.unique(label))


@pytest.mark.parametrize("field", ["grid", "smoothed"])
@pytest.mark.parametrize("shape", [(150, 700), (12, 30, 40)])  # 2D: several bands of rows
def test_elastic_pair_without_flow_is_the_same_pair(
    field: Literal["grid", "smoothed"], shape: tuple[int, ...]
) -> None:
    """``return_flow=False`` skips the flow, nothing else: same draws, same pixels."""
    image, label = _pair(shape)
    kwargs = {"field": field, "sigma": 12.0, "alpha": 60.0, "rotation": 15.0, "flip": True}
    full = sample_elastic_pair(image, label, **kwargs, rng=np.random.default_rng(3))
    lean = sample_elastic_pair(
        image, label, **kwargs, return_flow=False, rng=np.random.default_rng(3)
    )
    assert lean.flow is None and full.flow is not None
    for name in ("image", "label", "valid"):
        assert getattr(lean, name).tobytes() == getattr(full, name).tobytes()
    assert not full.valid.all()  # the strong field reaches outside: validity is exercised


@pytest.mark.parametrize("field", ["grid", "smoothed"])
def test_elastic_pair_at_zero_strength_is_the_identity(field: Literal["grid", "smoothed"]) -> None:
    image, label = _pair((10, 12, 14))
    out = sample_elastic_pair(
        image[..., 0], label, field=field, sigma=0.0, alpha=0.0, rng=np.random.default_rng(0)
    )
    assert out.image.tobytes() == image[..., 0].tobytes()
    assert out.label.tobytes() == label.tobytes()
    assert not out.flow.any() and out.valid.all() and out.weight is None


def test_elastic_pair_weight_map_and_ignore_label() -> None:
    label = np.full((40, 40), 255, np.uint8)
    label[::10, :] = 0
    label[:, ::10] = 0
    out = sample_elastic_pair(
        label.copy(),
        label,
        sigma=6.0,
        rotation=30.0,
        border="constant",
        ignore_label=7,
        weight_map=True,
        foreground=255,
        rng=np.random.default_rng(1),
    )
    assert set(np.unique(out.label)) <= {0, 7, 255}
    assert out.weight is not None and out.weight.dtype == np.float32
    assert (out.weight[out.label == 7] == 0).all()
    assert (out.weight[out.label != 7] > 0).all()


def test_isbi_slices(data_subdir: Callable[..., Path]) -> None:
    folder = data_subdir("isbi2012_em", "train")
    pairs = load_pairs(folder / "image", folder / "label")
    assert len(pairs) == 30 and [p.name for p in pairs[:3]] == ["0", "1", "2"]
    for k, pair in enumerate(pairs[:2]):
        assert pair.image.shape == (512, 512) and set(np.unique(pair.label)) == {0, 255}
        out = sample_elastic_pair(
            pair.image,
            pair.label,
            sigma=10.0,
            weight_map=True,
            foreground=255,
            rng=np.random.default_rng(k),
        )
        assert set(np.unique(out.label)) == {0, 255}
        assert out.weight is not None and np.isfinite(out.weight).all()
        assert out.weight.max() > 5.0  # touching cells get the border bonus
        again = warp_backward(pair.image, out.flow)
        interior = (slice(40, -40), slice(40, -40))
        difference = np.abs(again[interior].astype(int) - out.image[interior].astype(int))
        assert difference.max() <= 1
