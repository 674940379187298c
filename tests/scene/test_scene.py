"""Scene sampling: shapes, textures, motions and deformations."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import shapely

from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import SHAPE_KINDS, Deformation, Shapes, Textures
from flowsynth.render.raster import Roi, coverage, inside
from flowsynth.scene.motion import sample_deformation
from flowsynth.scene.patterns import colourise
from flowsynth.scene.plan import _frame_outline, _pulled_back, scene_for_index
from flowsynth.scene.shapes import rings, sample_shape
from flowsynth.scene.textures import TEXTURE_SAMPLERS, sample_texture
from flowsynth.scene.transform import LayerMotion, affine_about, compose


@pytest.mark.parametrize("kind", SHAPE_KINDS)
def test_every_shape_kind_is_a_valid_nonempty_polygon(kind: str) -> None:
    for seed in range(10):
        shape = sample_shape(Shapes(), kind, (100.0, 80.0), rng=np.random.default_rng(seed))
        assert shape.is_valid and not shape.is_empty and shape.area > 1
        assert shape.geom_type in ("Polygon", "MultiPolygon")


def test_thin_kinds_are_thin_and_holes_exist() -> None:
    rng = np.random.default_rng(0)
    needles = [sample_shape(Shapes(), "needle", (0.0, 0.0), rng=rng) for _ in range(10)]
    for needle in needles:
        rect = needle.minimum_rotated_rectangle
        sides = sorted(np.hypot(*np.diff(np.asarray(rect.exterior.coords)[:3], axis=0).T))
        assert sides[0] < 0.2 * sides[1]
    composites = [sample_shape(Shapes(), "composite", (0.0, 0.0), rng=rng) for _ in range(30)]
    assert any(len(rings(c)) > 1 for c in composites)


@pytest.mark.parametrize("kind", list(TEXTURE_SAMPLERS))
def test_texture_regions_equal_crops_of_the_whole(kind: str) -> None:
    cfg = Textures(kinds={kind: 1.0})
    whole = sample_texture(cfg, 150, 170, rng=np.random.default_rng(3))
    part = sample_texture(cfg, 150, 170, rng=np.random.default_rng(3), region=(37, 21, 90, 100))
    assert whole.dtype == np.uint8 and whole.shape == (150, 170, 3)
    assert np.array_equal(whole[21:121, 37:127], part)
    again = sample_texture(cfg, 150, 170, rng=np.random.default_rng(3))
    assert np.array_equal(whole, again)


def test_colour_tables_and_flat_textures_give_the_expected_colours() -> None:
    pattern = np.random.default_rng(0).integers(0, 256, (37, 53), dtype=np.uint8)
    table = np.random.default_rng(1).integers(0, 256, (256, 3), dtype=np.uint8)
    assert np.array_equal(colourise(pattern, table), table[pattern])
    flat = sample_texture(Textures(kinds={"flat": 1.0}), 40, 50, rng=np.random.default_rng(2))
    assert flat.shape == (40, 50, 3) and flat.flags.c_contiguous and flat.flags.writeable
    assert np.array_equal(flat, np.broadcast_to(flat[0, 0], flat.shape))


def test_folder_textures_crop_user_images() -> None:
    image = np.arange(60 * 80 * 3, dtype=np.uint8).reshape(60, 80, 3)
    cfg = Textures(kinds={"folder": 1.0})
    crop = sample_texture(cfg, 30, 40, rng=np.random.default_rng(0), images=[image])
    assert crop.shape == (30, 40, 3)
    with pytest.raises(ValueError, match="folder"):
        sample_texture(cfg, 30, 40, rng=np.random.default_rng(0))


def test_deformation_inverse_is_exact() -> None:
    cfg = Deformation(probability=1.0, amplitude=(0.1, 0.2))
    deformation = sample_deformation(cfg, (50.0, 40.0), 100.0, rng=np.random.default_rng(1))
    assert deformation is not None
    motion = LayerMotion(affine_about((50.0, 40.0), 12.0, 1.1, (3.0, -4.0)), deformation)
    points = np.random.default_rng(2).uniform(-50, 150, (1000, 2))
    moved = motion.forward(points)
    assert np.abs(moved - points).max() > 5
    assert np.abs(motion.inverse(moved) - points).max() < 1e-9
    x = np.arange(0, 60, dtype=np.float32)[None, :]
    y = np.arange(0, 40, dtype=np.float32)[:, None]
    gx, gy = motion.forward_grid(x, y)
    grid_points = np.stack(
        [np.broadcast_to(x, gx.shape).ravel(), np.broadcast_to(y, gx.shape).ravel()], 1
    )
    assert (
        np.abs(
            np.stack([gx.ravel(), gy.ravel()], 1) - motion.forward(grid_points.astype(float))
        ).max()
        < 1e-3
    )


def test_rasteriser_matches_shapely_at_pixel_centres() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        shape = sample_shape(Shapes(polygon_radius=(5.0, 30.0)), "composite", (32.3, 30.7), rng=rng)
        roi = Roi(-2, 3, 70, 60)
        ys, xs = np.mgrid[3:63, -2:68]
        expected = shapely.contains_xy(shape, xs.ravel() + 0.0, ys.ravel() + 0.0).reshape(ys.shape)
        assert np.array_equal(inside(rings(shape), roi), expected)
        cells = shapely.box(xs - 0.5, ys - 0.5, xs + 0.5, ys + 0.5)
        area = shapely.area(shapely.intersection(cells, shape))
        assert np.abs(coverage(rings(shape), roi, 16) - area).max() < 0.05


def test_the_frame_border_pulled_back_matches_the_reference_map() -> None:
    """The compiled pull-back of the frame border agrees with ``LayerMotion.inverse``, with and
    without a deformation, far below the texture margin."""
    outline = _frame_outline(97, 131)
    rng = np.random.default_rng(5)
    recipe = load_recipe("ablation/deformations")
    for index in range(40):
        for layer in scene_for_index(recipe, 1, index).layers:
            motion = layer.motion
            assert np.abs(_pulled_back(motion, outline) - motion.inverse(outline)).max() < 1e-3
    for _ in range(100):
        angle, scale = rng.uniform(-180, 180), rng.uniform(0.5, 2.0)
        centre, shift = rng.uniform(-50, 200, 2), rng.uniform(-300, 300, 2)
        motion = LayerMotion(affine_about(tuple(centre), angle, scale, tuple(shift)))
        assert np.allclose(_pulled_back(motion, outline), motion.inverse(outline), atol=1e-9)


_MOTIONS = """
import numpy as np
from flowsynth.scene.transform import LayerMotion, affine_about, compose
rng = np.random.default_rng(0)
out = []
for _ in range(300):
    a = affine_about(tuple(rng.uniform(-50, 500, 2)), rng.uniform(-30, 30), rng.uniform(0.8, 1.2),
                     tuple(rng.uniform(-120, 120, 2)))
    b = affine_about(tuple(rng.uniform(-50, 500, 2)), rng.uniform(-10, 10), rng.uniform(0.9, 1.1),
                     tuple(rng.uniform(-40, 40, 2)))
    motion = LayerMotion(compose(b, a))
    out.append(motion.affine.tobytes() + motion.inverse_affine.tobytes())
print(b"".join(out).hex())
"""


@pytest.mark.parametrize("core", ["Prescott", "Haswell"])
def test_motions_do_not_depend_on_the_blas_kernel(core: str) -> None:
    """Layer motions are composed and inverted in Python floats: numpy's 2x2 products and
    inverses go through OpenBLAS, whose kernels for other CPUs (forced here) round otherwise."""
    run = [sys.executable, "-c", _MOTIONS]
    here = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    env = {**os.environ, "OPENBLAS_CORETYPE": core}
    there = subprocess.run(run, capture_output=True, text=True, check=True, env=env).stdout
    assert here == there and len(here) > 1000


def test_motion_matrices_compose_and_invert() -> None:
    a = affine_about((30.0, 20.0), 17.0, 1.1, (4.0, -3.0))
    b = affine_about((-5.0, 8.0), -4.0, 0.95, (1.5, 2.0))
    full = lambda m: np.vstack([m, [0.0, 0.0, 1.0]])  # noqa: E731
    assert np.allclose(full(compose(b, a)), full(b) @ full(a), rtol=0, atol=1e-12)
    inverse = LayerMotion(a).inverse_affine
    assert np.allclose(full(inverse) @ full(a), np.eye(3), rtol=0, atol=1e-12)
    turned = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]]) * 1.2
    about = affine_about((7.0, 9.0), np.degrees(0.3), 1.2, (2.0, 0.0))
    assert np.allclose(about[:, :2], turned, atol=1e-12)
    assert np.allclose(about @ [7.0, 9.0, 1.0], [9.0, 9.0], atol=1e-12)  # centre stays, shifted


def test_shape_transforms_are_shapelys_affinity_to_the_bit() -> None:
    from shapely import affinity

    from flowsynth.scene.shapes import _affine, _rotated, _scaled

    shape = sample_shape(Shapes(), "composite", (40.0, 30.0), rng=np.random.default_rng(5))
    pairs = [
        (_scaled(shape, 0.5, 0.5), affinity.scale(shape, 0.5, 0.5)),
        (
            _scaled(shape, 1.0, 0.05, (3.0, 4.0)),
            affinity.scale(shape, 1.0, 0.05, origin=(3.0, 4.0)),
        ),
        (_rotated(shape, 37.0, (3.0, 4.0)), affinity.rotate(shape, 37.0, origin=(3.0, 4.0))),
        (_rotated(shape, 90.0, (0.0, 0.0)), affinity.rotate(shape, 90.0, origin=(0.0, 0.0))),
        (_affine(shape, 1.0, 0.0, 0.0, 1.0, 2.5, -7.0), affinity.translate(shape, 2.5, -7.0)),
    ]
    for ours, theirs in pairs:
        assert shapely.equals_exact(ours, theirs, tolerance=0.0)
        assert np.array_equal(shapely.get_coordinates(ours), shapely.get_coordinates(theirs))
