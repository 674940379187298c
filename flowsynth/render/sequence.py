"""Render a sequence: ``T`` frames, exact ground truth between neighbours and from frame 1.

Each layer ``k`` has its map ``C_t`` from frame 1 to frame ``t`` (``scene.trajectory``; frames
count from 1 here, from 0 in the arrays of :class:`SequenceSample`).

- Frame ``t`` and the ground truth between frame 1 and frame ``t`` are, byte for byte, the pair
  renderer's (``layers.render``) for the pair plan ``plan.at_frame(t)``, whose layers move by
  ``C_t``. The pair 1 -> 2 is painted as that render paints it, so a sequence of two frames is
  the pair sample. Frame 1 is drawn once: for a later ``t`` what it shows of each layer
  (``layers._visible``) is reused and only the flow and occlusion from it are written
  (``kernels.truth``); frame ``t`` is drawn without its ground truth back to frame 1, which no
  field keeps (``kernels.coloured``).
- Neighbours ``t -> t + 1`` (``t >= 2``) follow from the segmentation of frame ``t``: its pixel
  ``q`` owned by layer ``k`` shows the frame-1 point ``p = C_t^-1(q)``, which goes to
  ``r = C_(t+1)(p)``; the flow is ``r - q``, in float64 (the sines in float32, as the
  renderer's kernels take them: ``scene.kernels.map_points``). ``q`` is occluded when ``r``
  leaves the frame or lies in a layer ``j`` in front of ``k`` in frame ``t + 1``: tested
  exactly as ``q in C_t(C_(t+1)^-1(O_j))`` for the front layers' frame-``(t+1)`` outlines
  ``O_j``, pulled back into frame ``t`` and rasterised at the pixel centres, as the pair
  renderer does for frame 2 (subdivided before each map, ``layers._map``: with deformations
  the pulled-back polylines follow the true curves to ~0.01 px). Backward ``t + 1 -> t`` is
  the mirror image. One compiled pass per layer does both (``kernels.carried``).

Cost: frame 1 drawn once; per later frame, its drawing and the ground truth from frame 1 (about
a pair render's backward half and a third of its forward half); per neighbour pair after the
first, one compiled pass per layer each way. ``benchmarks/bench_sequence.py`` times a frame of
a sequence against a frame of a pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.fields import scaled
from flowsynth.recipe.schema import FlowRecipe, Render
from flowsynth.render import kernels, raster
from flowsynth.render.layers import (
    _Canvas,
    _grown,
    _map,
    _max_edge,
    _occluders,
    _Outline,
    _packed,
    _paint,
    _Target,
    _visible,
)
from flowsynth.render.raster import Rings
from flowsynth.render.sample import Sample, motion_boundaries
from flowsynth.scene.plan import ScenePlan, scene_for_index
from flowsynth.scene.shapes import rings as geometry_rings
from flowsynth.scene.textures import Image
from flowsynth.scene.transform import LayerMotion


@dataclass(frozen=True, eq=False)
class SequenceSample:
    """One rendered sequence of ``T`` frames of height ``H`` and width ``W``. Pair ``i``
    (0-based) is frames ``i`` and ``i + 1``; ``flow_from_first[i]`` goes from frame 0 to
    frame ``i + 1``. Conventions as ``render.sample.Sample``'s.

    Attributes
    ----------
    frames : uint8 (T, H, W, 3)
    flow, flow_backward : float32 (T-1, H, W, 2)
        Frame ``i`` -> ``i + 1``, and frame ``i + 1`` -> ``i``.
    occlusion, occlusion_backward : bool (T-1, H, W)
        True where the pixel of frame ``i`` (``i + 1``) is not visible in frame ``i + 1``
        (``i``).
    valid, valid_backward : bool (T-1, H, W)
    segmentation : uint16 (T, H, W)
        Layer owning each pixel centre: 0 background, 1.. objects back to front.
    motion_boundary, motion_boundary_backward : bool (T-1, H, W)
    flow_from_first : float32 (T-1, H, W, 2)
        Frame 0 -> frame ``i + 1``.
    visible_from_first : bool (T-1, H, W)
        True where the frame-0 pixel is visible in frame ``i + 1``.
    """

    frames: npt.NDArray[np.uint8]
    flow: npt.NDArray[np.float32]
    flow_backward: npt.NDArray[np.float32]
    occlusion: npt.NDArray[np.bool_]
    occlusion_backward: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.bool_]
    valid_backward: npt.NDArray[np.bool_]
    segmentation: npt.NDArray[np.uint16]
    motion_boundary: npt.NDArray[np.bool_]
    motion_boundary_backward: npt.NDArray[np.bool_]
    flow_from_first: npt.NDArray[np.float32]
    visible_from_first: npt.NDArray[np.bool_]

    def pair(self, i: int) -> Sample:
        """Frames ``i`` and ``i + 1`` and their ground truth, as a pair sample."""
        return Sample(
            image1=self.frames[i],
            image2=self.frames[i + 1],
            flow=self.flow[i],
            flow_backward=self.flow_backward[i],
            occlusion=self.occlusion[i],
            occlusion_backward=self.occlusion_backward[i],
            valid=self.valid[i],
            valid_backward=self.valid_backward[i],
            segmentation1=self.segmentation[i],
            segmentation2=self.segmentation[i + 1],
            motion_boundary=self.motion_boundary[i],
            motion_boundary_backward=self.motion_boundary_backward[i],
        )

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _maps(plan: ScenePlan) -> list[list[LayerMotion]]:
    """``maps[i][k]``: layer ``k``'s map from the first frame to frame ``i`` (0-based, so
    ``C_(i+1)``; the identity for the first frame)."""
    identity = [LayerMotion()] * len(plan.layers)
    return [identity] + [
        [layer.motion for layer in plan.at_frame(t).layers] for t in range(2, plan.frames + 1)
    ]


def _outlines(plan: ScenePlan, maps: list[list[LayerMotion]]) -> list[list[Rings | None]]:
    """``outlines[i][k]``: layer ``k``'s outline in frame ``i`` (0-based; None for the
    background): its shape's rings (``raster.pack``), mapped by ``maps[i][k]`` after the
    first frame."""
    shapes = [
        None if layer.geometry is None else raster.pack(geometry_rings(layer.geometry))
        for layer in plan.layers
    ]
    return [shapes] + [
        [
            None if rings is None else _map(motion, rings)
            for rings, motion in zip(shapes, frame, strict=True)
        ]
        for frame in maps[1:]
    ]


def _step(
    here: Sequence[LayerMotion],
    there: Sequence[LayerMotion],
    owner: npt.NDArray[np.uint16],
    outlines: list[Rings | None],
    out: tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]] | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Flow and occlusion from one frame to another: ``here[k]`` and ``there[k]`` are layer
    ``k``'s maps from the first frame to the two, ``owner`` the segmentation of the first,
    ``outlines`` every layer's outline in the second. ``uint16 (H, W) -> float32 (H, W, 2),
    bool (H, W)``, written into ``out`` if given (zeros). One compiled pass per layer over the
    box of its pixels (``kernels.carried``); the front layers that can meet ``k``'s outline
    there (1 px spare) are pulled back, every one for the background."""
    height, width = owner.shape
    flow, occlusion = out or (np.zeros((height, width, 2), np.float32), np.zeros(owner.shape, bool))
    bounds = [None if r is None or r.empty else r.bounds() for r in outlines]
    occluders = _packed(outlines, bounds)
    for k, (x0, y0, w, h) in enumerate(kernels.boxes(owner, len(here))):
        if w == 0:
            continue
        reach = bounds[k]
        kernels.carried(
            *occluders.rings,
            occluders.layer_rings,
            occluders.bounds,
            (0.0,) * 4 if reach is None else _grown(reach, 1.0),
            reach is None,
            owner,
            k,
            x0,
            y0,
            h,
            w,
            here[k].kernel_args(inverse=False),
            here[k].kernel_args(inverse=True),
            _max_edge(here[k]),
            there[k].kernel_args(inverse=False),
            there[k].kernel_args(inverse=True),
            _max_edge(there[k]),
            flow,
            occlusion,
        )
    return flow, occlusion


def render_sequence(plan: ScenePlan, cfg: Render | None = None) -> SequenceSample:
    """Render every frame of a plan and the ground truth of every neighbouring pair and from
    frame 1 to each frame. Draws no random numbers.

    ``cfg`` is the ``render`` table of the recipe, as written (see ``layers.render``).
    """
    cfg = scaled(cfg or Render(), plan.scale)
    count, size = plan.frames, (plan.height, plan.width)
    height, width = size
    frames = np.zeros((count, *size, 3), np.uint8)
    segmentation = np.zeros((count, *size), np.uint16)
    flow, flow_backward, flow_from_first = (
        np.zeros((count - 1, *size, 2), np.float32) for _ in range(3)
    )
    occlusion, occlusion_backward, hidden = (np.zeros((count - 1, *size), bool) for _ in range(3))
    unkept = _Target.blank(height, width)  # what no field keeps
    maps = _maps(plan)
    outlines = _outlines(plan, maps)
    pairs = [  # layers._outline of each layer of the pair plans at_frame(2 .. T)
        [
            None
            if shape is None or rings is None
            else _Outline(shape, rings, shape.bounds(), rings.bounds())
            for shape, rings in zip(outlines[0], moved, strict=True)
        ]
        for moved in outlines[1:]
    ]
    shown = _visible(pairs[0], 0, size, cfg.supersampling)  # frame 1: the same for every t
    for t, pair in enumerate(pairs, start=2):
        i = t - 2
        targets = (
            (
                _Target(frames[0], flow[0], occlusion[0], segmentation[0]),
                _Target(frames[1], flow_backward[0], occlusion_backward[0], segmentation[1]),
            )
            if t == 2  # the pair sample's painting
            else (
                _Target(unkept.image, flow_from_first[i], hidden[i], unkept.segmentation),
                _Target(frames[t - 1], unkept.flow, unkept.occlusion, segmentation[t - 1]),
            )
        )
        canvas = _Canvas(height, width, targets)
        layers = plan.at_frame(t).layers
        occluders = _occluders(pair, 1)
        _paint(canvas, layers, pair, shown, occluders, backward=False, colour=t == 2)
        visible = _visible(pair, 1, size, cfg.supersampling)
        back = _occluders(pair, 0) if t == 2 else None  # the way back is kept for t = 2 only
        _paint(canvas, layers, pair, visible, back, backward=True)
    flow_from_first[0], hidden[0] = flow[0], occlusion[0]
    for i in range(1, count - 1):  # frames i -> i + 1, 0-based
        forward, backward = (flow[i], occlusion[i]), (flow_backward[i], occlusion_backward[i])
        _step(maps[i], maps[i + 1], segmentation[i], outlines[i + 1], forward)
        _step(maps[i + 1], maps[i], segmentation[i + 1], outlines[i], backward)
    threshold = cfg.motion_boundary_threshold
    return SequenceSample(
        frames=frames,
        flow=flow,
        flow_backward=flow_backward,
        occlusion=occlusion,
        occlusion_backward=occlusion_backward,
        valid=_valid(flow),
        valid_backward=_valid(flow_backward),
        segmentation=segmentation,
        motion_boundary=np.stack([motion_boundaries(f, threshold) for f in flow]),
        motion_boundary_backward=np.stack([motion_boundaries(f, threshold) for f in flow_backward]),
        flow_from_first=flow_from_first,
        visible_from_first=~hidden,
    )


def _valid(flow: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    return np.isfinite(flow[..., 0]) & np.isfinite(flow[..., 1])


def render_sequence_sample(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> SequenceSample:
    """Sequence ``index`` of ``recipe`` with ``seed``, rendered (``recipe.frames`` frames)."""
    plan = scene_for_index(recipe, seed, index, texture_images=texture_images)
    return render_sequence(plan, recipe.render)
