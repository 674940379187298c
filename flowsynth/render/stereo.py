"""Rectified stereo pairs with exact disparity, from the layered renderer unchanged.

A stereo recipe's plan moves every layer by its disparity plane (``scene.disparity``):
``x' = x - d(x, y)``, ``y' = y``. Rendering it (``render.layers.render``) gives the left view
as frame 1, the right view as frame 2, flow ``(-d_left, 0)``, backward flow ``(+d_right, 0)``,
occlusion both ways and the segmentation of both views, all exact.

Scene flow (``stereo.scene_flow``): the plan has four images (``scene.disparity``): the left
view at ``t`` (frame 1), the left view at ``t + 1``, the right view at ``t`` and the right view
at ``t + 1``. Three pair renders from the left view at ``t`` give the three other images with
the left view's flow, the stereo pair at ``t`` and the flow into the right view at ``t + 1``;
the stereo pair at ``t + 1`` and the right view's flow follow from the neighbour step of
sequences (``render.sequence``), and each view's disparity change from three flows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.schema import FlowRecipe, Render
from flowsynth.render.layers import render
from flowsynth.render.sample import Sample
from flowsynth.render.sequence import _maps, _outlines, _step
from flowsynth.scene.plan import ScenePlan, scene_for_index
from flowsynth.scene.textures import Image


@dataclass(frozen=True, eq=False)
class StereoSample:
    """One rendered rectified stereo pair. Shapes for views of height ``H`` and width ``W``.

    Convention: FlyingThings3D's (``conventions``): left pixel ``(x, y)`` is seen at
    ``(x - disp_left, y)`` in the right view; right pixel ``(x, y)`` at ``(x + disp_right, y)``
    in the left view. Disparities are >= 0.

    Attributes
    ----------
    left, right : uint8 (H, W, 3)
        The views, RGB, anti-aliased.
    disp_left, disp_right : float32 (H, W)
        Disparity of each view's pixels, >= 0.
    occ_left, occ_right : bool (H, W)
        True where the pixel is not visible in the other view (covered or out of it).
    seg_left, seg_right : uint16 (H, W)
        Layer owning each pixel centre: 0 background, 1.. objects back to front (far to near).
    """

    left: npt.NDArray[np.uint8]
    right: npt.NDArray[np.uint8]
    disp_left: npt.NDArray[np.float32]
    disp_right: npt.NDArray[np.float32]
    occ_left: npt.NDArray[np.bool_]
    occ_right: npt.NDArray[np.bool_]
    seg_left: npt.NDArray[np.uint16]
    seg_right: npt.NDArray[np.uint16]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def stereo_from_pair(sample: Sample) -> StereoSample:
    """The stereo fields of a rendered stereo plan's pair (frame 1 left, frame 2 right).

    Disparities are the flows' x parts, sign per the convention; the float32 rounding of the
    renderer's maps (below 1e-3 px) is kept from making a zero disparity negative.
    """
    return StereoSample(
        left=sample.image1,
        right=sample.image2,
        disp_left=np.maximum(-sample.flow[..., 0], np.float32(0.0)),
        disp_right=np.maximum(sample.flow_backward[..., 0], np.float32(0.0)),
        occ_left=sample.occlusion,
        occ_right=sample.occlusion_backward,
        seg_left=sample.segmentation1,
        seg_right=sample.segmentation2,
    )


def check_stereo_recipe(recipe: FlowRecipe, *, scene_flow: bool = False) -> None:
    """``RecipeError`` naming the key for a recipe that does not describe stereo pairs (with
    ``scene_flow``: scene flow, stereo at ``t`` and ``t + 1``)."""
    if not recipe.stereo.enabled:
        raise RecipeError(
            "stereo.enabled: this recipe describes flow pairs, and this path renders stereo"
            " pairs; use a stereo recipe (recipes/stereo) or give --set stereo.enabled=true"
            " with motion.still_probability=1 and no deformation"
        )
    if recipe.stereo.scene_flow and not scene_flow:
        raise RecipeError(
            "stereo.scene_flow: this recipe describes scene flow (stereo at t and t + 1), and"
            " this path renders stereo pairs; render it with"
            " flowsynth.render.stereo.render_scene_flow_sample, or give"
            " --set stereo.scene_flow=false"
        )
    if scene_flow and not recipe.stereo.scene_flow:
        raise RecipeError(
            "stereo.scene_flow: this recipe describes stereo pairs at one time, and this path"
            " renders scene flow; use a scene-flow recipe (recipes/stereo/sceneflow.yaml) or"
            " give --set stereo.scene_flow=true"
        )


def stereo_plan(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> ScenePlan:
    """The plan of stereo sample ``index``: a pure function of ``(recipe, seed, index)``."""
    check_stereo_recipe(recipe)
    return scene_for_index(recipe, seed, index, texture_images=texture_images)


def render_stereo_sample(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> StereoSample:
    """Stereo sample ``index`` of the stereo recipe ``recipe`` with ``seed``, rendered."""
    plan = stereo_plan(recipe, seed, index, texture_images=texture_images)
    return stereo_from_pair(render(plan, recipe.render))


@dataclass(frozen=True, eq=False)
class SceneFlowSample:
    """Rectified stereo at ``t`` and ``t + 1`` with each view's flow and disparity change:
    FlyingThings3D's scene-flow set. Shapes for views of height ``H`` and width ``W``;
    conventions as :class:`StereoSample`'s and ``render.sample.Sample``'s.

    Attributes
    ----------
    left, right, left_next, right_next : uint8 (H, W, 3)
        The views at ``t`` and at ``t + 1``.
    disp_left, disp_right, disp_left_next, disp_right_next : float32 (H, W)
        Each view's disparity, >= 0 (``x_right = x_left - d``).
    disp_change_left, disp_change_right : float32 (H, W)
        Each view at ``t``: the disparity at ``t + 1`` of the point a pixel shows, less its
        disparity at ``t`` (> 0: it comes nearer; FlyingThings3D's ``into_future``).
    flow_left, flow_left_backward, flow_right, flow_right_backward : float32 (H, W, 2)
        Each view's flow, ``t -> t + 1`` and ``t + 1 -> t``.
    occ_flow_left, occ_flow_left_backward, occ_flow_right, occ_flow_right_backward : bool (H, W)
        Not visible in the same view at the other time.
    occ_left, occ_right, occ_left_next, occ_right_next : bool (H, W)
        Not visible in the other view at the same time.
    seg_left, seg_right, seg_left_next, seg_right_next : uint16 (H, W)
        Layer owning each pixel centre: 0 background, 1.. objects back to front.
    """

    left: npt.NDArray[np.uint8]
    right: npt.NDArray[np.uint8]
    left_next: npt.NDArray[np.uint8]
    right_next: npt.NDArray[np.uint8]
    disp_left: npt.NDArray[np.float32]
    disp_right: npt.NDArray[np.float32]
    disp_left_next: npt.NDArray[np.float32]
    disp_right_next: npt.NDArray[np.float32]
    disp_change_left: npt.NDArray[np.float32]
    disp_change_right: npt.NDArray[np.float32]
    flow_left: npt.NDArray[np.float32]
    flow_left_backward: npt.NDArray[np.float32]
    flow_right: npt.NDArray[np.float32]
    flow_right_backward: npt.NDArray[np.float32]
    occ_flow_left: npt.NDArray[np.bool_]
    occ_flow_left_backward: npt.NDArray[np.bool_]
    occ_flow_right: npt.NDArray[np.bool_]
    occ_flow_right_backward: npt.NDArray[np.bool_]
    occ_left: npt.NDArray[np.bool_]
    occ_right: npt.NDArray[np.bool_]
    occ_left_next: npt.NDArray[np.bool_]
    occ_right_next: npt.NDArray[np.bool_]
    seg_left: npt.NDArray[np.uint16]
    seg_right: npt.NDArray[np.uint16]
    seg_left_next: npt.NDArray[np.uint16]
    seg_right_next: npt.NDArray[np.uint16]

    def stereo(self, *, later: bool = False) -> StereoSample:
        """The stereo pair at ``t`` (``later``: at ``t + 1``)."""
        tail = "_next" if later else ""
        return StereoSample(**{f.name: getattr(self, f.name + tail) for f in fields(StereoSample)})

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _disparity(flow_x: npt.NDArray[np.float32], sign: float) -> npt.NDArray[np.float32]:
    """A view's disparity from the x part of its flow into the other view (see
    :func:`stereo_from_pair`)."""
    return np.maximum(np.float32(sign) * flow_x, np.float32(0.0))


def _change(
    *terms: tuple[float, npt.NDArray[np.float32]],
) -> npt.NDArray[np.float32]:
    """``sum(sign * flow[..., 0])`` over ``(sign, flow)`` terms, in float64, as float32."""
    total = np.zeros(terms[0][1].shape[:2])
    for sign, flow in terms:
        total += sign * flow[..., 0].astype(np.float64)
    return total.astype(np.float32)


def render_scene_flow(plan: ScenePlan, cfg: Render | None = None) -> SceneFlowSample:
    """Render a scene-flow plan (:func:`scene_flow_plan`). Draws no random numbers.

    With the maps from the left view at ``t`` into the left view at ``t + 1`` (``M``), the
    right view at ``t`` (``S``) and at ``t + 1`` (``S' M``), the disparity change of a left
    pixel ``x`` is ``d_(t+1)(M x) - d_t(x) = (M x - S' M x) - (x - S x)`` along x, and that of
    the right pixel ``r = S x`` the same, ``(M x - r) - (S' M x - r) - (x - r)``: sums of the x
    parts of flows from the view at ``t`` (the pair renders' from the left view, the neighbour
    steps' from the right view), in float64.
    """
    left = render(plan.at_frame(2), cfg)
    stereo = render(plan.at_frame(3), cfg)
    now = stereo_from_pair(stereo)
    later = render(plan.at_frame(4), cfg)
    maps = _maps(plan)
    outlines = _outlines(plan, maps)
    seg_right, seg_left_next, seg_right_next = (
        stereo.segmentation2,
        left.segmentation2,
        later.segmentation2,
    )
    into_right, occ_left_next = _step(maps[1], maps[3], seg_left_next, outlines[3])
    into_left, occ_right_next = _step(maps[3], maps[1], seg_right_next, outlines[1])
    flow_right, occ_flow_right = _step(maps[2], maps[3], seg_right, outlines[3])
    flow_right_backward, occ_flow_right_backward = _step(
        maps[3], maps[2], seg_right_next, outlines[2]
    )
    right_into_left_next, _ = _step(maps[2], maps[1], seg_right, outlines[1])
    return SceneFlowSample(
        left=left.image1,
        right=now.right,
        left_next=left.image2,
        right_next=later.image2,
        disp_left=now.disp_left,
        disp_right=now.disp_right,
        disp_left_next=_disparity(into_right[..., 0], -1.0),
        disp_right_next=_disparity(into_left[..., 0], 1.0),
        disp_change_left=_change((1.0, left.flow), (-1.0, later.flow), (1.0, stereo.flow)),
        disp_change_right=_change(
            (1.0, right_into_left_next), (-1.0, flow_right), (-1.0, stereo.flow_backward)
        ),
        flow_left=left.flow,
        flow_left_backward=left.flow_backward,
        flow_right=flow_right,
        flow_right_backward=flow_right_backward,
        occ_flow_left=left.occlusion,
        occ_flow_left_backward=left.occlusion_backward,
        occ_flow_right=occ_flow_right,
        occ_flow_right_backward=occ_flow_right_backward,
        occ_left=now.occ_left,
        occ_right=now.occ_right,
        occ_left_next=occ_left_next,
        occ_right_next=occ_right_next,
        seg_left=left.segmentation1,
        seg_right=seg_right,
        seg_left_next=seg_left_next,
        seg_right_next=seg_right_next,
    )


def scene_flow_plan(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> ScenePlan:
    """The plan of scene-flow sample ``index``: a pure function of ``(recipe, seed, index)``."""
    check_stereo_recipe(recipe, scene_flow=True)
    return scene_for_index(recipe, seed, index, texture_images=texture_images)


def render_scene_flow_sample(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> SceneFlowSample:
    """Scene-flow sample ``index`` of the scene-flow recipe ``recipe`` with ``seed``, rendered."""
    plan = scene_flow_plan(recipe, seed, index, texture_images=texture_images)
    return render_scene_flow(plan, recipe.render)
