"""Render a scene plan: composite the layers into two frames and derive exact ground truth.

For every layer ``k`` with shape ``P_k`` and motion ``T_k`` (frame 1 -> frame 2):

- frame 1 shows ``P_k`` with its texture; frame 2 shows ``T_k(P_k)``, textured by sampling the
  texture at ``T_k^-1(q)``. Layers are drawn back to front with anti-aliased coverage.
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

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.render import raster
from flowsynth.render.raster import Points, Roi
from flowsynth.render.sample import Sample, motion_boundaries
from flowsynth.scene.plan import Layer, ScenePlan
from flowsynth.scene.shapes import rings as geometry_rings
from flowsynth.scene.transform import LayerMotion
from flowsynth.schema import Render

#: Largest distance (px) between the image of an outline under a deformation and the polyline
#: through its mapped vertices; outlines are subdivided to keep within it.
CHORD_TOLERANCE = 0.005

Bounds = tuple[float, float, float, float]


@dataclass
class _Outline:
    """A layer's outline in frame 1 and in frame 2."""

    frame1: list[Points]
    frame2: list[Points]
    bounds1: Bounds
    bounds2: Bounds


def _map(motion: LayerMotion, rings: list[Points], *, inverse: bool = False) -> list[Points]:
    """Map rings through a motion, subdividing them first if the motion is not affine."""
    if not rings:
        return []
    if motion.deformation is not None:
        edge = motion.deformation.max_edge(CHORD_TOLERANCE)
        rings = [raster.subdivide(r, edge) for r in rings]
    apply = motion.inverse if inverse else motion.forward
    # One call for all rings: the per-call overhead dominates for small rings.
    ends = np.cumsum([len(r) for r in rings])[:-1]
    return np.split(apply(np.concatenate(rings)), ends)


def _outline(layer: Layer) -> _Outline:
    assert layer.geometry is not None
    frame1 = geometry_rings(layer.geometry)
    frame2 = _map(layer.motion, frame1)
    return _Outline(frame1, frame2, raster.ring_bounds(frame1), raster.ring_bounds(frame2))


def _overlaps(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _extent(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
) -> Bounds | None:
    if not mask.any():
        return None
    xs, ys = x[mask], y[mask]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _out_of_frame(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.float32], height: int, width: int
) -> npt.NDArray[np.bool_]:
    return (x < -0.5) | (x > width - 0.5) | (y < -0.5) | (y > height - 0.5)


def _covered(
    k: int,
    outlines: list[_Outline | None],
    motion: LayerMotion,
    roi: Roi,
    reach: Bounds | None,
    *,
    backward: bool,
) -> npt.NDArray[np.bool_]:
    """Pixels of ``roi`` (in the frame layer ``k`` is seen in) hidden by layers in front of ``k``
    in the other frame. ``reach`` bounds where ``k``'s pixels land in the other frame."""
    occluders: list[Points] = []
    if reach is not None:
        for outline in outlines[k + 1 :]:
            if outline is None:
                continue
            there, bounds = (
                (outline.frame1, outline.bounds1) if backward else (outline.frame2, outline.bounds2)
            )
            if _overlaps(bounds, reach):
                occluders.extend(there)
    return raster.inside(_map(motion, occluders, inverse=not backward), roi)


class _Canvas:
    """The frames and ground truth being painted, back to front (flow as separate u, v planes)."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.image = [np.zeros((height, width, 3), np.uint8) for _ in range(2)]
        self.u = [np.zeros((height, width), np.float32) for _ in range(2)]
        self.v = [np.zeros((height, width), np.float32) for _ in range(2)]
        self.occlusion = [np.zeros((height, width), bool) for _ in range(2)]
        self.segmentation = [np.zeros((height, width), np.uint16) for _ in range(2)]

    def paint(
        self,
        frame: int,
        layer_id: int,
        roi: Roi,
        colour: npt.NDArray[np.uint8],
        alpha: npt.NDArray[np.float32] | None,
        owned: npt.NDArray[np.bool_] | None,
        position: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
        occluded: npt.NDArray[np.bool_],
    ) -> None:
        rows, cols = roi.slices
        image = self.image[frame][rows, cols]
        if alpha is None:
            image[...] = colour
        else:
            image[...] = cv2.blendLinear(colour, image, alpha, 1.0 - alpha)
        x, y = roi.grid()
        where = True if owned is None else owned
        np.subtract(position[0], x, out=self.u[frame][rows, cols], where=where)
        np.subtract(position[1], y, out=self.v[frame][rows, cols], where=where)
        np.copyto(self.occlusion[frame][rows, cols], occluded, where=where)
        np.copyto(self.segmentation[frame][rows, cols], np.uint16(layer_id), where=where)

    def flow(self, frame: int) -> npt.NDArray[np.float32]:
        return np.stack([self.u[frame], self.v[frame]], axis=-1)


def _sample_texture(
    layer: Layer, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]
) -> npt.NDArray[np.uint8]:
    """Bilinear texture values at frame-1 positions ``x``, ``y`` (uint8 (h, w, 3))."""
    map_x = np.ascontiguousarray(x - np.float32(layer.origin[0]), dtype=np.float32)
    map_y = np.ascontiguousarray(y - np.float32(layer.origin[1]), dtype=np.float32)
    sampled = cv2.remap(
        layer.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(sampled, dtype=np.uint8)


def _crop(layer: Layer, roi: Roi) -> npt.NDArray[np.uint8]:
    ox, oy = layer.origin
    return layer.texture[
        roi.y0 - oy : roi.y0 - oy + roi.height, roi.x0 - ox : roi.x0 - ox + roi.width
    ]


def render(plan: ScenePlan, cfg: Render | None = None) -> Sample:
    """Render both frames and every ground-truth field of a scene plan. Draws no random numbers."""
    cfg = cfg or Render()
    height, width = plan.height, plan.width
    full = Roi(0, 0, width, height)
    outlines = [None if layer.geometry is None else _outline(layer) for layer in plan.layers]
    canvas = _Canvas(height, width)
    for k, (layer, outline) in enumerate(zip(plan.layers, outlines, strict=True)):
        for frame in (0, 1):
            backward = frame == 1
            if outline is None:
                roi, owned, alpha = full, None, None
            else:
                rings = outline.frame2 if backward else outline.frame1
                roi = raster.roi_of_bounds(
                    outline.bounds2 if backward else outline.bounds1, height, width
                )
                if roi.empty:
                    continue
                owned = raster.inside(rings, roi)
                alpha = raster.coverage(rings, roi, cfg.supersampling)
            x, y = roi.grid()
            if backward:
                position = layer.motion.inverse_grid(x, y)
                colour = _sample_texture(layer, *position)
            else:
                position = layer.motion.forward_grid(x, y)
                colour = _crop(layer, roi)
            mask = np.ones((roi.height, roi.width), bool) if owned is None else owned
            grid_x, grid_y = np.broadcast_arrays(*position)
            reach = _extent(grid_x, grid_y, mask)
            occluded = _out_of_frame(*position, height, width) | _covered(
                k, outlines, layer.motion, roi, reach, backward=backward
            )
            canvas.paint(frame, k, roi, colour, alpha, owned, position, occluded)
    flow = [canvas.flow(0), canvas.flow(1)]
    valid = [np.isfinite(canvas.u[f]) & np.isfinite(canvas.v[f]) for f in (0, 1)]
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
