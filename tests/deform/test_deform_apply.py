"""One resampling of images and labels: exact labels, alignment, flow, identity, bad inputs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.ndimage

from flowsynth.base.conventions import moved_out_of_frame, warp_backward
from flowsynth.deform import (
    apply_displacement,
    apply_grid_displacement,
    compose_affine,
    interpolate_grid,
    sample_affine,
    sample_grid_displacement,
    sample_grid_nodes,
)
from flowsynth.deform.apply import Border, ImageInterpolation


def _field(shape: tuple[int, ...], sigma: float = 6.0, seed: int = 0) -> np.ndarray:
    return sample_grid_displacement(shape, sigma=sigma, rng=np.random.default_rng(seed))


def _many_labels(shape: tuple[int, ...], dtype: type, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    values = rng.choice(
        np.arange(info.min, info.max, max(1, (int(info.max) - info.min) // (4 * count))),
        count,
        replace=False,
    )
    return values[rng.integers(0, count, size=shape)].astype(dtype)


@pytest.mark.parametrize(
    ("dtype", "count"),
    [
        (np.uint8, 200),
        (np.uint16, 400),
        (np.int16, 350),
        (np.int32, 1000),
        (np.int64, 500),
        (np.uint32, 300),
    ],
)
@pytest.mark.parametrize("border", ["reflect", "constant", "replicate"])
def test_label_values_survive_2d(dtype: type, count: int, border: Border) -> None:
    label = _many_labels((48, 56), dtype, count)
    out = apply_displacement(_field((48, 56), sigma=8.0), labels=[label], border=border).labels[0]
    assert out.dtype == label.dtype and out.shape == label.shape
    allowed = set(np.unique(label).tolist()) | ({0} if border == "constant" else set())
    assert set(np.unique(out).tolist()) <= allowed
    assert np.mean(out != label) > 0.5  # the labels really moved
    assert len(np.unique(out)) > 0.5 * count


def test_label_nearest_matches_a_direct_gather() -> None:
    label = _many_labels((40, 50), np.int32, 900)
    displacement = _field((40, 50), sigma=3.0)
    out = apply_displacement(displacement, labels=[label], border="replicate").labels[0]
    y, x = np.mgrid[0:40, 0:50]
    xs = np.clip(np.floor(x + displacement[..., 0] + 0.5), 0, 49).astype(int)
    ys = np.clip(np.floor(y + displacement[..., 1] + 0.5), 0, 39).astype(int)
    assert np.mean(out != label[ys, xs]) < 1e-3  # only exact .5 ties may round the other way


@pytest.mark.parametrize(("dtype", "count"), [(np.uint8, 200), (np.uint16, 320), (np.int32, 600)])
def test_label_values_survive_3d(dtype: type, count: int) -> None:
    label = _many_labels((12, 14, 16), dtype, count)
    displacement = _field((12, 14, 16), sigma=3.0)
    borders: tuple[Border, ...] = ("reflect", "constant", "replicate")
    for border in borders:
        out = apply_displacement(displacement, labels=[label], border=border).labels[0]
        allowed = set(np.unique(label).tolist()) | ({0} if border == "constant" else set())
        assert out.dtype == label.dtype
        assert set(np.unique(out).tolist()) <= allowed
        assert np.mean(out != label) > 0.5


def test_ignore_label_marks_exactly_the_invalid_pixels() -> None:
    label = _many_labels((30, 30), np.uint16, 310)
    label[label == 9999] = 1
    out = apply_displacement(_field((30, 30), sigma=12.0), labels=[label], ignore_label=9999)
    assert (~out.valid).any()
    np.testing.assert_array_equal(out.labels[0] == 9999, ~out.valid)
    with pytest.raises(ValueError, match="does not fit"):
        apply_displacement(_field((30, 30)), labels=[label.astype(np.uint8)], ignore_label=300)


def test_image_and_label_stay_aligned() -> None:
    y, x = np.mgrid[0:96, 0:96]
    board = (((x // 12) + (y // 12)) % 2 * 255).astype(np.uint8)
    mask = (board > 127).astype(np.uint8)
    out = apply_displacement(_field((96, 96), sigma=8.0), images=[board], labels=[mask])
    image, label = out.images[0], out.labels[0]
    disagree = (image.astype(int) > 127) != (label > 0)
    edges = scipy.ndimage.morphological_gradient(label, size=3) > 0
    assert disagree.mean() < 0.02
    assert not (disagree & ~edges).any()


@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
def test_flow_reproduces_the_deformation(interpolation: ImageInterpolation) -> None:
    rng = np.random.default_rng(3)
    image = scipy.ndimage.gaussian_filter(rng.random((64, 80, 3)), (2, 2, 0))
    image = (image * 255).astype(np.uint8)
    out = apply_displacement(
        _field((64, 80), sigma=5.0), images=[image], image_interpolation=interpolation
    )
    assert out.flow.dtype == np.float32 and out.flow.shape == (64, 80, 2)
    np.testing.assert_array_equal(out.valid, ~moved_out_of_frame(out.flow))
    again = warp_backward(image, out.flow)
    y, x = np.mgrid[0:64, 0:80]
    inner = (
        (x + out.flow[..., 0] >= 1)
        & (x + out.flow[..., 0] <= 78)
        & (y + out.flow[..., 1] >= 1)
        & (y + out.flow[..., 1] <= 62)
    )
    difference = np.abs(again.astype(int) - out.images[0].astype(int))[inner]
    if interpolation == "linear":
        assert difference.max() == 0  # the same bilinear sampling, bit for bit
    else:
        assert difference.mean() < 1.0


@pytest.mark.parametrize("shape", [(20, 24), (6, 7, 8)])
@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
def test_zero_displacement_is_the_identity(
    shape: tuple[int, ...], interpolation: ImageInterpolation
) -> None:
    rng = np.random.default_rng(0)
    images: list[np.ndarray] = [
        rng.integers(0, 256, (*shape, 3), dtype=np.uint8),
        rng.integers(0, 65536, shape, dtype=np.uint16),
        rng.random((*shape, 5)).astype(np.float32),
    ]
    labels: list[np.ndarray] = [_many_labels(shape, np.int32, 400), rng.random(shape) > 0.5]
    zero = np.zeros((*shape, len(shape)), np.float32)
    out = apply_displacement(zero, images=images, labels=labels, image_interpolation=interpolation)
    for before, after in zip(images + labels, out.images + out.labels, strict=True):
        assert before.dtype == after.dtype and before.tobytes() == after.tobytes()
    assert out.valid.all() and out.flow is zero


def test_3d_flow_order_is_x_y_z() -> None:
    volume = np.zeros((5, 6, 7), np.uint8)
    volume[3, 2, 1] = 200  # z = 3, y = 2, x = 1
    displacement = np.zeros((5, 6, 7, 3), np.float32)
    displacement[..., 0], displacement[..., 1], displacement[..., 2] = 1.0, -1.0, 2.0
    out = apply_displacement(displacement, images=[volume], labels=[volume], border="constant")
    # output voxel p shows input p + (1, -1, 2): the bright voxel appears at (x 0, y 3, z 1)
    assert out.images[0][1, 3, 0] == 200 and out.labels[0][1, 3, 0] == 200
    assert out.images[0].sum() == 200 and out.labels[0].sum() == 200
    assert out.valid.sum() == 3 * 5 * 6 and not out.valid[3:, :, :].any()


def test_channels_and_several_maps_at_once() -> None:
    rng = np.random.default_rng(1)
    displacement = _field((24, 28))
    images = [rng.integers(0, 255, (24, 28, c), dtype=np.uint8) for c in (1, 3, 4, 7)]
    out = apply_displacement(displacement, images=images, labels=[images[0][..., 0]] * 2)
    assert [im.shape for im in out.images] == [im.shape for im in images]
    for c in range(7):  # every channel resampled like a single-channel image
        single = apply_displacement(displacement, images=[images[3][..., c]]).images[0]
        np.testing.assert_array_equal(out.images[3][..., c], single)
    np.testing.assert_array_equal(out.labels[0], out.labels[1])


def test_bad_inputs_raise_clear_errors() -> None:
    displacement = _field((10, 12))
    with pytest.raises(ValueError, match="float32"):
        apply_displacement(displacement.astype(np.float64))
    with pytest.raises(ValueError, match=r"images\[0\] must be"):
        apply_displacement(displacement, images=[np.zeros((12, 10), np.uint8)])
    with pytest.raises(ValueError, match=r"labels\[0\] must be"):
        apply_displacement(displacement, labels=[np.zeros((10, 13), np.uint8)])
    with pytest.raises(ValueError, match="integer or bool dtype"):
        apply_displacement(displacement, labels=[np.zeros((10, 12), np.float32)])
    with pytest.raises(ValueError, match="dtype must be one of"):
        apply_displacement(displacement, images=[np.zeros((10, 12), np.int64)])
    with pytest.raises(ValueError, match="border"):
        apply_displacement(displacement, border="wrap")  # type: ignore[arg-type]


@pytest.mark.parametrize("sigma", [0.3, 4.0, 40.0])
def test_banded_remap_matches_one_full_remap(sigma: float) -> None:
    """Images taller than one band (``planar.BAND_PIXELS``) give what one cv2.remap gives."""
    rng = np.random.default_rng(2)
    shape = (420, 200)  # 84,000 pixels: two bands
    image = rng.integers(0, 256, (*shape, 1), dtype=np.uint8)
    rgb = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)  # remapped as RGBA band by band
    label = _many_labels(shape, np.int32, 500)
    displacement = _field(shape, sigma=sigma)
    out = apply_displacement(
        displacement, images=[image, rgb], labels=[label], border="constant", fill=9.0
    )
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    maps = np.stack([x + displacement[..., 0], y + displacement[..., 1]], axis=-1)
    constant = {"borderMode": cv2.BORDER_CONSTANT, "borderValue": (9,) * 4}
    for warped, source in zip(out.images, (image, rgb), strict=True):
        expected = cv2.remap(source, maps, None, cv2.INTER_LINEAR, **constant)  # type: ignore[call-overload]
        np.testing.assert_array_equal(warped, expected.reshape(source.shape))
    nearest = cv2.remap(label, maps, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)  # type: ignore[call-overload]
    np.testing.assert_array_equal(out.labels[0], nearest)
    np.testing.assert_array_equal(out.valid, ~moved_out_of_frame(displacement))


@pytest.mark.parametrize("rotate", [False, True])
def test_grid_field_applied_band_by_band_matches_the_full_field(rotate: bool) -> None:
    shape = (300, 260)  # 78,000 pixels: two bands
    rng = np.random.default_rng(4)
    values = sample_grid_nodes(shape, grid=(4, 3), sigma=9.0, rng=rng)
    matrix = sample_affine(rotation=25.0, scale=(0.8, 1.2), flip=True, rng=rng) if rotate else None
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    label = _many_labels(shape, np.uint16, 600)
    fused = apply_grid_displacement(values, shape, matrix=matrix, images=[image], labels=[label])
    field = interpolate_grid(values, shape)
    if matrix is not None:
        field = compose_affine(field, matrix)
    full = apply_displacement(field, images=[image], labels=[label])
    np.testing.assert_allclose(fused.flow, full.flow, atol=1e-3)
    assert np.mean(fused.images[0] != full.images[0]) < 1e-3
    assert np.mean(fused.labels[0] != full.labels[0]) < 1e-3
    np.testing.assert_array_equal(fused.valid, ~moved_out_of_frame(fused.flow))
    again = warp_backward(image, fused.flow)
    inside = (slice(40, -40), slice(40, -40))
    np.testing.assert_array_equal(again[inside], fused.images[0][inside])


def test_grid_nodes_and_interpolation_make_the_grid_field() -> None:
    for shape in ((30, 41), (9, 10, 11)):
        field = sample_grid_displacement(shape, sigma=5.0, rng=np.random.default_rng(1))
        values = sample_grid_nodes(shape, sigma=5.0, rng=np.random.default_rng(1))
        assert field.tobytes() == interpolate_grid(values, shape).tobytes()
    volume = np.arange(9 * 10 * 11, dtype=np.int32).reshape(9, 10, 11)
    out = apply_grid_displacement(values, (9, 10, 11), labels=[volume])
    expected = apply_displacement(interpolate_grid(values, (9, 10, 11)), labels=[volume])
    np.testing.assert_array_equal(out.labels[0], expected.labels[0])


def test_infinite_displacement_is_refused() -> None:
    displacement = _field((10, 12))
    displacement[3, 4, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        apply_displacement(displacement)


@pytest.mark.parametrize("band_rows", [1, 7, 64])
def test_validity_decided_band_by_band_is_exact(
    band_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each band tests only the pixels its own largest displacement can carry out of the image;
    bands whose reach differs (zero at the top, large at the bottom, points landing exactly on
    the -0.5 / W - 0.5 edges) still give the brute-force answer."""
    from flowsynth.deform import planar

    shape = (90, 70)
    monkeypatch.setattr(planar, "BAND_PIXELS", band_rows * shape[1])
    ramp = np.linspace(0.0, 1.0, shape[0], dtype=np.float32)[:, None, None] ** 2
    displacement = np.ascontiguousarray(_field(shape, sigma=12.0, seed=5) * ramp)
    displacement[60, :3] = displacement[70, -3:] = displacement[89, 10:13] = 0.0
    displacement[60, :3, 0] = [-0.5, -1.5001, -1.4999]  # land on -0.5, -0.5001, 0.5001
    displacement[70, -3:, 0] = [2.5001, 1.4999, 0.5]  # 69.5001, 69.4999, 69.5 (edge 69.5)
    displacement[89, 10:13, 1] = [0.5, 0.5001, 0.4999]  # bottom row: on, past, inside
    out = apply_displacement(displacement, labels=[np.zeros(shape, np.uint8)])
    np.testing.assert_array_equal(out.valid, ~moved_out_of_frame(displacement))
    assert out.valid[:10].all() and not out.valid.all()
    assert list(out.valid[60, :3]) == [True, False, True]
    assert list(out.valid[70, -3:]) == [False, True, True]
    assert list(out.valid[89, 10:13]) == [True, False, True]


@pytest.mark.parametrize("route", ["displacement", "grid", "grid no flow", "grid affine no flow"])
def test_validity_is_computed_on_first_read_and_is_exact(
    route: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2D ``valid`` is left out of the resampling and computed when first read, once; it is the
    brute-force mask whichever way the field arrived (array, grid with or without the full
    field kept, grid with an affine part)."""
    from flowsynth.deform import planar

    tested: list[int] = []  # top row of every band whose edges were tested
    band = planar._valid_band
    monkeypatch.setattr(
        planar,
        "_valid_band",
        lambda maps, reach, valid, top, h: tested.append(top) or band(maps, reach, valid, top, h),
    )
    shape = (150, 130)
    rng = np.random.default_rng(8)
    values = sample_grid_nodes(shape, sigma=15.0, rng=rng)
    matrix = sample_affine(rotation=20.0, scale=(0.8, 1.2), rng=rng) if "affine" in route else None
    label = _many_labels(shape, np.uint8, 50)
    field = interpolate_grid(values, shape)
    if matrix is not None:
        field = compose_affine(field, matrix)
    if route == "displacement":
        out = apply_displacement(field, labels=[label])
    else:
        keep = "no flow" not in route
        out = apply_grid_displacement(
            values, shape, matrix=matrix, labels=[label], return_flow=keep
        )
    assert not tested and "valid" not in vars(out)  # not computed by the resampling
    valid = out.valid
    assert out.valid is valid and tested == [0]  # computed once (one band), then kept
    np.testing.assert_array_equal(valid, ~moved_out_of_frame(field))
    assert not valid.all()  # the field reaches outside: the test exercises the edges
    # With an ignore label the resampling needs the mask, and marks exactly its complement.
    marked = apply_grid_displacement(values, shape, matrix=matrix, labels=[label], ignore_label=77)
    np.testing.assert_array_equal(marked.valid, valid)
    np.testing.assert_array_equal(marked.labels[0] == 77, ~valid)
