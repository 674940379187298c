"""Displacement fields and affine folding: identities, node placement, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.deform import (
    apply_displacement,
    compose_affine,
    grid_nodes,
    interpolate_grid,
    sample_affine,
    sample_grid_displacement,
    sample_smoothed_displacement,
)
from flowsynth.deform.fields import spline_weights


@pytest.mark.parametrize("shape", [(24, 31), (9, 10, 11)])
def test_zero_strength_is_exactly_zero(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    grid = sample_grid_displacement(shape, sigma=0.0, rng=rng)
    smooth = sample_smoothed_displacement(shape, alpha=0.0, sigma=2.0, rng=rng)
    for field in (grid, smooth):
        assert field.dtype == np.float32
        assert field.shape == (*shape, len(shape))
        assert not np.any(field)
        assert not np.any(np.signbit(field))  # not even -0.0


def test_zero_strength_draws_the_same_numbers() -> None:
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    sample_grid_displacement((20, 20), sigma=0.0, rng=rng_a)
    sample_grid_displacement((20, 20), sigma=10.0, rng=rng_b)
    assert rng_a.random() == rng_b.random()


def test_spline_passes_through_nodes_on_the_edge_pixels() -> None:
    weights = spline_weights(9, 3)  # nodes on pixels 0, 4 and 8
    np.testing.assert_allclose(weights[[0, 4, 8]], np.eye(3), atol=1e-6)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert not weights.flags.writeable
    values = np.arange(3 * 3 * 2, dtype=np.float32).reshape(3, 3, 2)
    field = interpolate_grid(values, (9, 13))  # nodes on columns 0, 6, 12
    np.testing.assert_allclose(field[np.ix_([0, 4, 8], [0, 6, 12])], values, atol=1e-5)


def test_linear_node_values_give_a_linear_field() -> None:
    rows, cols = np.meshgrid(np.arange(4.0), np.arange(5.0), indexing="ij")
    values = np.stack([cols, 2 * rows], axis=-1)  # field = (x / 10, y * 2 / 10) in pixels
    field = interpolate_grid(values, (31, 41))
    y, x = np.mgrid[0:31, 0:41]
    np.testing.assert_allclose(field[..., 0], x / 10.0, atol=1e-4)
    np.testing.assert_allclose(field[..., 1], 2 * y / 10.0, atol=1e-4)


def test_grid_nodes_from_spacing_and_counts() -> None:
    assert grid_nodes((128, 128, 128), spacing=32) == (5, 5, 5)
    assert grid_nodes((512, 512)) == (3, 3)
    assert grid_nodes((512, 256), grid=(4, 2)) == (4, 2)
    assert grid_nodes((10, 10), spacing=100) == (2, 2)
    with pytest.raises(ValueError, match="either grid or spacing"):
        grid_nodes((10, 10), grid=3, spacing=5)
    with pytest.raises(ValueError, match="grid must give"):
        grid_nodes((10, 10), grid=(3, 1))


def test_grid_field_strength_and_determinism() -> None:
    field = sample_grid_displacement((64, 64), sigma=10.0, rng=np.random.default_rng(1))
    again = sample_grid_displacement((64, 64), sigma=10.0, rng=np.random.default_rng(1))
    other = sample_grid_displacement((64, 64), sigma=10.0, rng=np.random.default_rng(2))
    assert field.tobytes() == again.tobytes()
    assert field.tobytes() != other.tobytes()
    assert 1.0 < np.abs(field).max() < 80.0
    field3 = sample_grid_displacement(
        (40, 33, 65), spacing=32, sigma=4.0, rng=np.random.default_rng(3)
    )
    assert field3.shape == (40, 33, 65, 3) and field3.dtype == np.float32


def test_smoothed_field_is_smooth_and_scaled() -> None:
    field = sample_smoothed_displacement(
        (64, 64), alpha=30.0, sigma=4.0, rng=np.random.default_rng(1)
    )
    assert field.dtype == np.float32 and field.shape == (64, 64, 2)
    step = np.abs(np.diff(field, axis=1)).mean()
    assert step < 0.3 * np.abs(field).mean()
    field3 = sample_smoothed_displacement(
        (12, 14, 16), alpha=5.0, sigma=2.0, rng=np.random.default_rng(1)
    )
    assert field3.shape == (12, 14, 16, 3)


def test_default_affine_is_identity_and_compose_is_bit_exact() -> None:
    for ndim in (2, 3):
        matrix = sample_affine(ndim=ndim, rng=np.random.default_rng(0))
        np.testing.assert_array_equal(matrix, np.eye(ndim + 1))
    field = sample_grid_displacement((16, 20), sigma=3.0, rng=np.random.default_rng(0))
    assert compose_affine(field, np.eye(3)).tobytes() == field.tobytes()


def test_affine_draws_do_not_depend_on_the_options() -> None:
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    sample_affine(rng=rng_a)
    sample_affine(rotation=30.0, scale=(0.8, 1.2), shear=10.0, flip=True, rng=rng_b)
    assert rng_a.random() == rng_b.random()


def test_compose_rotation_by_90_degrees_matches_rot90() -> None:
    image = np.arange(7 * 7, dtype=np.uint8).reshape(7, 7)
    quarter = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # x' = -y, y' = x
    displacement = compose_affine(np.zeros((7, 7, 2), np.float32), quarter)
    out = apply_displacement(displacement, images=[image], labels=[image]).images[0]
    # Content rotated so that input (x, y) lands on output (-y, x) about the centre.
    expected = np.rot90(image, k=-1)
    np.testing.assert_array_equal(out, expected)


def test_compose_flip_and_3d_scale() -> None:
    flip = np.diag([-1.0, 1.0, 1.0])
    displacement = compose_affine(np.zeros((4, 6, 2), np.float32), flip)
    image = np.arange(24, dtype=np.uint8).reshape(4, 6)
    out = apply_displacement(displacement, images=[image]).images[0]
    np.testing.assert_array_equal(out, image[:, ::-1])
    zoom = np.diag([2.0, 2.0, 2.0, 1.0])
    field = compose_affine(np.zeros((5, 5, 5, 3), np.float32), zoom)
    # Magnified 2x about the centre voxel 2: output voxel 4 samples input 3, voxel 0 samples 1.
    np.testing.assert_allclose(field[2, 2, [0, 4], 0], [1.0, -1.0])
    np.testing.assert_allclose(field[[0, 4], 2, 2, 2], [1.0, -1.0])
