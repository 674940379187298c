"""Render a sequence: ``T`` frames, exact ground truth between neighbours and from frame 1.

Each layer ``k`` has its map ``C_t`` from frame 1 to frame ``t`` (``scene.trajectory``; frames
count from 1 here, from 0 in the arrays of :class:`SequenceSample`).

- Frame ``t`` and the ground truth between frame 1 and frame ``t`` come from the pair renderer
  (``layers.render``) of the pair plan ``plan.at_frame(t)``, whose layers move by ``C_t``. The
  pair 1 -> 2 is that render itself, so a sequence of two frames is the pair sample, byte for
  byte.
- Neighbours ``t -> t + 1`` (``t >= 2``) follow from the segmentation of frame ``t``: its pixel
  ``q`` owned by layer ``k`` shows the frame-1 point ``p = C_t^-1(q)``, which goes to
  ``r = C_(t+1)(p)``; the flow is ``r - q``, in float64 (the sines in float32, as the
  renderer's kernels take them: ``scene.kernels.map_points``). ``q`` is occluded when ``r``
  leaves the frame or lies in a layer ``j`` in front of ``k`` in frame ``t + 1``: tested
  exactly as ``q in C_t(C_(t+1)^-1(O_j))`` for the front layers' frame-``(t+1)`` outlines
  ``O_j``, pulled back into frame ``t`` and rasterised at the pixel centres, as the pair
  renderer does for frame 2 (subdivided before each map, ``layers._map``: with deformations
  the pulled-back polylines follow the true curves to ~0.01 px). Backward ``t + 1 -> t`` is
  the mirror image.

Cost: ``T - 1`` pair renders (each draws frame 1 again) and two passes per later neighbour pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.fields import scaled
from flowsynth.recipe.schema import FlowRecipe, Render
from flowsynth.render import raster
from flowsynth.render.layers import Bounds, _map, render
from flowsynth.render.raster import Rings, Roi
from flowsynth.render.sample import Sample, motion_boundaries
from flowsynth.scene import kernels as scene_kernels
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


def _grown(bounds: Bounds, margin: float) -> Bounds:
    return bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin


def _meets(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _covered(
    k: int, outlines: list[Rings | None], here: LayerMotion, there: LayerMotion, roi: Roi
) -> npt.NDArray[np.bool_]:
    """``bool (h, w)`` over ``roi`` of frame "here": pixel centres that layer ``k`` carries
    (``C_here^-1`` then ``C_there``) into a layer in front of it in frame "there", whose
    outlines there are ``outlines``. Only the front layers that can meet ``k``'s outline there
    (1 px spare) are pulled back; every one for the background."""
    own = outlines[k]
    reach = None if own is None or own.empty else _grown(own.bounds(), 1.0)
    front = [
        rings
        for rings in outlines[k + 1 :]
        if rings is not None
        and not rings.empty
        and (reach is None or _meets(rings.bounds(), reach))
    ]
    if not front:
        return np.zeros((roi.height, roi.width), bool)
    pulled = _map(here, _map(there, raster.concat(front), inverse=True))
    return raster.inside(pulled, roi)


def _step(
    here: Sequence[LayerMotion],
    there: Sequence[LayerMotion],
    owner: npt.NDArray[np.uint16],
    outlines: list[Rings | None],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Flow and occlusion from one frame to another: ``here[k]`` and ``there[k]`` are layer
    ``k``'s maps from the first frame to the two, ``owner`` the segmentation of the first,
    ``outlines`` every layer's outline in the second. ``uint16 (H, W) -> float32 (H, W, 2),
    bool (H, W)``."""
    height, width = owner.shape
    flow = np.zeros((height * width, 2), np.float32)
    occlusion = np.zeros(height * width, bool)
    flat = owner.ravel()
    order = np.argsort(flat, kind="stable")
    stops = np.cumsum(np.bincount(flat, minlength=len(here)))
    for k in range(len(here)):
        pixels = order[(stops[k - 1] if k else 0) : stops[k]]
        if not len(pixels):
            continue
        ys, xs = np.divmod(pixels, width)
        points = np.empty((len(pixels), 2))
        points[:, 0], points[:, 1] = xs, ys
        source = scene_kernels.map_points(points, here[k].kernel_args(inverse=True))
        moved = scene_kernels.map_points(source, there[k].kernel_args(inverse=False))
        flow[pixels] = moved - points
        x0, y0 = int(xs.min()), int(ys.min())
        roi = Roi(x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1)
        covered = _covered(k, outlines, here[k], there[k], roi).ravel()
        mx, my = moved[:, 0], moved[:, 1]
        out = (mx < -0.5) | (mx > width - 0.5) | (my < -0.5) | (my > height - 0.5)
        occlusion[pixels] = out | covered[(ys - y0) * roi.width + (xs - x0)]
    return flow.reshape(height, width, 2), occlusion.reshape(height, width)


def _valid(flow: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    return np.isfinite(flow[..., 0]) & np.isfinite(flow[..., 1])


def _maps(plan: ScenePlan) -> list[list[LayerMotion]]:
    """``maps[i][k]``: layer ``k``'s map from the first frame to frame ``i`` (0-based, so
    ``C_(i+1)``; the identity for the first frame)."""
    identity = [LayerMotion()] * len(plan.layers)
    return [identity] + [
        [layer.motion for layer in plan.at_frame(t).layers] for t in range(2, plan.frames + 1)
    ]


def _outlines(plan: ScenePlan, maps: list[list[LayerMotion]]) -> list[list[Rings | None]]:
    """``outlines[i][k]``: layer ``k``'s outline in frame ``i`` (0-based; None for the
    background)."""
    shapes = [
        None if layer.geometry is None else raster.pack(geometry_rings(layer.geometry))
        for layer in plan.layers
    ]
    return [
        [
            None if rings is None else _map(motion, rings)
            for rings, motion in zip(shapes, frame, strict=True)
        ]
        for frame in maps
    ]


def render_sequence(plan: ScenePlan, cfg: Render | None = None) -> SequenceSample:
    """Render every frame of a plan and the ground truth of every neighbouring pair and from
    frame 1 to each frame. Draws no random numbers.

    ``cfg`` is the ``render`` table of the recipe, as written (see ``layers.render``).
    """
    pairs = [render(plan.at_frame(t), cfg) for t in range(2, plan.frames + 1)]
    first = pairs[0]
    segmentation = [first.segmentation1, *(p.segmentation2 for p in pairs)]
    maps = _maps(plan)
    outlines = _outlines(plan, maps)
    forward = [(first.flow, first.occlusion)]
    backward = [(first.flow_backward, first.occlusion_backward)]
    for i in range(1, plan.frames - 1):  # frames i -> i + 1, 0-based
        forward.append(_step(maps[i], maps[i + 1], segmentation[i], outlines[i + 1]))
        backward.append(_step(maps[i + 1], maps[i], segmentation[i + 1], outlines[i]))
    flow = np.stack([f for f, _ in forward])
    flow_backward = np.stack([f for f, _ in backward])
    threshold = scaled(cfg or Render(), plan.scale).motion_boundary_threshold
    return SequenceSample(
        frames=np.stack([first.image1, *(p.image2 for p in pairs)]),
        flow=flow,
        flow_backward=flow_backward,
        occlusion=np.stack([o for _, o in forward]),
        occlusion_backward=np.stack([o for _, o in backward]),
        valid=np.stack([first.valid, *(_valid(f) for f in flow[1:])]),
        valid_backward=np.stack([first.valid_backward, *(_valid(f) for f in flow_backward[1:])]),
        segmentation=np.stack(segmentation),
        motion_boundary=np.stack(
            [first.motion_boundary, *(motion_boundaries(f, threshold) for f in flow[1:])]
        ),
        motion_boundary_backward=np.stack(
            [
                first.motion_boundary_backward,
                *(motion_boundaries(f, threshold) for f in flow_backward[1:]),
            ]
        ),
        flow_from_first=np.stack([p.flow for p in pairs]),
        visible_from_first=~np.stack([p.occlusion for p in pairs]),
    )


def render_sequence_sample(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> SequenceSample:
    """Sequence ``index`` of ``recipe`` with ``seed``, rendered (``recipe.frames`` frames)."""
    plan = scene_for_index(recipe, seed, index, texture_images=texture_images)
    return render_sequence(plan, recipe.render)
