"""The compiled kernels against direct references (shapely geometry, numpy arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from flowsynth.render import kernels, raster
from flowsynth.render.layers import CHORD_TOLERANCE, _map
from flowsynth.render.raster import Roi
from flowsynth.scene import kernels as scene_kernels
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
    sub = raster.Rings(*scene_kernels.subdivide(*rings, max_edge)) if deformed else rings
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
    # The numpy map (np.sin) to float32 sine precision; the compiled inverse undoes it.
    np.testing.assert_allclose(mapped.points, motion.forward(sub.points), rtol=0, atol=1e-6)
    back = scene_kernels.map_points(mapped.points, motion.kernel_args(inverse=True))
    np.testing.assert_allclose(back, sub.points, rtol=0, atol=1e-9)
    np.testing.assert_allclose(motion.inverse(mapped.points), sub.points, rtol=0, atol=1e-6)


def test_sin32_is_the_sine_in_float32() -> None:
    x = np.concatenate([np.linspace(-700, 700, 200_001), [0.0, np.pi / 2, -np.pi, 1e-30]])
    x = x.astype(np.float32)
    values = np.array([scene_kernels.sin32(v) for v in x[::3]])
    assert np.abs(values - np.sin(x[::3].astype(np.float64))).max() < 2e-7
    assert scene_kernels.sin32(np.float32(0.0)) == 0.0


def _bilinear(texture: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """float64 bilinear values of ``texture`` at ``x``, ``y``, edges replicated."""
    fx, fy = np.floor(x), np.floor(y)
    wx, wy = (x - fx)[..., None], (y - fy)[..., None]
    c0, r0 = fx.astype(int), fy.astype(int)
    c1, r1 = (
        np.clip(c, 0, n - 1) for c, n in ((c0 + 1, texture.shape[1]), (r0 + 1, texture.shape[0]))
    )
    c0, r0 = np.clip(c0, 0, texture.shape[1] - 1), np.clip(r0, 0, texture.shape[0] - 1)
    t = texture.astype(np.float64)
    upper = t[r0, c0] * (1 - wx) + t[r0, c1] * wx
    lower = t[r1, c0] * (1 - wx) + t[r1, c1] * wx
    return upper * (1 - wy) + lower * wy


class _Frame:
    """A frame's arrays for ``kernels.composite``, filled with marker values."""

    def __init__(self, height: int, width: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        self.flow = np.full((height, width, 2), 7.0, np.float32)
        self.occlusion = np.zeros((height, width), bool)
        self.segmentation = np.zeros((height, width), np.uint16)

    def draw(
        self,
        motion: LayerMotion,
        roi: Roi,
        texture: np.ndarray,
        origin: tuple[int, int],
        *,
        alpha: np.ndarray | None = None,
        owned: np.ndarray | None = None,
        covered: np.ndarray | None = None,
        spans: np.ndarray | None = None,
        backward: bool = False,
    ) -> None:
        none = np.zeros((1, 1), bool)
        if spans is None:  # every column of every row
            spans = np.tile(np.array([0, roi.width], np.int64), (roi.height, 1))
        kernels.composite(
            self.image, self.flow, self.occlusion, self.segmentation, 4,
            roi.x0, roi.y0, roi.height, roi.width, texture, *origin,
            np.zeros((1, 1), np.float32) if alpha is None else alpha, alpha is not None,
            none if owned is None else owned, owned is not None,
            np.zeros((roi.height, roi.width), bool) if covered is None else covered,
            spans,
            motion.kernel_args(inverse=backward),
        )  # fmt: skip


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("deformed", [False, True])
def test_composite_maps_pixels_as_the_layer_motion(deformed: bool, backward: bool) -> None:
    """Flow, occlusion and colour of ``kernels.composite`` (one compiled pass, polynomial sines)
    against the numpy grid map (``np.sin``), the frame's edges and OpenCV's bilinear remap."""
    motion = _motion(deformed)
    roi = Roi(0, 4, 36, 30)
    frame = _Frame(40, 36)
    texture = np.random.default_rng(5).integers(0, 256, (48, 44, 3), dtype=np.uint8)
    covered = np.random.default_rng(6).random((30, 36)) > 0.7
    # (backward: some positions fall off the texture's left and top edges)
    origin = (2, 6) if backward else (-4, 2)
    frame.draw(motion, roi, texture, origin, covered=covered, backward=backward)
    grid = motion.inverse_grid if backward else motion.forward_grid
    x, y = grid(*roi.grid())
    rows, cols = roi.slices
    centre_x, centre_y = roi.grid()
    flow = frame.flow[rows, cols]
    np.testing.assert_allclose(flow[..., 0], x - centre_x, rtol=0, atol=2e-5)
    np.testing.assert_allclose(flow[..., 1], y - centre_y, rtol=0, atol=2e-5)
    if not deformed:  # the same float32 arithmetic, in the same order
        np.testing.assert_array_equal(flow[..., 0], x - centre_x)
    u, v = flow[..., 0] + centre_x, flow[..., 1] + centre_y
    outside = (u < -0.5) | (u > 35.5) | (v < -0.5) | (v > 39.5)
    assert outside.any() and not outside.all()
    np.testing.assert_array_equal(frame.occlusion[rows, cols], covered | outside)
    assert (frame.segmentation[rows, cols] == 4).all()
    assert (frame.segmentation[:4] == 0).all() and (frame.flow[:4] == 7.0).all()
    if backward:  # bilinear at the positions in the texture, edges replicated
        expected = np.floor(_bilinear(texture, u - 2, v - 6) + 0.5)
        assert (u - 2 < 0).any() and (v - 6 < 0).any()
        assert np.abs(frame.image[rows, cols] - expected).max() <= 1  # float32 rounding
    else:  # the texture as it is, pixel (0, 0) at the origin
        np.testing.assert_array_equal(frame.image[rows, cols], texture[2:32, 4:40])


def test_composite_lands_on_the_frame_edges_inside() -> None:
    """A position exactly on the edge ``-0.5`` is in the frame, one just past ``size - 0.5`` out."""
    motion = LayerMotion(np.array([[1.0, 0.0, -0.5], [0.0, 1.0, 0.5001]]))
    frame = _Frame(10, 10)
    frame.draw(motion, Roi(0, 0, 10, 10), np.zeros((10, 10, 3), np.uint8), (0, 0))
    assert frame.flow[0, 0, 0] == -0.5  # column 0 lands on the left edge
    assert 9 + frame.flow[9, 0, 1] > 9.5 and 8 + frame.flow[8, 0, 1] < 9.5
    np.testing.assert_array_equal(frame.occlusion, np.arange(10)[:, None] == np.full((1, 10), 9))


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("with_owner", [False, True])
def test_composite_blends_and_writes_ground_truth_where_owned(
    with_alpha: bool, with_owner: bool, backward: bool
) -> None:
    rng = np.random.default_rng(1)
    frame = _Frame(9, 11, seed=2)
    rows, cols, roi = slice(2, 7), slice(3, 9), Roi(3, 2, 6, 5)
    texture = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    alpha = rng.random((5, 6), dtype=np.float32)
    alpha[0, :2] = [0.0, 1.0]
    owned = rng.random((5, 6)) > 0.5
    covered = rng.random((5, 6)) > 0.5
    motion = LayerMotion(affine_about((5.0, 4.0), 0.0, 1.0, (1.25, -0.5)))
    before = frame.image.copy()
    frame.draw(
        motion,
        roi,
        texture,
        (1, 1),
        alpha=alpha if with_alpha else None,
        owned=owned if with_owner else None,
        covered=covered,
        backward=backward,
    )
    if backward:  # frame 1 at (q - (1.25, -0.5)): bilinear between two texture columns
        x, y = np.meshgrid(np.arange(3, 9), np.arange(2, 7))
        colour = np.floor(_bilinear(texture, x - 1.25 - 1, y + 0.5 - 1) + 0.5)
    else:
        colour = texture[1:6, 2:8]
    if with_alpha:
        a = alpha[..., None]
        blended = colour.astype(np.float32) * a + before[rows, cols].astype(np.float32) * (1 - a)
        expected = np.floor(blended + np.float32(0.5)).astype(np.uint8)
        np.testing.assert_array_equal(frame.image[2, 3], before[2, 3])  # alpha 0: unchanged
        assert np.abs(frame.image[2, 4].astype(int) - colour[0, 1]).max() <= backward  # alpha 1
    else:
        expected = colour
    assert np.abs(frame.image[rows, cols].astype(int) - expected).max() <= backward
    outside_roi = np.ones((9, 11), bool)
    outside_roi[rows, cols] = False
    np.testing.assert_array_equal(frame.image[outside_roi], before[outside_roi])
    where = owned if with_owner else np.ones_like(owned)
    shift = (-1.25, 0.5) if backward else (1.25, -0.5)
    np.testing.assert_array_equal(frame.flow[rows, cols, 0][where], np.float32(shift[0]))
    np.testing.assert_array_equal(frame.flow[rows, cols, 1][where], np.float32(shift[1]))
    assert (frame.flow[rows, cols][~where] == 7.0).all() and (frame.flow[outside_roi] == 7.0).all()
    np.testing.assert_array_equal(frame.occlusion[rows, cols], covered & where)
    np.testing.assert_array_equal(frame.segmentation[rows, cols], np.where(where, 4, 0))


@pytest.mark.parametrize("backward", [False, True])
def test_composite_draws_only_within_the_row_spans(backward: bool) -> None:
    """Within its span a row is drawn as without spans; outside, nothing is touched."""
    motion = _motion(deformed=True)
    roi = Roi(2, 3, 20, 6)
    texture = np.random.default_rng(3).integers(0, 256, (16, 30, 3), dtype=np.uint8)
    rng = np.random.default_rng(4)
    alpha = rng.choice([0.0, 0.5, 1.0], size=(6, 20)).astype(np.float32)
    owned, covered = rng.random((6, 20)) < 0.7, rng.random((6, 20)) < 0.5
    spans = np.array([[0, 0], [0, 20], [5, 12], [19, 20], [0, 1], [7, 8]], np.int64)
    whole, part = _Frame(12, 26), _Frame(12, 26)
    for frame, given in ((whole, None), (part, spans)):
        frame.draw(
            motion, roi, texture, (0, 0), alpha=alpha, owned=owned, covered=covered, spans=given,
            backward=backward,
        )  # fmt: skip
    drawn = np.zeros((12, 26), bool)
    for i, (start, stop) in enumerate(spans):
        drawn[roi.y0 + i, roi.x0 + start : roi.x0 + stop] = True
    for name in ("image", "flow", "occlusion", "segmentation"):
        a, b, fresh = getattr(part, name), getattr(whole, name), getattr(_Frame(12, 26), name)
        np.testing.assert_array_equal(a[drawn], b[drawn], err_msg=name)
        np.testing.assert_array_equal(a[~drawn], fresh[~drawn], err_msg=name)
    assert part.occlusion[drawn].any() and not part.occlusion[drawn].all()


@pytest.mark.parametrize(("seed", "sub"), [(0, 4), (1, 1), (2, 5)])
def test_footprint_is_unhidden_coverage_and_inside(seed: int, sub: int) -> None:
    """The fused pass gives what the three kernels give one after another, masks included."""
    rng = np.random.default_rng(seed)
    packed = raster.pack(geometry_rings(_shape(seed)))
    opaque, claimed = rng.random((48, 50)) < 0.3, rng.random((48, 50)) < 0.3
    opaque[:, 30:], claimed[:, 30:] = True, True  # the right of the shape is hidden
    roi = Roi(2, 3, 40, 38)
    expected_masks = opaque.copy(), claimed.copy()
    expected = kernels.unhidden(
        *expected_masks, roi.x0, roi.y0, roi.height, roi.width,
        raster.coverage(packed, roi, sub), raster.inside(packed, roi), False,
    )  # fmt: skip
    found = kernels.footprint(*packed, roi.x0, roi.y0, roi.height, roi.width, sub, opaque, claimed)
    assert found[0][0] + found[0][2] <= 30 and found[1].any()
    for a, b in zip(found, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(opaque, expected_masks[0])
    np.testing.assert_array_equal(claimed, expected_masks[1])


@pytest.mark.parametrize("deformed", [False, True])
def test_occluded_pulls_back_the_outlines_of_the_layers_it_takes(deformed: bool) -> None:
    """Layers from ``first`` on whose bounds meet ``reach`` (all of them with ``anywhere``),
    subdivided, moved and rasterised: the kernels one after another on their rings."""
    shapes = [_shape(seed) for seed in (4, 5, 6)]
    shapes[2] = shapely.affinity.translate(shapes[2], 60.0, 0.0)  # far right
    parts = [raster.pack(geometry_rings(shape)) for shape in shapes]
    layers = [parts[0], None, parts[1], parts[2]]  # layer 1: no outline (like a background)
    rings = raster.concat(parts)
    layer_rings = np.array([0, 2, 2, 4, 6], np.int64)
    bounds = np.array([(0.0,) * 4 if p is None else p.bounds() for p in layers])
    motion = _motion(deformed)
    max_edge = motion.deformation.max_edge(CHORD_TOLERANCE) if motion.deformation else 0.0
    roi = Roi(-4, 0, 110, 44)

    def expected(taken: list[raster.Rings]) -> np.ndarray:
        return raster.inside(_map(motion, raster.concat(taken), inverse=True), roi)

    def found(first: int, reach: tuple[float, ...], anywhere: bool) -> np.ndarray:
        return kernels.occluded(
            *rings, layer_rings, bounds, first, reach, anywhere, max_edge,
            roi.x0, roi.y0, roi.height, roi.width, motion.kernel_args(inverse=True),
        )  # fmt: skip

    near = (0.0, 0.0, 45.0, 45.0)  # meets the first two shapes only
    assert found(0, near, False).any()
    np.testing.assert_array_equal(found(0, near, False), expected([parts[0], parts[1]]))
    np.testing.assert_array_equal(found(1, near, False), expected([parts[1]]))
    np.testing.assert_array_equal(found(1, near, True), expected([parts[1], parts[2]]))
    assert (found(1, near, True) & ~found(1, near, False)).any()  # the far shape, taken
    assert not found(3, near, False).any() and not found(4, near, True).any()


def test_bounds_are_numpys_min_and_max_of_the_points() -> None:
    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 1000):
        points = rng.normal(0, 50, (n, 2))
        low, high = points.min(axis=0), points.max(axis=0)
        assert scene_kernels.bounds(points) == (low[0], low[1], high[0], high[1])
    columns = rng.normal(0, 5, (9, 4))[:, 1:3]  # a strided view, as callers may pass
    assert scene_kernels.bounds(columns) == (*columns.min(axis=0), *columns.max(axis=0))
    assert raster.pack([columns.copy()]).bounds() == scene_kernels.bounds(columns)
    with pytest.raises(ValueError, match="no points"):
        scene_kernels.bounds(np.empty((0, 2)))


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


def _unhidden_reference(opaque, claimed, roi, alpha, owned):
    """numpy: the layer's alpha where nothing in front covers fully, ownership where nothing in
    front owns, cropped to the box of what is left; then the layer added to the masks."""
    rows, columns = roi.slices
    if alpha is None:
        alpha, owned = (
            np.ones((roi.height, roi.width), np.float32),
            np.ones_like(opaque[rows, columns]),
        )
    left_alpha = np.where(opaque[rows, columns], np.float32(0), alpha)
    left_owned = owned & ~claimed[rows, columns]
    opaque[rows, columns] |= alpha >= 1
    claimed[rows, columns] |= owned
    where = np.nonzero((left_alpha > 0) | left_owned)
    if not len(where[0]):
        return None
    (top, bottom), (first, last) = (
        (where[0].min(), where[0].max()),
        (where[1].min(), where[1].max()),
    )
    box = (roi.x0 + first, roi.y0 + top, last - first + 1, bottom - top + 1)
    crop = slice(top, bottom + 1), slice(first, last + 1)
    spans = np.zeros((bottom - top + 1, 2), np.int64)
    for i, row in enumerate(((left_alpha > 0) | left_owned)[crop]):
        if row.any():
            spans[i] = np.flatnonzero(row)[[0, -1]] + [0, 1]
    return box, left_alpha[crop], left_owned[crop], spans


@pytest.mark.parametrize("whole", [False, True])
def test_unhidden_keeps_what_the_front_layers_leave(whole: bool) -> None:
    rng = np.random.default_rng(7)
    opaque, claimed = rng.random((30, 40)) < 0.5, rng.random((30, 40)) < 0.5
    opaque[20:, :], claimed[20:, :] = True, True  # a part hidden entirely: the box shrinks
    roi = Roi(5, 3, 31, 24)
    alpha = rng.choice([0.0, 0.3, 1.0], size=(24, 31)).astype(np.float32)
    owned = rng.random((24, 31)) < 0.6
    given = (None, None) if whole else (alpha, owned)
    expected_masks = opaque.copy(), claimed.copy()
    expected = _unhidden_reference(*expected_masks, roi, *given)
    box, left_alpha, left_owned, spans = kernels.unhidden(
        opaque,
        claimed,
        roi.x0,
        roi.y0,
        roi.height,
        roi.width,
        np.zeros((1, 1), np.float32) if whole else alpha,
        np.zeros((1, 1), bool) if whole else owned,
        whole,
    )
    assert expected is not None and tuple(box) == expected[0]
    assert box[1] + box[3] <= 23  # rows 20.. are hidden by the front layers
    np.testing.assert_array_equal(left_alpha, expected[1])
    np.testing.assert_array_equal(left_owned, expected[2])
    np.testing.assert_array_equal(spans, expected[3])
    if not whole:  # rows narrower than the box: their spans save the drawing pass work
        assert (spans[:, 1] - spans[:, 0]).min() < box[2]
    np.testing.assert_array_equal(opaque, expected_masks[0])
    np.testing.assert_array_equal(claimed, expected_masks[1])
    # Everything hidden: nothing is left, and the box says so.
    box, left_alpha, _, spans = kernels.unhidden(
        np.ones((30, 40), bool),
        np.ones((30, 40), bool),
        roi.x0,
        roi.y0,
        roi.height,
        roi.width,
        alpha,
        owned,
        False,
    )
    assert box[2] == 0 and left_alpha.size == 0 and spans.size == 0


@pytest.mark.parametrize("backward", [False, True])
def test_truth_is_the_ground_truth_that_composite_writes(backward: bool) -> None:
    """The same flow, occlusion and segmentation as ``composite`` with an owner mask, within the
    row spans; the image untouched."""
    motion = _motion(deformed=True)
    roi = Roi(2, 3, 20, 6)
    texture = np.random.default_rng(3).integers(0, 256, (16, 30, 3), dtype=np.uint8)
    rng = np.random.default_rng(7)
    owned, covered = rng.random((6, 20)) < 0.7, rng.random((6, 20)) < 0.5
    spans = np.array([[0, 0], [0, 20], [5, 12], [19, 20], [0, 1], [7, 8]], np.int64)
    drawn, alone = _Frame(12, 26), _Frame(12, 26)
    drawn.draw(
        motion, roi, texture, (0, 0), owned=owned, covered=covered, spans=spans, backward=backward
    )
    kernels.truth(
        alone.flow, alone.occlusion, alone.segmentation, 4, roi.x0, roi.y0, roi.height, roi.width,
        owned, covered, spans, motion.kernel_args(inverse=backward),
    )  # fmt: skip
    for name in ("flow", "occlusion", "segmentation"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(drawn, name), err_msg=name)
    assert (alone.segmentation == 4).any()
    np.testing.assert_array_equal(alone.image, _Frame(12, 26).image)


@pytest.mark.parametrize("backward", [False, True])
def test_coloured_is_the_colour_and_segmentation_that_composite_writes(backward: bool) -> None:
    """The same image and segmentation as ``composite`` with alpha and an owner mask, within
    the row spans; flow and occlusion untouched."""
    motion = _motion(deformed=True)
    roi = Roi(2, 3, 20, 6)
    texture = np.random.default_rng(3).integers(0, 256, (16, 30, 3), dtype=np.uint8)
    rng = np.random.default_rng(10)
    alpha = rng.choice([0.0, 0.5, 1.0], size=(6, 20)).astype(np.float32)
    owned = rng.random((6, 20)) < 0.7
    spans = np.array([[0, 0], [0, 20], [5, 12], [19, 20], [0, 1], [7, 8]], np.int64)
    drawn, alone = _Frame(12, 26), _Frame(12, 26)
    drawn.draw(
        motion, roi, texture, (0, 0), alpha=alpha, owned=owned, spans=spans, backward=backward
    )
    kernels.coloured(
        alone.image, alone.segmentation, 4, roi.x0, roi.y0, roi.height, roi.width, texture, 0, 0,
        alpha, owned, spans, motion.kernel_args(inverse=backward),
    )  # fmt: skip
    for name in ("image", "segmentation"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(drawn, name), err_msg=name)
    assert (alone.segmentation == 4).any() and (alone.image != _Frame(12, 26).image).any()
    assert (alone.flow == 7.0).all() and not alone.occlusion.any()


def test_boxes_hold_each_labels_pixels() -> None:
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 3, (23, 31)).astype(np.uint16)
    labels[labels == 2] = 0
    labels[4:9, 20:26] = 2  # label 2: one block
    labels[11, 3] = 5  # beyond count: ignored
    found = kernels.boxes(labels, 4)
    np.testing.assert_array_equal(found[2], [20, 4, 6, 5])
    np.testing.assert_array_equal(found[3], [0, 0, 0, 0])  # none
    for label in (0, 1):
        ys, xs = np.nonzero(labels == label)
        box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        np.testing.assert_array_equal(found[label], box)


@pytest.mark.parametrize("deformed", [False, True])
def test_carried_maps_each_pixel_twice_and_pulls_the_front_layers_back(deformed: bool) -> None:
    """Flow ``there(here^-1(q)) - q`` of the layer's pixels as ``map_points`` gives it twice;
    occlusion where it leaves the frame or where the front outlines that ``occluded`` takes,
    pulled back by ``there^-1`` then ``here`` (``_map``), hold the pixel centre; nothing written
    elsewhere."""
    shapes = [_shape(seed) for seed in (4, 5, 6)]
    shapes[2] = shapely.affinity.translate(shapes[2], 60.0, 0.0)  # far right
    parts = [raster.pack(geometry_rings(shape)) for shape in shapes]
    layers = [parts[0], None, parts[1], parts[2]]
    rings = raster.concat(parts)
    layer_rings = np.array([0, 2, 2, 4, 6], np.int64)
    bounds = np.array([(0.0,) * 4 if p is None else p.bounds() for p in layers])
    here, there = _motion(deformed), LayerMotion(affine_about((25.0, 20.0), -7.0, 0.93, (2.0, 1.5)))
    edges = [
        m.deformation.max_edge(CHORD_TOLERANCE) if m.deformation else 0.0 for m in (here, there)
    ]
    height, width = 44, 70
    owner = np.random.default_rng(9).integers(0, 3, (height, width)).astype(np.uint16)
    owner[:, :2] = 0  # the layer (1) within columns 2 .. 69, rows 0 .. 43
    near = (0.0, 0.0, 45.0, 45.0)  # meets the first two shapes only
    flow = np.full((height, width, 2), 7.0, np.float32)
    occlusion = np.zeros((height, width), bool)
    kernels.carried(
        *rings, layer_rings, bounds, near, False, owner, 1, 2, 0, height, width - 2,
        here.kernel_args(inverse=False), here.kernel_args(inverse=True), edges[0],
        there.kernel_args(inverse=False), there.kernel_args(inverse=True), edges[1],
        flow, occlusion,
    )  # fmt: skip
    mine = owner == 1
    ys, xs = np.nonzero(mine)
    points = np.stack([xs, ys], axis=1).astype(np.float64)
    moved = scene_kernels.map_points(
        scene_kernels.map_points(points, here.kernel_args(inverse=True)),
        there.kernel_args(inverse=False),
    )
    np.testing.assert_array_equal(flow[mine], (moved - points).astype(np.float32))
    assert (flow[~mine] == 7.0).all()
    front = raster.concat([parts[1]])  # layers 2 and on that meet ``near``
    pulled = _map(here, _map(there, front, inverse=True))
    covered = raster.inside(pulled, Roi(0, 0, width, height))[mine]
    out = (moved < -0.5).any(axis=1) | (moved[:, 0] > width - 0.5) | (moved[:, 1] > height - 0.5)
    np.testing.assert_array_equal(occlusion[mine], covered | out)
    assert covered.any() and out.any() and not (covered | out).all()
    assert not occlusion[~mine].any()
