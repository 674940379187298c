"""Render a scene plan: composite the layers into two frames and derive exact ground truth.

For every layer ``k`` with shape ``P_k`` and motion ``T_k`` (frame 1 -> frame 2):

- frame 1 shows ``P_k`` with its texture; frame 2 shows ``T_k(P_k)``, textured by sampling the
  texture at ``T_k^-1(q)``. Layers are drawn back to front with anti-aliased coverage; what
  the layers in front settle (full coverage, ownership) is found first, front to back, and not
  computed for the layers behind (``_visible``: the same bytes, less work).
- the layer owning a pixel centre is the front-most whose shape contains the centre (an exact
  point test, ``raster.inside``); the pixel's flow is ``T_k(p) - p`` (backward:
  ``T_k^-1(q) - q``).
- a frame-1 pixel ``p`` owned by ``k`` is occluded when ``T_k(p)`` leaves the frame or lies in
  ``T_j(P_j)`` for a layer ``j`` in front of ``k``. That is tested exactly as
  ``p in T_k^-1(T_j(P_j))``: the occluders' frame-2 outlines are pulled back into frame 1 and
  rasterised at the pixel centres. Backward occlusion is the mirror image.

Outlines of deformed layers are subdivided finely before they are mapped, so that the mapped
polylines follow the curved images of straight edges to well below 0.01 px.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.fields import RecipeError, scaled
from flowsynth.recipe.schema import FlowRecipe, Render
from flowsynth.render import kernels, raster
from flowsynth.render.raster import Rings, Roi
from flowsynth.render.sample import Sample, motion_boundaries
from flowsynth.scene import kernels as scene_kernels
from flowsynth.scene.plan import Layer, ScenePlan, scene_for_index
from flowsynth.scene.shapes import rings as geometry_rings
from flowsynth.scene.textures import Image
from flowsynth.scene.transform import LayerMotion

#: Largest distance (px) between the image of an outline under a deformation and the polyline
#: through its mapped vertices; outlines are subdivided to keep within it.
CHORD_TOLERANCE = 0.005

Bounds = tuple[float, float, float, float]


@dataclass
class _Outline:
    """A layer's outline in frame 1 and in frame 2."""

    frame1: Rings
    frame2: Rings
    bounds1: Bounds
    bounds2: Bounds


def _max_edge(motion: LayerMotion) -> float:
    """Longest edge an outline may keep before it is mapped through ``motion`` (0: any): under a
    deformation mapped straight edges curve, so outlines are subdivided to follow them closely."""
    deformation = motion.deformation
    return 0.0 if deformation is None else deformation.max_edge(CHORD_TOLERANCE)


def _map(motion: LayerMotion, rings: Rings, *, inverse: bool = False) -> Rings:
    """Map rings through a motion, subdividing them first if the motion is not affine."""
    if rings.empty:
        return rings
    points, ends = rings
    max_edge = _max_edge(motion)
    if max_edge > 0:
        points, ends = scene_kernels.subdivide(points, ends, max_edge)
    return Rings(scene_kernels.map_points(points, motion.kernel_args(inverse=inverse)), ends)


def _outline(layer: Layer) -> _Outline:
    assert layer.geometry is not None
    frame1 = raster.pack(geometry_rings(layer.geometry))
    frame2 = _map(layer.motion, frame1)
    return _Outline(frame1, frame2, frame1.bounds(), frame2.bounds())


@dataclass
class _Occluders:
    """Every layer's outline in one frame, packed for ``kernels.occluded``: layer ``l`` owns
    rings ``layer_rings[l] .. layer_rings[l + 1] - 1`` of ``rings`` (none without an outline)
    and lies within ``bounds[l]``."""

    rings: Rings
    layer_rings: npt.NDArray[np.int64]
    bounds: npt.NDArray[np.float64]


def _occluders(outlines: list[_Outline | None], frame: int) -> _Occluders:
    """The outlines of every layer in frame ``frame`` (0 or 1), packed."""
    return _packed(
        [None if o is None else (o.frame2 if frame else o.frame1) for o in outlines],
        [None if o is None else (o.bounds2 if frame else o.bounds1) for o in outlines],
    )


def _packed(rings: list[Rings | None], bounds: list[Bounds | None]) -> _Occluders:
    """Every layer's outline in one frame (None: none), within ``bounds``, packed."""
    counts = [0 if r is None else len(r.ends) for r in rings]
    layer_rings = np.zeros(len(rings) + 1, np.int64)
    np.cumsum(counts, out=layer_rings[1:])
    boxes = np.array([(0.0,) * 4 if b is None else b for b in bounds])
    return _Occluders(raster.concat([r for r in rings if r is not None]), layer_rings, boxes)


def _covered(
    k: int,
    outlines: list[_Outline | None],
    occluders: _Occluders,
    motion: LayerMotion,
    roi: Roi,
    *,
    backward: bool,
) -> npt.NDArray[np.bool_]:
    """Pixels of ``roi`` (in the frame layer ``k`` is seen in) whose centres go where a layer in
    front of ``k`` is, in the other frame: the outlines there (``occluders``) of the front
    layers that can meet ``k``'s pixels, pulled back (``kernels.occluded``)."""
    own = outlines[k]
    # Where k's pixels can land: within its outline there (1 px spare for rounding), or
    # anywhere for the background.
    reach = (0.0,) * 4 if own is None else _grown(own.bounds1 if backward else own.bounds2, 1.0)
    return kernels.occluded(  # type: ignore[no-any-return]
        *occluders.rings,
        occluders.layer_rings,
        occluders.bounds,
        k + 1,
        reach,
        own is None,
        _max_edge(motion),
        roi.x0,
        roi.y0,
        roi.height,
        roi.width,
        motion.kernel_args(inverse=not backward),
    )


def _grown(bounds: Bounds, margin: float) -> Bounds:
    return bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin


# Placeholders for the kernels' optional arguments (never read: their flags are False).
_NO_ALPHA = np.zeros((1, 1), np.float32)
_NO_MASK = np.zeros((1, 1), bool)


@dataclass
class _Target:
    """Where one frame is painted (arrays of the whole frame): its image, its ground truth
    towards the other frame (flow, occlusion) and its segmentation."""

    image: npt.NDArray[np.uint8]
    flow: npt.NDArray[np.float32]
    occlusion: npt.NDArray[np.bool_]
    segmentation: npt.NDArray[np.uint16]

    @classmethod
    def blank(cls, height: int, width: int) -> _Target:
        """Zeros."""
        return cls(
            np.zeros((height, width, 3), np.uint8),
            np.zeros((height, width, 2), np.float32),
            np.zeros((height, width), bool),
            np.zeros((height, width), np.uint16),
        )


def _texture(layer: Layer, roi: Roi, *, backward: bool) -> tuple[npt.NDArray[np.uint8], int, int]:
    """A layer's texture and origin, as the kernels that draw it into ``roi`` take them; frame
    1's colour is read unchecked, so there the texture must cover the ROI (``ValueError``)."""
    ox, oy = layer.origin
    texture = np.ascontiguousarray(layer.texture)
    fits = (
        ox <= roi.x0 <= roi.x0 + roi.width <= ox + texture.shape[1]
        and oy <= roi.y0 <= roi.y0 + roi.height <= oy + texture.shape[0]
    )
    if not (backward or fits):
        raise ValueError(f"texture {texture.shape} at {layer.origin} does not cover {roi}")
    return texture, ox, oy


class _Canvas:
    """The frames and ground truth being painted, back to front: frame 1's and frame 2's
    ``_Target`` (``targets``; blank if not given), their arrays as ``image[frame]`` etc."""

    def __init__(
        self, height: int, width: int, targets: tuple[_Target, _Target] | None = None
    ) -> None:
        first, second = targets or (_Target.blank(height, width), _Target.blank(height, width))
        self.image = [first.image, second.image]
        self.flow = [first.flow, second.flow]
        self.occlusion = [first.occlusion, second.occlusion]
        self.segmentation = [first.segmentation, second.segmentation]

    def draw(
        self,
        k: int,
        layer: Layer,
        roi: Roi,
        alpha: npt.NDArray[np.float32] | None,
        owned: npt.NDArray[np.bool_] | None,
        covered: npt.NDArray[np.bool_],
        spans: npt.NDArray[np.int64],
        *,
        backward: bool,
    ) -> None:
        """Draw layer ``k`` into frame 2 if ``backward``, else frame 1 (``kernels.composite``):
        blend its colour in with ``alpha``; where ``owned``, write flow, occlusion, id; only
        within each row's span."""
        frame = int(backward)
        kernels.composite(
            self.image[frame],
            self.flow[frame],
            self.occlusion[frame],
            self.segmentation[frame],
            k,
            roi.x0,
            roi.y0,
            roi.height,
            roi.width,
            *_texture(layer, roi, backward=backward),
            _NO_ALPHA if alpha is None else alpha,
            alpha is not None,
            _NO_MASK if owned is None else owned,
            owned is not None,
            covered,
            spans,
            layer.motion.kernel_args(inverse=backward),
        )

    def colour(
        self,
        k: int,
        layer: Layer,
        roi: Roi,
        alpha: npt.NDArray[np.float32],
        owned: npt.NDArray[np.bool_],
        spans: npt.NDArray[np.int64],
        *,
        backward: bool,
    ) -> None:
        """:meth:`draw` without flow and occlusion (``kernels.coloured``): colour and id only."""
        frame = int(backward)
        kernels.coloured(
            self.image[frame],
            self.segmentation[frame],
            k,
            roi.x0,
            roi.y0,
            roi.height,
            roi.width,
            *_texture(layer, roi, backward=backward),
            alpha,
            owned,
            spans,
            layer.motion.kernel_args(inverse=backward),
        )

    def truth(
        self,
        k: int,
        layer: Layer,
        roi: Roi,
        owned: npt.NDArray[np.bool_],
        covered: npt.NDArray[np.bool_],
        spans: npt.NDArray[np.int64],
        *,
        backward: bool,
    ) -> None:
        """:meth:`draw` without the colour (``kernels.truth``): flow, occlusion and id only."""
        frame = int(backward)
        kernels.truth(
            self.flow[frame],
            self.occlusion[frame],
            self.segmentation[frame],
            k,
            roi.x0,
            roi.y0,
            roi.height,
            roi.width,
            owned,
            covered,
            spans,
            layer.motion.kernel_args(inverse=backward),
        )


@dataclass
class _Visible:
    """What is left of a layer in one frame once the layers in front of it are known: the ROI
    holding it, its coverage (``alpha``) and owned pixel centres there, and each ROI row's
    columns ``[start, stop)`` holding what is drawn (``spans``)."""

    roi: Roi
    alpha: npt.NDArray[np.float32]
    owned: npt.NDArray[np.bool_]
    spans: npt.NDArray[np.int64]


def _visible(
    outlines: list[_Outline | None], frame: int, size: tuple[int, int], sub: int
) -> list[_Visible | None]:
    """Each layer's footprint in frame ``frame`` (0 or 1) of ``size`` (coverage with ``sub``
    sub-rows per pixel, owned pixel centres) less what the layers in front of it decide
    (``None``: nothing left).

    Layers are drawn back to front, so a pixel's colour is settled by the front-most layer of
    full coverage there (it replaces whatever was below) and its ground truth by the front-most
    owner (it overwrites the others'). Going front to back, each layer's alpha is set to zero
    where a layer in front covers the pixel fully, and its ownership dropped where one in front
    owns it; the ROI shrinks to what is left (``kernels.footprint``; ``kernels.unhidden`` for
    the background, which covers the whole frame fully). Drawing the result back to front gives
    the same bytes as drawing everything, without computing the hidden pixels.
    """
    height, width = size
    opaque, claimed = np.zeros(size, bool), np.zeros(size, bool)
    result: list[_Visible | None] = [None] * len(outlines)
    for k in range(len(outlines) - 1, -1, -1):
        outline = outlines[k]
        if outline is None:
            box, alpha, owned, spans = kernels.unhidden(
                opaque, claimed, 0, 0, height, width, _NO_ALPHA, _NO_MASK, True
            )
        else:
            rings = outline.frame2 if frame else outline.frame1
            roi = raster.roi_of_bounds(outline.bounds2 if frame else outline.bounds1, height, width)
            if roi.empty or rings.empty:
                continue
            box, alpha, owned, spans = kernels.footprint(
                *rings, roi.x0, roi.y0, roi.height, roi.width, sub, opaque, claimed
            )
        if box[2] > 0:
            result[k] = _Visible(Roi(*box.tolist()), alpha, owned, spans)
    return result


def _paint(
    canvas: _Canvas,
    layers: Sequence[Layer],
    outlines: list[_Outline | None],
    visible: list[_Visible | None],
    occluders: _Occluders | None,
    *,
    backward: bool,
    colour: bool = True,
) -> None:
    """Draw the layers into frame 2 of ``canvas`` if ``backward``, else into frame 1, as much of
    each as ``visible`` (:func:`_visible`) leaves; without ``colour`` only their ground truth
    (for a frame whose image is drawn already). Their pixels are occluded where they go into a
    layer in front by ``occluders``, every layer's outline in the other frame
    (:func:`_occluders`); with None, no flow and occlusion are written (for a frame whose
    ground truth is not kept: only its colour and segmentation)."""
    for k, (layer, seen) in enumerate(zip(layers, visible, strict=True)):
        if seen is None:
            continue
        roi = seen.roi
        if occluders is None:
            canvas.colour(k, layer, roi, seen.alpha, seen.owned, seen.spans, backward=backward)
            continue
        if seen.owned.any():
            covered = _covered(k, outlines, occluders, layer.motion, roi, backward=backward)
        else:  # no ground truth here: no occluders
            covered = np.zeros((roi.height, roi.width), bool)
        if colour:
            canvas.draw(
                k, layer, roi, seen.alpha, seen.owned, covered, seen.spans, backward=backward
            )
        else:
            canvas.truth(k, layer, roi, seen.owned, covered, seen.spans, backward=backward)


def render(plan: ScenePlan, cfg: Render | None = None) -> Sample:
    """Render both frames and every ground-truth field of a scene plan. Draws no random numbers.

    ``cfg`` is the ``render`` table of the recipe the plan was drawn from, as written: its
    lengths in pixels are scaled here by the recipe's ``scale`` (``plan.scale``).
    """
    cfg = scaled(cfg or Render(), plan.scale)
    size = height, width = plan.height, plan.width
    outlines = [None if layer.geometry is None else _outline(layer) for layer in plan.layers]
    canvas = _Canvas(height, width)
    for backward in (False, True):
        visible = _visible(outlines, int(backward), size, cfg.supersampling)
        occluders = _occluders(outlines, int(not backward))
        _paint(canvas, plan.layers, outlines, visible, occluders, backward=backward)
    flow = canvas.flow
    valid = [np.isfinite(f[..., 0]) & np.isfinite(f[..., 1]) for f in flow]
    threshold = cfg.motion_boundary_threshold
    return Sample(
        image1=canvas.image[0],
        image2=canvas.image[1],
        flow=flow[0],
        flow_backward=flow[1],
        occlusion=canvas.occlusion[0],
        occlusion_backward=canvas.occlusion[1],
        valid=valid[0],
        valid_backward=valid[1],
        segmentation1=canvas.segmentation[0],
        segmentation2=canvas.segmentation[1],
        motion_boundary=motion_boundaries(flow[0], threshold),
        motion_boundary_backward=motion_boundaries(flow[1], threshold),
    )


def check_pair_recipe(recipe: FlowRecipe) -> None:
    """``RecipeError`` for a sequence recipe (``frames`` > 2) on a path that renders pairs: its
    samples are sequences (:func:`flowsynth.render.sequence.render_sequence_sample`), and no
    pair path may silently keep their first two frames. Likewise for a stereo recipe
    (``stereo.enabled``, :func:`flowsynth.render.stereo.render_stereo_sample`)."""
    if recipe.frames > 2:
        raise RecipeError(
            f"frames: this recipe describes sequences of {recipe.frames} frames, and this path "
            "renders pairs (frames: 2); sequences are rendered by "
            "flowsynth.render_sequence_sample, written by flowsynth generate (Sintel's layout), "
            "streamed by flowsynth.data.ProceduralSequenceDataset; or give --set frames=2"
        )
    if recipe.stereo.enabled:
        raise RecipeError(
            "stereo.enabled: this recipe describes rectified stereo pairs, and this path renders"
            " flow pairs; stereo pairs are rendered by flowsynth.render.stereo."
            "render_stereo_sample"
        )


def render_sample(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> Sample:
    """Sample ``index`` of ``recipe`` with ``seed``, rendered (a pair; see
    :func:`check_pair_recipe`)."""
    check_pair_recipe(recipe)
    return render(
        scene_for_index(recipe, seed, index, texture_images=texture_images), recipe.render
    )
