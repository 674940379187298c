"""The compiled arithmetic of elastic deformation against plain references: the same values (to
the stated rounding) as the library calls they replace, computed in the documented order."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import scipy.ndimage
from scipy.interpolate import CubicSpline

from flowsynth.deform import compose_affine, kernels, sample_affine
from flowsynth.deform.fields import gaussian_smooth, gaussian_weights, spline_weights


def test_exp_is_within_one_ulp_of_the_c_library() -> None:
    xs = np.concatenate(
        [np.linspace(-745.2, 709.78, 300_001), np.linspace(-1.0, 1.0, 10_001), [709.7827128933]]
    )
    ours = np.empty_like(xs)
    kernels.exp_all(xs, ours)
    reference = np.array([math.exp(x) for x in xs.tolist()])
    assert np.all(np.abs(ours - reference) <= np.spacing(reference))
    assert kernels.exp(0.0) == 1.0 and kernels.exp(-np.inf) == 0.0
    assert kernels.exp(1000.0) == np.inf and math.isnan(kernels.exp(np.nan))


@pytest.mark.parametrize(("length", "nodes"), [(9, 3), (512, 3), (100, 7), (1000, 33), (7, 2)])
def test_spline_weights_are_the_natural_cubic_spline(length: int, nodes: int) -> None:
    weights = spline_weights(length, nodes)
    positions = np.linspace(0.0, length - 1.0, nodes)
    reference = CubicSpline(positions, np.eye(nodes), bc_type="natural")(
        np.arange(length, dtype=float)
    )
    np.testing.assert_allclose(weights, reference, rtol=0, atol=2.4e-7)  # float32 rounding
    on_nodes = np.round(positions).astype(int)
    exact = positions == on_nodes
    np.testing.assert_array_equal(weights[on_nodes[exact]], np.eye(nodes, dtype=np.float32)[exact])


def test_spline_weights_on_one_pixel_per_node_are_the_identity() -> None:
    np.testing.assert_array_equal(spline_weights(6, 6), np.eye(6, dtype=np.float32))
    np.testing.assert_array_equal(spline_weights(1, 4), [[1.0, 0.0, 0.0, 0.0]])


def test_expand_sums_float32_products_in_order() -> None:
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((11, 4)).astype(np.float32)
    field = rng.standard_normal((3, 4, 10)).astype(np.float32)
    out = np.empty((3, 11, 10), np.float32)
    kernels.expand(weights, field, out)
    for b in range(3):
        expected = np.float32(0.0) + weights[:, :1] * field[b, :1]
        for k in range(1, 4):
            expected += weights[:, k : k + 1] * field[b, k : k + 1]
        assert out[b].tobytes() == expected.tobytes()


@pytest.mark.parametrize("ndim", [2, 3])
def test_folding_is_the_affine_map_rounded_once(ndim: int) -> None:
    rng = np.random.default_rng(ndim)
    shape = (6, 7) if ndim == 2 else (4, 5, 6)
    matrix = sample_affine(
        ndim=ndim, rotation=40.0, scale=(0.7, 1.3), shear=15.0, flip=True, rng=rng
    )
    matrix[:ndim, ndim] = rng.uniform(-3, 3, ndim)  # a translation too
    displacement = rng.standard_normal((*shape, ndim)).astype(np.float32)
    folded = compose_affine(displacement, matrix)
    # Output p samples the input at c + M (p + d - c - t), M = A^-1: the fold is that minus p.
    inverse = np.linalg.inv(matrix)
    centre = np.array([(n - 1) / 2 for n in reversed(shape)])
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")[::-1], -1)
    source = (
        centre + (grid + displacement - centre) @ inverse[:ndim, :ndim].T + inverse[:ndim, ndim]
    )
    np.testing.assert_allclose(folded, source - grid, atol=2e-5)
    # Rounded once from float64: the nearest float32 to the exact value but for ties of rounding.
    assert np.mean(folded != (source - grid).astype(np.float32)) < 0.05


def test_compose_refuses_singular_and_non_affine_matrices() -> None:
    field = np.zeros((4, 5, 2), np.float32)
    with pytest.raises(ValueError, match="singular"):
        compose_affine(field, np.diag([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="last row 0 ... 0 1"):
        compose_affine(field, np.array([[1.0, 0, 0], [0, 1, 0], [0.1, 0, 1]]))
    with pytest.raises(ValueError, match="affine 3x3 matrix"):
        compose_affine(field, np.eye(2))


def test_sampled_affine_is_rotation_shear_and_scale() -> None:
    for ndim in (2, 3):
        draws = np.random.default_rng(7).random(5 if ndim == 2 else 10)
        matrix = sample_affine(
            ndim=ndim,
            rotation=30.0,
            scale=(0.8, 1.25),
            shear=10.0,
            flip=True,
            rng=np.random.default_rng(7),
        )
        n = 1 if ndim == 2 else 3
        angles = np.deg2rad(30.0 * (2 * draws[:n] - 1))
        shears = np.tan(np.deg2rad(10.0 * (2 * draws[n : 2 * n] - 1)))
        factor = np.exp(np.log(0.8) + draws[2 * n] * np.log(1.25 / 0.8))
        flips = np.where(draws[2 * n + 1 :] < 0.5, -1.0, 1.0)
        if ndim == 2:
            c, s = np.cos(angles[0]), np.sin(angles[0])
            rotate, shearing = np.array([[c, -s], [s, c]]), np.array([[1.0, shears[0]], [0, 1]])
        else:
            (cx, cy, cz), (sx, sy, sz) = np.cos(angles), np.sin(angles)
            rotate = (
                np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
                @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
                @ np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
            )
            shearing = np.eye(3)
            shearing[0, 1], shearing[0, 2], shearing[1, 2] = shears
        expected = rotate @ shearing @ np.diag(factor * flips)
        np.testing.assert_allclose(matrix[:ndim, :ndim], expected, rtol=0, atol=1e-14)
        np.testing.assert_array_equal(matrix[ndim], np.eye(ndim + 1)[ndim])


def test_gaussian_smoothing_is_opencvs_and_scipys_blur() -> None:
    rng = np.random.default_rng(0)
    noise = rng.random((64, 80, 2), dtype=np.float32) * 2 - 1
    expected = cv2.GaussianBlur(noise, (33, 33), 4.0, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(gaussian_smooth(noise, 4.0), expected, atol=3e-7)
    volume = rng.random((10, 12, 14, 3), dtype=np.float32)
    expected = scipy.ndimage.gaussian_filter(
        volume, (1.5, 1.5, 1.5, 0), mode="reflect", truncate=4.0
    )
    np.testing.assert_allclose(gaussian_smooth(volume, 1.5), expected, atol=3e-7)
    # Lines shorter than the kernel's radius are mirrored again and again, as scipy does.
    tiny = rng.random((3, 5, 2), dtype=np.float32)
    expected = scipy.ndimage.gaussian_filter(tiny, (3.0, 3.0, 0), mode="reflect", truncate=4.0)
    np.testing.assert_allclose(gaussian_smooth(tiny, 3.0), expected, atol=3e-7)
    weights = gaussian_weights(2.5)
    assert weights.shape == (21,) and np.array_equal(weights, weights[::-1])
    before = noise.copy()
    gaussian_smooth(noise, 2.0)
    assert noise.tobytes() == before.tobytes()  # the input is left as it was
