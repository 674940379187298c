"""Scene flow from the layered renderer: stereo at t and t + 1, each view's flow and disparity
change, each exact and consistent with the others."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.base.conventions import warp_backward
from flowsynth.base.rng import sample_rng
from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.load import load_flow_recipe
from flowsynth.recipe.schema import FlowRecipe, Stereo
from flowsynth.render.layers import render_sample
from flowsynth.render.sample import Sample
from flowsynth.render.stereo import (
    SceneFlowSample,
    render_scene_flow,
    render_scene_flow_sample,
    render_stereo_sample,
    scene_flow_plan,
)
from flowsynth.scene.disparity import sample_disparity_planes
from flowsynth.scene.plan import ScenePlan
from tests.render.helpers import cubic_at, interior_pixels, reference_step

#: A fifth of the default scene: 77 x 102 views, motions and disparities scaled alike.
SMALL = ["scale=0.2", "objects.count=[3,6]"]
RIGID = ("deformation.objects.probability=0", "deformation.background.probability=0")
RECIPES = {
    "fronto": ("stereo/sceneflow", RIGID),
    "slanted": ("stereo/sceneflow", (*RIGID, "stereo.slant=0.2", "objects.count=[2,4]")),
    "deformed": ("stereo/sceneflow", ("deformation.objects.probability=1",)),
}


def _recipe(name: str, *extra: str) -> FlowRecipe:
    path, more = RECIPES[name]
    return load_flow_recipe(path, [*SMALL, *more, *extra])


def _render(recipe: FlowRecipe, index: int) -> tuple[ScenePlan, SceneFlowSample]:
    plan = scene_flow_plan(recipe, 0, index)
    return plan, render_scene_flow(plan, recipe.render)


def _pair(**fields: np.ndarray) -> Sample:
    """A pair sample of ``fields``, every pixel valid and no motion boundary."""
    ones = np.ones(fields["occlusion"].shape, bool)
    return Sample(
        **fields,
        valid=ones,
        valid_backward=ones,
        motion_boundary=~ones,
        motion_boundary_backward=~ones,
    )


def _as_pair(sample: SceneFlowSample, *, later: bool) -> Sample:
    """The stereo pair at ``t`` (``later``: ``t + 1``) as a pair sample: flow ``(-d, 0)``."""
    stereo = sample.stereo(later=later)
    zero = np.zeros_like(stereo.disp_left)
    return _pair(
        image1=stereo.left,
        image2=stereo.right,
        flow=np.stack([-stereo.disp_left, zero], axis=-1),
        flow_backward=np.stack([stereo.disp_right, zero], axis=-1),
        occlusion=stereo.occ_left,
        occlusion_backward=stereo.occ_right,
        segmentation1=stereo.seg_left,
        segmentation2=stereo.seg_right,
    )


def _flow_pair(sample: SceneFlowSample, view: str) -> Sample:
    """The ``view``'s (``"left"``, ``"right"``) pair ``t -> t + 1``."""
    return _pair(
        image1=getattr(sample, view),
        image2=getattr(sample, f"{view}_next"),
        flow=getattr(sample, f"flow_{view}"),
        flow_backward=getattr(sample, f"flow_{view}_backward"),
        occlusion=getattr(sample, f"occ_flow_{view}"),
        occlusion_backward=getattr(sample, f"occ_flow_{view}_backward"),
        segmentation1=getattr(sample, f"seg_{view}"),
        segmentation2=getattr(sample, f"seg_{view}_next"),
    )


def _warp_ratio(pair: Sample) -> float:
    """Mean error of frame 2 warped back by the flow over the error of no warp, on interior
    pixels."""
    _, _, mask = interior_pixels(pair)
    assert mask.sum() > 200, "too few interior pixels to judge"
    first = pair.image1.astype(float)
    warped = warp_backward(pair.image2, pair.flow).astype(float)
    warp = np.abs(warped - first)[mask].mean()
    still = np.abs(pair.image2.astype(float) - first)[mask].mean()
    assert warp < 3.0, warp
    return float(warp / max(still, 1e-9))


@pytest.mark.parametrize("name", RECIPES)
def test_every_flow_and_disparity_warps_its_image_onto_the_other(name: str) -> None:
    recipe = _recipe(name)
    ratios: dict[str, list[float]] = {
        "flow_left": [],
        "flow_right": [],
        "stereo": [],
        "stereo_next": [],
    }
    for index in range(3):
        _, sample = _render(recipe, index)
        ratios["flow_left"].append(_warp_ratio(_flow_pair(sample, "left")))
        ratios["flow_right"].append(_warp_ratio(_flow_pair(sample, "right")))
        ratios["stereo"].append(_warp_ratio(_as_pair(sample, later=False)))
        ratios["stereo_next"].append(_warp_ratio(_as_pair(sample, later=True)))
    for key, values in ratios.items():
        assert np.mean(values) < 0.2, (key, values)


@pytest.mark.parametrize("name", ["fronto", "slanted"])
def test_left_right_disparities_agree_at_both_times(name: str) -> None:
    recipe = _recipe(name)
    worst = 0.0
    for index in range(3):
        _, sample = _render(recipe, index)
        for later in (False, True):
            pair = _as_pair(sample, later=later)
            ys, xs, _ = interior_pixels(pair, reach=3)
            stereo = sample.stereo(later=later)
            x_right = xs - stereo.disp_left[ys, xs].astype(np.float64)
            there = cubic_at(stereo.disp_right[..., None].astype(np.float64), x_right, ys * 1.0)
            worst = max(worst, float(np.abs(stereo.disp_left[ys, xs] - there[:, 0]).max()))
    assert worst <= 0.01, worst


@pytest.mark.parametrize("name", RECIPES)
@pytest.mark.parametrize("view", ["left", "right"])
def test_disparity_change_is_the_disparity_at_t_plus_1_along_the_flow(name: str, view: str) -> None:
    recipe = _recipe(name)
    worst, changed = 0.0, 0
    for index in range(3):
        _, sample = _render(recipe, index)
        flow, change = getattr(sample, f"flow_{view}"), getattr(sample, f"disp_change_{view}")
        ys, xs, _ = interior_pixels(_flow_pair(sample, view), reach=3)
        x2 = xs + flow[ys, xs, 0].astype(np.float64)
        y2 = ys + flow[ys, xs, 1].astype(np.float64)
        next_disparity = getattr(sample, f"disp_{view}_next")[..., None].astype(np.float64)
        later = cubic_at(next_disparity, x2, y2)[:, 0]
        now = getattr(sample, f"disp_{view}")[ys, xs]
        worst = max(worst, float(np.abs(later - now - change[ys, xs].astype(np.float64)).max()))
        changed += int((np.abs(change[ys, xs]) > 0.5).sum())
    assert worst <= 0.01, worst
    assert changed > 100  # the disparities do change


@pytest.mark.parametrize("name", RECIPES)
def test_occlusion_and_segmentation_match_brute_force_at_both_times(name: str) -> None:
    recipe = _recipe(name)
    # Deformed outlines are polylines within 0.005 px of the true curve, pulled back through
    # two maps: a pixel centre that close to a deformed edge may fall on either side.
    tolerance = 2 if name == "deformed" else 0
    # Plan images: 1 left at t, 2 left at t + 1, 3 right at t, 4 right at t + 1.
    for index in range(2):
        plan, sample = _render(recipe, index)
        cases = {
            (1, 2): (sample.occ_flow_left, sample.seg_left),
            (2, 1): (sample.occ_flow_left_backward, sample.seg_left_next),
            (3, 4): (sample.occ_flow_right, sample.seg_right),
            (4, 3): (sample.occ_flow_right_backward, sample.seg_right_next),
            (1, 3): (sample.occ_left, sample.seg_left),
            (3, 1): (sample.occ_right, sample.seg_right),
            (2, 4): (sample.occ_left_next, sample.seg_left_next),
            (4, 2): (sample.occ_right_next, sample.seg_right_next),
        }
        for (here, there), (occlusion, segmentation) in cases.items():
            occluded, owner = reference_step(plan, here, there)
            assert (segmentation != owner).sum() <= tolerance, (here, there)
            assert (occlusion != occluded).sum() <= tolerance, (here, there)


@pytest.mark.parametrize("name", RECIPES)
def test_disparities_are_nonnegative_within_range_and_the_change_within_its_range(
    name: str,
) -> None:
    recipe = _recipe(name)
    high = 96.0 * 0.2
    for index in range(3):
        _, sample = _render(recipe, index)
        for disparity in (
            sample.disp_left,
            sample.disp_right,
            sample.disp_left_next,
            sample.disp_right_next,
        ):
            assert disparity.dtype == np.float32 and disparity.shape == (77, 102)
            assert disparity.min() >= 0.0 and disparity.max() <= high + 1e-3
        if name != "slanted":  # fronto-parallel: the change is each layer's, within its range
            for change in (sample.disp_change_left, sample.disp_change_right):
                assert np.abs(change).max() <= 4.0 * 0.2 + 1e-3


@pytest.mark.parametrize("slant", [0.0, 0.3])
def test_planes_keep_the_depth_order_at_both_times(slant: float) -> None:
    cfg = Stereo(
        enabled=True,
        disparity=(0.0, 40.0),
        slant=slant,
        scene_flow=True,
        disparity_change=(-30.0, 30.0),
    )
    height, width = 50, 70
    ys, xs = np.mgrid[-0.5 : height - 0.5 : 6j, -0.5 : width - 0.5 + 40.0 : 9j]
    moved = 0
    for index in range(20):
        planes = sample_disparity_planes(cfg, 8, height, width, rng=sample_rng(0, index, 7))
        for time in ("now", "next"):
            values = [getattr(p, time).at(xs, ys) for p in planes]
            for back, front in zip(values, values[1:], strict=False):
                assert (front >= back - 1e-9).all()  # equal at most at a band edge
            # Within the range up to rounding at the region's corners.
            assert min(v.min() for v in values) >= -1e-9
            assert max(v.max() for v in values) <= 40.0 + 1e-9
        moved += sum(p.next is not None and p.next.offset != p.now.offset for p in planes)
    assert moved > 100


def test_still_scene_flow_is_the_stereo_sample_twice() -> None:
    still = ["motion.still_probability=1", "stereo.disparity_change=[0,0]"]
    recipe = _recipe("slanted", *still)
    stereo_recipe = _recipe("slanted", *still, "stereo.scene_flow=false")
    for index in range(2):
        sample = render_scene_flow_sample(recipe, 0, index)
        stereo = render_stereo_sample(stereo_recipe, 0, index).as_dict()
        for later in (False, True):
            for key, value in sample.stereo(later=later).as_dict().items():
                if later and key.startswith("disp"):  # from the neighbour step's maps
                    assert np.allclose(value, stereo[key], rtol=0, atol=1e-4), key
                else:
                    assert np.array_equal(value, stereo[key]), (later, key)
        assert not sample.flow_left.any() and not sample.disp_change_left.any()
        # The right view's come from the neighbour step's float64 maps: zero up to rounding.
        assert np.abs(sample.flow_right).max() < 1e-4
        assert np.abs(sample.disp_change_right).max() < 1e-4


def test_same_seed_and_index_give_the_same_bytes() -> None:
    recipe = _recipe("deformed")
    a, b = render_scene_flow_sample(recipe, 3, 5), render_scene_flow_sample(recipe, 3, 5)
    other = render_scene_flow_sample(recipe, 3, 6)
    for key, value in a.as_dict().items():
        assert np.array_equal(value, b.as_dict()[key]), key
    assert not np.array_equal(a.left, other.left)


@pytest.mark.parametrize(
    ("recipe", "override", "key"),
    [
        ("stereo/default", "stereo.disparity_change=[-2,2]", r"disparity_change"),
        ("stereo/sceneflow", "stereo.disparity_change=[2,-2]", r"disparity_change"),
        ("stereo/sceneflow", "stereo.disparity_change=[0,100000]", r"disparity_change"),
        ("stereo/sceneflow", "frames=3", r"frames"),
        ("default", "stereo.scene_flow=true", r"stereo\.scene_flow"),
        ("stereo/default", "motion.still_probability=0.5", r"stereo\.scene_flow"),
    ],
)
def test_bad_scene_flow_keys_are_refused_by_name(recipe: str, override: str, key: str) -> None:
    with pytest.raises(RecipeError, match=key):
        load_flow_recipe(recipe, [*SMALL, override])


def test_each_path_refuses_the_other_kind_of_recipe() -> None:
    with pytest.raises(RecipeError, match=r"stereo\.scene_flow"):
        render_stereo_sample(_recipe("fronto"), 0, 0)
    with pytest.raises(RecipeError, match=r"stereo\.scene_flow"):
        render_scene_flow_sample(load_flow_recipe("stereo/default", SMALL), 0, 0)
    with pytest.raises(RecipeError, match=r"stereo\.enabled"):
        render_sample(_recipe("fronto"), 0, 0)
