"""Rectified stereo pairs with exact disparity, from the layered renderer unchanged.

A stereo recipe's plan moves every layer by its disparity plane (``scene.disparity``):
``x' = x - d(x, y)``, ``y' = y``. Rendering it (``render.layers.render``) gives the left view
as frame 1, the right view as frame 2, flow ``(-d_left, 0)``, backward flow ``(+d_right, 0)``,
occlusion both ways and the segmentation of both views, all exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.layers import render
from flowsynth.render.sample import Sample
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


def check_stereo_recipe(recipe: FlowRecipe) -> None:
    """``RecipeError`` naming ``stereo.enabled`` for a recipe that does not describe stereo."""
    if not recipe.stereo.enabled:
        raise RecipeError(
            "stereo.enabled: this recipe describes flow pairs, and this path renders stereo"
            " pairs; use a stereo recipe (recipes/stereo) or give --set stereo.enabled=true"
            " with motion.still_probability=1 and no deformation"
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
