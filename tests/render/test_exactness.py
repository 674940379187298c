"""The renderer's ground truth is exact: warp tests, consistency, brute-force references."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.base.conventions import moved_out_of_frame, warp_backward
from flowsynth.render import layers, raster
from flowsynth.render.layers import render
from flowsynth.render.raster import Roi
from flowsynth.scene import plan as scene_plan
from flowsynth.scene.plan import scene_for_index
from tests.render.helpers import (
    ABLATION,
    cubic_at,
    interior_pixels,
    reference_occlusion,
    render_index,
    small_recipe,
)

#: ``scale: 0.5`` of a recipe twice the small one's frame: the same 72x96 frames, with every
#: other length (objects, motions, textures) half the small recipe's.
HALF = ("size=[144,192]", "scale=0.5")


def _cases(names: list[str], scaled: list[str]) -> list:
    """``(name, extra overrides)`` cases: each of ``names`` as it is, each of ``scaled`` at
    ``HALF``."""
    return [pytest.param(name, (), id=name) for name in names] + [
        pytest.param(name, HALF, id=f"{name}-scale0.5") for name in scaled
    ]


@pytest.mark.parametrize(("name", "extra"), _cases(ABLATION, ["boxes", "thin", "deformations"]))
def test_warping_frame2_by_flow_reproduces_frame1(name: str, extra: tuple[str, ...]) -> None:
    recipe = small_recipe(name, *extra)
    warp_errors, zero_errors = [], []
    for index in range(3):
        _, sample = render_index(recipe, index)
        ys, xs, mask = interior_pixels(sample)
        assert mask.sum() > 500, "too few interior pixels to judge"
        warped = warp_backward(sample.image2, sample.flow).astype(float)
        image1 = sample.image1.astype(float)
        warp_errors.append(np.abs(warped - image1)[mask].mean())
        zero_errors.append(np.abs(sample.image2.astype(float) - image1)[mask].mean())
    warp_error, zero_error = np.mean(warp_errors), np.mean(zero_errors)
    assert warp_error < 0.2 * zero_error, (warp_error, zero_error)
    assert warp_error < 3.0


@pytest.mark.parametrize(
    ("name", "extra"), _cases(["boxes", "scaling", "deformations"], ["boxes", "deformations"])
)
def test_flat_textures_warp_almost_exactly(name: str, extra: tuple[str, ...]) -> None:
    recipe = small_recipe(name, "textures.kinds={flat: 1}", *extra)
    for index in range(3):
        _, sample = render_index(recipe, index)
        _, _, mask = interior_pixels(sample)
        warped = warp_backward(sample.image2, sample.flow).astype(float)
        error = np.abs(warped - sample.image1.astype(float))[mask]
        assert error.mean() < 0.05 and error.max() <= 1.0


@pytest.mark.parametrize("name", ["polygons_ellipses", "scaling", "thin", "deformations"])
def test_forward_backward_consistency(name: str) -> None:
    recipe = small_recipe(
        name, "deformation.objects.probability=1.0", "deformation.background.probability=1.0"
    )
    checked = 0
    for index in range(3):
        _, sample = render_index(recipe, index)
        ys, xs, _ = interior_pixels(sample, reach=3)
        x2 = xs + sample.flow[ys, xs, 0].astype(np.float64)
        y2 = ys + sample.flow[ys, xs, 1].astype(np.float64)
        backward = cubic_at(sample.flow_backward.astype(np.float64), x2, y2)
        residual = np.linalg.norm(sample.flow[ys, xs] + backward, axis=1)
        assert residual.max() <= 0.01, residual.max()
        checked += len(residual)
    assert checked > 1000


@pytest.mark.parametrize("name", ["boxes", "rotations", "holes", "thin", "deformations"])
@pytest.mark.parametrize("backward", [False, True])
def test_occlusion_and_segmentation_match_brute_force(name: str, backward: bool) -> None:
    recipe = small_recipe(name, "size=[40,56]", "objects.count=[3,5]")
    for index in range(2):
        plan, sample = render_index(recipe, index)
        occluded, owner = reference_occlusion(plan, backward=backward)
        got_occlusion = sample.occlusion_backward if backward else sample.occlusion
        got_owner = sample.segmentation2 if backward else sample.segmentation1
        # Deformed outlines are polylines within 0.005 px of the true curve: a pixel centre
        # closer than that to a deformed edge may fall on either side.
        tolerance = 1 if name == "deformations" else 0
        assert (got_owner != owner).sum() <= tolerance
        assert (got_occlusion != occluded).sum() <= tolerance


def test_zero_motion_gives_zero_flow_and_identical_frames() -> None:
    recipe = small_recipe("deformations", "motion.still_probability=1.0")
    for index in range(3):
        _, sample = render_index(recipe, index)
        assert not sample.flow.any() and not sample.flow_backward.any()
        assert not sample.occlusion.any() and not sample.occlusion_backward.any()
        assert np.array_equal(sample.image1, sample.image2)
        assert np.array_equal(sample.segmentation1, sample.segmentation2)
        assert not sample.motion_boundary.any()


def test_pure_translation_gives_constant_flow_per_layer() -> None:
    recipe = small_recipe("polygons_ellipses")
    _, sample = render_index(recipe, 0)
    for layer in np.unique(sample.segmentation1):
        flow = sample.flow[sample.segmentation1 == layer]
        assert np.ptp(flow, axis=0).max() < 1e-3
    background = small_recipe("boxes", "objects.count=[0,0]")
    _, sample = render_index(background, 1)
    assert np.ptp(sample.flow.reshape(-1, 2), axis=0).max() < 1e-3
    assert np.allclose(sample.flow_backward, -sample.flow, atol=1e-4)


def test_out_of_frame_motion_is_flagged() -> None:
    recipe = small_recipe("scaling", "objects.count=[0,0]")
    for index in range(4):
        _, sample = render_index(recipe, index)
        assert np.array_equal(sample.occlusion, moved_out_of_frame(sample.flow))
        assert np.array_equal(sample.occlusion_backward, moved_out_of_frame(sample.flow_backward))


@pytest.mark.parametrize("name", ["holes", "thin", "deformations"])
def test_skipping_hidden_pixels_changes_no_byte(name: str) -> None:
    """Drawing every layer over its whole footprint, back to front, with every front layer as a
    possible occluder, gives the same bytes as the renderer, which leaves out what the layers in
    front settle and the occluders that cannot meet a layer."""
    recipe = small_recipe(name, "objects.count=[8,12]")
    for index in range(3):
        plan = scene_for_index(recipe, 0, index)
        rendered = render(plan, recipe.render)
        size = plan.height, plan.width
        outlines = [
            None if layer.geometry is None else layers._outline(layer) for layer in plan.layers
        ]
        canvas = layers._Canvas(*size)
        for backward in (False, True):
            for k, (layer, outline) in enumerate(zip(plan.layers, outlines, strict=True)):
                if outline is None:  # the background: the whole frame, fully
                    roi, alpha, owned = Roi(0, 0, size[1], size[0]), None, None
                else:
                    rings = outline.frame2 if backward else outline.frame1
                    bounds = outline.bounds2 if backward else outline.bounds1
                    roi = raster.roi_of_bounds(bounds, *size)
                    if roi.empty:
                        continue
                    alpha = raster.coverage(rings, roi, recipe.render.supersampling)
                    owned = raster.inside(rings, roi)
                # Every front layer's outline in the other frame, pulled back (no culling).
                front = [
                    o.frame1 if backward else o.frame2 for o in outlines[k + 1 :] if o is not None
                ]
                pulled = layers._map(layer.motion, raster.concat(front), inverse=not backward)
                covered = raster.inside(pulled, roi)
                every_column = np.tile(np.array([0, roi.width], np.int64), (roi.height, 1))
                canvas.draw(k, layer, roi, alpha, owned, covered, every_column, backward=backward)
        expected = {
            "image1": canvas.image[0],
            "image2": canvas.image[1],
            "flow": canvas.flow[0],
            "flow_backward": canvas.flow[1],
            "occlusion": canvas.occlusion[0],
            "occlusion_backward": canvas.occlusion[1],
            "segmentation1": canvas.segmentation[0],
            "segmentation2": canvas.segmentation[1],
        }
        for key, value in expected.items():
            assert getattr(rendered, key).tobytes() == value.tobytes(), key


@pytest.mark.parametrize("name", ["rotations", "scaling", "deformations"])
def test_texture_regions_change_no_byte(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer's texture is computed only over the part that either frame can show; textures
    over each layer's whole extent give the same bytes (frame 2 never samples past the region)."""
    recipe = small_recipe(name, "objects.count=[8,12]")
    plans = [scene_for_index(recipe, 2, index) for index in range(4)]

    def whole(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
        x0, y0 = max(a[0], b[0]), max(a[1], b[1])
        seen = min(a[0] + a[2], b[0] + b[2]) > x0 and min(a[1] + a[3], b[1] + b[3]) > y0
        return a if seen else (x0, y0, 0, 0)  # the whole extent wherever a frame sees the layer

    monkeypatch.setattr(scene_plan, "_intersect", whole)
    for index, plan in enumerate(plans):
        wide = scene_for_index(recipe, 2, index)
        assert sum(layer.texture.size for layer in wide.layers) > sum(
            layer.texture.size for layer in plan.layers
        )
        expected, got = render(plan, recipe.render).as_dict(), render(wide, recipe.render).as_dict()
        for key, value in expected.items():
            assert np.array_equal(value, got[key]), key
