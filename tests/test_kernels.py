"""The compiled kernels against direct references (shapely geometry, numpy arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from flowsynth import kernels
from flowsynth.render import raster
from flowsynth.render.layers import CHORD_TOLERANCE, _land, _map
from flowsynth.render.raster import Roi
from flowsynth.scene.shapes import rings as geometry_rings
from flowsynth.scene.transform import Deformation, LayerMotion, Shear, affine_about


def _shape(seed: int) -> shapely.Geometry:
    """A random star polygon with an elliptic hole: two rings, wound opposite ways."""
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 14))
    radii = rng.uniform(6, 15, 14)
    centre = rng.uniform(15, 25, 2)
    outer = np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1) + centre
    hole = shapely.Point(*centre).buffer(3.3, quad_segs=6)
    return shapely.Polygon(outer).buffer(0).difference(hole)


@pytest.mark.parametrize("seed", range(6))
def test_inside_is_the_exact_pixel_centre_test(seed: int) -> None:
    shape = _shape(seed)
    roi = Roi(3, 2, 37, 41)
    x, y = np.meshgrid(np.arange(3, 40), np.arange(2, 43))
    expected = shapely.contains_xy(shape, x.astype(float), y.astype(float))
    np.testing.assert_array_equal(raster.inside(geometry_rings(shape), roi), expected)


def _covered_share(shape: shapely.Geometry, roi: Roi, sub: int) -> np.ndarray:
    """Mean over ``sub`` sub-rows per pixel of the covered share of the pixel's width."""
    share = np.zeros((roi.height, roi.width))
    for row in range(roi.height):
        for s in range(sub):
            y = roi.y0 + row - 0.5 + (s + 0.5) / sub
            line = shapely.LineString([(roi.x0 - 0.5, y), (roi.x0 + roi.width - 0.5, y)])
            for column in range(roi.width):
                left = roi.x0 + column - 0.5
                cell = shapely.box(left, y - 1e-9, left + 1, y + 1e-9)
                share[row, column] += shape.intersection(line).intersection(cell).length
    return share / sub


@pytest.mark.parametrize(("seed", "sub"), [(0, 1), (1, 4), (2, 5)])
def test_coverage_is_the_exact_share_along_each_sub_row(seed: int, sub: int) -> None:
    shape = _shape(seed)
    roi = Roi(4, 5, 34, 30)
    expected = _covered_share(shape, roi, sub)
    np.testing.assert_allclose(
        raster.coverage(geometry_rings(shape), roi, sub), expected, atol=1e-5
    )


def _motion(deformed: bool) -> LayerMotion:
    deformation = Deformation(
        centre=(20.0, 18.0),
        shears=(
            Shear(0, (2.0, 0.7), (0.09, 0.21), (0.3, 1.1)),
            Shear(1, (1.5,), (0.13,), (2.0,)),
            Shear(0, (0.8,), (0.05,), (-0.4,)),
        ),
    )
    affine = affine_about((20.0, 18.0), 12.0, 1.07, (3.5, -2.25))
    return LayerMotion(affine, deformation if deformed else None)


@pytest.mark.parametrize("deformed", [False, True])
def test_mapped_rings_match_the_numpy_grid_map_and_invert(deformed: bool) -> None:
    motion = _motion(deformed)
    rings = raster.pack(geometry_rings(_shape(3)))
    mapped = _map(motion, rings)
    # Subdivision (deformed motions only): each ring keeps its vertices, and no piece is longer
    # than the motion's edge bound.
    max_edge = motion.deformation.max_edge(CHORD_TOLERANCE) if motion.deformation else 0.0
    sub = raster.Rings(*kernels.subdivide(*rings, max_edge)) if deformed else rings
    assert len(mapped.points) == len(sub.points) and list(mapped.ends) == list(sub.ends)
    if deformed:
        within = np.setdiff1d(np.arange(len(sub.points) - 1), sub.ends - 1)  # not across rings
        pieces = np.diff(sub.points, axis=0)[within]
        assert np.hypot(*pieces.T).max() <= max_edge + 1e-12
        assert len(sub.points) > 2 * len(rings.points)
    # The same map as the float32 grid path, and the inverse undoes it.
    x = sub.points[:, 0].astype(np.float32)[None, :]
    y = sub.points[:, 1].astype(np.float32)[None, :]
    grid_x, grid_y = motion.forward_grid(x, y)
    np.testing.assert_allclose(mapped.points, np.stack([grid_x[0], grid_y[0]], 1), atol=2e-3)
    back = motion.inverse(mapped.points)
    np.testing.assert_allclose(back, sub.points, atol=1e-9)


def test_sin32_is_the_sine_in_float32() -> None:
    x = np.concatenate([np.linspace(-700, 700, 200_001), [0.0, np.pi / 2, -np.pi, 1e-30]])
    x = x.astype(np.float32)
    values = np.array([kernels.sin32(v) for v in x[::3]])
    assert np.abs(values - np.sin(x[::3].astype(np.float64))).max() < 2e-7
    assert kernels.sin32(np.float32(0.0)) == 0.0


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("deformed", [False, True])
def test_grid_kernel_is_the_layer_map_and_its_landing(deformed: bool, backward: bool) -> None:
    """``kernels.grid`` (one compiled pass, polynomial sines) against the numpy grid map
    (``np.sin``), and where its positions land."""
    motion = _motion(deformed)
    roi = Roi(-3, 4, 45, 38)  # partly left of the frame
    owned = np.random.default_rng(4).random((38, 45)) > 0.3
    reach, (x, y), outside = _land(motion, roi, owned, 40, 36, backward=backward)
    grid = motion.inverse_grid if backward else motion.forward_grid
    expected_x, expected_y = grid(*roi.grid())
    np.testing.assert_allclose(x, expected_x, rtol=0, atol=2e-5)
    np.testing.assert_allclose(y, expected_y, rtol=0, atol=2e-5)
    assert reach == (x[owned].min(), y[owned].min(), x[owned].max(), y[owned].max())
    np.testing.assert_array_equal(outside, (x < -0.5) | (x > 35.5) | (y < -0.5) | (y > 39.5))
    assert outside.any() and not outside.all()
    if not deformed:  # the same float32 arithmetic, in the same order
        np.testing.assert_array_equal(x, expected_x)
        np.testing.assert_array_equal(y, expected_y)


def test_grid_kernel_lands_on_the_frame_edges_inside() -> None:
    """Positions on ``-0.5`` and ``size - 0.5`` are in the frame; bounds are over owned pixels."""
    motion = LayerMotion(np.array([[1.0, 0.0, -0.5], [0.0, 1.0, 0.5]]))
    roi = Roi(0, 0, 12, 10)
    owned = np.zeros((10, 12), bool)
    owned[2:4, 5:7] = True
    reach, (x, y), outside = _land(motion, roi, owned, 11, 11, backward=False)
    assert x[0, 0] == -0.5 and y[-1, 0] == 9.5
    np.testing.assert_array_equal(outside, np.broadcast_to(np.arange(12) > 11, (10, 12)))
    assert reach == (4.5, 2.5, 5.5, 3.5)
    assert _land(motion, roi, np.zeros_like(owned), 11, 11, backward=False)[0] is None
    assert _land(motion, roi, None, 11, 11, backward=False)[0] == (-0.5, 0.5, 10.5, 9.5)


@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("with_owner", [False, True])
def test_paint_blends_and_writes_ground_truth_where_owned(
    with_alpha: bool, with_owner: bool
) -> None:
    rng = np.random.default_rng(1)
    height, width, rows, cols = 9, 11, slice(2, 7), slice(3, 9)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    source = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)  # the ROI's colour starts at (2, 1)
    colour = source[1:6, 2:8]
    alpha = rng.random((5, 6), dtype=np.float32)
    alpha[0, :2] = [0.0, 1.0]
    owned = rng.random((5, 6)) > 0.5
    x = rng.uniform(0, 20, (5, 6)).astype(np.float32)
    y = rng.uniform(0, 20, (5, 6)).astype(np.float32)
    occluded = rng.random((5, 6)) > 0.5
    flow = np.full((height, width, 2), 7.0, np.float32)
    occlusion = np.zeros((height, width), bool)
    segmentation = np.zeros((height, width), np.uint16)
    before = image.copy()
    kernels.paint(
        image, source, 2, 1, alpha, with_alpha, owned, with_owner, x, y, occluded,
        flow, occlusion, segmentation, 4, 3, 2, 5, 6,
    )  # fmt: skip
    if with_alpha:
        a = alpha[..., None]
        blended = colour.astype(np.float32) * a + before[rows, cols].astype(np.float32) * (1 - a)
        expected = np.floor(blended + np.float32(0.5)).astype(np.uint8)
        np.testing.assert_array_equal(image[2, 3], before[2, 3])  # alpha 0: unchanged
        np.testing.assert_array_equal(image[2, 4], colour[0, 1])  # alpha 1: the colour
    else:
        expected = colour
    np.testing.assert_array_equal(image[rows, cols], expected)
    outside_roi = np.ones((height, width), bool)
    outside_roi[rows, cols] = False
    np.testing.assert_array_equal(image[outside_roi], before[outside_roi])
    where = owned if with_owner else np.ones_like(owned)
    centre_x, centre_y = np.meshgrid(
        *(np.arange(a, b, dtype=np.float32) for a, b in ((3, 9), (2, 7)))
    )
    np.testing.assert_array_equal(flow[rows, cols, 0][where], (x - centre_x)[where])
    np.testing.assert_array_equal(flow[rows, cols, 1][where], (y - centre_y)[where])
    assert (flow[rows, cols][~where] == 7.0).all() and (flow[outside_roi] == 7.0).all()
    np.testing.assert_array_equal(occlusion[rows, cols], occluded & where)
    np.testing.assert_array_equal(segmentation[rows, cols], np.where(where, 4, 0))


def test_motion_boundaries_mark_both_pixels_of_every_jump() -> None:
    from flowsynth.render.sample import motion_boundaries

    rng = np.random.default_rng(2)
    flow = rng.normal(0, 0.1, (13, 17, 2)).astype(np.float32)
    flow[0, :2] = [[0, 0], [0.6, 0.8]]  # a jump of ~1: on the threshold
    flow[4:9, 6:12] += np.float32(3.0)  # a moving block
    u, v = flow[..., 0], flow[..., 1]
    limit = np.float32(1.0)
    jump_x = np.square(u[:, 1:] - u[:, :-1]) + np.square(v[:, 1:] - v[:, :-1]) > limit
    jump_y = np.square(u[1:] - u[:-1]) + np.square(v[1:] - v[:-1]) > limit
    expected = np.zeros((13, 17), bool)
    expected[:, 1:] |= jump_x
    expected[:, :-1] |= jump_x
    expected[1:] |= jump_y
    expected[:-1] |= jump_y
    found = motion_boundaries(flow, 1.0)
    np.testing.assert_array_equal(found, expected)
    assert found[4, 6] and found[3, 6] and found[4, 5] and not found[6, 8]  # edges, not inside
    assert not motion_boundaries(np.zeros((3, 4, 2), np.float32), 0.0).any()
