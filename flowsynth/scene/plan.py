"""A scene plan: everything random about one sample, drawn once, before any rendering.

``scene_for_index(recipe, seed, index)`` is the only entry point the rest of flowsynth needs: a
pure function of its arguments. Rendering (``flowsynth.render``) draws no random numbers.

A sequence's plan (``frames`` > 2) is the same plan with each layer's trajectory
(``scene.trajectory``: its maps ``C_2 .. C_T`` from frame 1); its textures cover what any of
its frames shows. :meth:`ScenePlan.at_frame` gives the pair plan of frame 1 and frame ``t``.
A scene-flow plan (``stereo.scene_flow``) is built the same way with four images: the left
view at ``t`` as frame 1, then the left view at ``t + 1``, the right view at ``t`` and the right
view at ``t + 1`` (``scene.disparity.SCENE_FLOW_IMAGES``).

A plan is drawn from the recipe with its ``scale`` applied (``schema.scaled``: every length in
pixels multiplied, the frame size too); the plan records that scale for the renderer's pixel
thresholds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flowsynth.base.rng import Stream, sample_rng, sample_weighted
from flowsynth.recipe.schema import FlowRecipe, scaled
from flowsynth.scene import kernels
from flowsynth.scene.disparity import LayerDisparity, sample_disparity_planes
from flowsynth.scene.motion import sample_affine, sample_deformation, sample_strength
from flowsynth.scene.shapes import Geometry, sample_shape
from flowsynth.scene.textures import Image, sample_texture
from flowsynth.scene.trajectory import Trajectory, sample_trajectory
from flowsynth.scene.transform import LayerMotion, compose

#: Extra texture pixels around a layer's extent, for bilinear sampling at its edges.
TEXTURE_MARGIN = 2


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer: its shape (None for the background, which fills the plane), texture and motion.

    ``texture`` pixel ``(0, 0)`` sits at frame-1 pixel ``origin = (x, y)``. ``motion`` maps
    frame 1 to frame 2; in a sequence's plan ``trajectory`` holds the maps from frame 1 to
    frames ``2 .. T`` (``motion`` first; empty in a plan of a pair made otherwise), in a
    scene-flow plan those to its images ``2 .. 4``.
    """

    geometry: Geometry | None
    texture: Image
    origin: tuple[int, int]
    motion: LayerMotion
    trajectory: Trajectory = ()


@dataclass(frozen=True, eq=False)
class ScenePlan:
    """``layers[0]`` is the background; the others are objects, drawn back to front.

    ``scale`` is the recipe's ``scale``, already applied to every length of the plan; the
    renderer applies it to the pixel thresholds of the recipe's ``render`` table.
    """

    height: int
    width: int
    layers: tuple[Layer, ...]
    scale: float = 1.0

    @property
    def frames(self) -> int:
        """Frames of the plan: 2 for a pair, ``T`` for a sequence."""
        return 1 + max(len(self.layers[0].trajectory), 1) if self.layers else 2

    def at_frame(self, t: int) -> ScenePlan:
        """The pair plan of frame 1 and frame ``t`` (2 <= t <= frames): every layer moved by its
        map to frame ``t``. Rendering it gives frame ``t`` and the exact ground truth between
        frame 1 and frame ``t``. ``at_frame(2)`` is the plan itself."""
        if not 2 <= t <= self.frames:
            raise ValueError(f"frame {t} is not in 2 .. {self.frames}")
        if t == 2:
            return self
        layers = tuple(dataclasses.replace(la, motion=la.trajectory[t - 2]) for la in self.layers)
        return dataclasses.replace(self, layers=layers)


@dataclass(frozen=True)
class _Streams:
    layout: np.random.Generator
    motion: np.random.Generator
    deformation: np.random.Generator
    stereo: np.random.Generator | None = None  # made for a stereo recipe only


def scene_for_index(
    recipe: FlowRecipe, seed: int, index: int, *, texture_images: Sequence[Image] = ()
) -> ScenePlan:
    """The plan of sample ``index``: a pure function of ``(recipe, seed, index)``."""
    streams = _Streams(
        layout=sample_rng(seed, index, Stream.LAYOUT),
        motion=sample_rng(seed, index, Stream.MOTION),
        deformation=sample_rng(seed, index, Stream.DEFORMATION),
        stereo=sample_rng(seed, index, Stream.STEREO) if recipe.stereo.enabled else None,
    )
    return sample_scene(recipe, seed, index, streams=streams, texture_images=texture_images)


def _texture_extent(points: npt.NDArray[np.float64]) -> tuple[int, int, int, int]:
    """Integer ``(x0, y0, width, height)`` of texture covering ``points`` with a margin."""
    x0, y0, x1, y1 = kernels.bounds(points)
    low = math.floor(x0) - TEXTURE_MARGIN, math.floor(y0) - TEXTURE_MARGIN
    high = math.ceil(x1) + TEXTURE_MARGIN, math.ceil(y1) + TEXTURE_MARGIN
    return low[0], low[1], high[0] - low[0] + 1, high[1] - low[1] + 1


def _intersect(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    return x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)


def _frame_outline(height: int, width: int, step: float = 8.0) -> npt.NDArray[np.float64]:
    """Points along the border of the frame area."""
    xs = np.linspace(-0.5, width - 0.5, int(math.ceil(width / step)) + 1)
    ys = np.linspace(-0.5, height - 0.5, int(math.ceil(height / step)) + 1)
    top = np.stack([xs, np.full_like(xs, -0.5)], 1)
    bottom = np.stack([xs, np.full_like(xs, height - 0.5)], 1)
    left = np.stack([np.full_like(ys, -0.5), ys], 1)
    right = np.stack([np.full_like(ys, width - 0.5), ys], 1)
    return np.concatenate([top, bottom, left, right])


def _pulled_back(motion: LayerMotion, outline: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The frame border ``outline`` (from :func:`_frame_outline`) mapped back to frame 1 by
    ``motion``, in compiled code (``kernels.map_points``; ``LayerMotion.inverse`` is the numpy
    reference, ~10x slower). Only its bounding box is used: where frame 2 can see the layer."""
    return kernels.map_points(outline, motion.kernel_args(inverse=True))


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int] | None:
    """Bounding box of ``(x0, y0, width, height)`` boxes, None for none."""
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def sample_scene(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    *,
    streams: _Streams,
    texture_images: Sequence[Image] = (),
) -> ScenePlan:
    """Draw the layout, motions, deformations and textures of one sample.

    Draw order (fixed: the bytes of every sample depend on it): the motion strength, the object
    count, the background, then per object its kind, place, shape, motion, deformation and
    texture. The count is the layout stream's first draw and the background draws from other
    streams, so drawing the count before the background changes no sample.

    A stereo recipe (``recipe.stereo``) draws one disparity plane per layer from its own stream
    (``scene.disparity``) and moves each layer by its plane instead of its (identity) motion;
    a scene-flow recipe keeps the motion and adds the maps to the right views at ``t`` and
    ``t + 1`` (:meth:`~flowsynth.scene.disparity.LayerDisparity.maps`).
    """
    scale = recipe.scale
    recipe = scaled(recipe)
    height, width = recipe.size
    cfg = recipe.objects
    strength = sample_strength(recipe.motion, rng=streams.motion)
    outline = _frame_outline(height, width)
    count = int(streams.layout.integers(cfg.count[0], cfg.count[1] + 1))
    planes: tuple[LayerDisparity | None, ...] = (None,) * (count + 1)
    if streams.stereo is not None:
        planes = sample_disparity_planes(
            recipe.stereo, count + 1, height, width, rng=streams.stereo
        )
    background = _background_layer(
        recipe, seed, index, outline, strength, streams, texture_images, planes[0]
    )
    layers = [background]
    kinds = sorted(k for k, weight in cfg.kinds.items() if weight > 0)
    weights = tuple(float(cfg.kinds[k]) for k in kinds)
    for k in range(1, count + 1):
        kind = kinds[sample_weighted(weights, rng=streams.layout)]
        layer = _object_layer(
            recipe,
            seed,
            index,
            k,
            kind,
            outline,
            background,
            strength,
            streams,
            texture_images,
            planes[k],
        )
        if layer is not None:
            layers.append(layer)
    return ScenePlan(height, width, tuple(layers), scale)


def _background_layer(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    outline: npt.NDArray[np.float64],
    strength: float,
    streams: _Streams,
    texture_images: Sequence[Image],
    plane: LayerDisparity | None = None,
) -> Layer:
    """The background: its motion about the frame centre (its disparity plane's, given one),
    and a texture over everything any frame shows of it."""
    height, width = recipe.size
    centre = ((width - 1) / 2, (height - 1) / 2)
    background_affine = sample_affine(
        recipe.motion.background, centre, rng=streams.motion, strength=strength
    )
    motion = LayerMotion(
        background_affine,
        sample_deformation(
            recipe.deformation.background,
            centre,
            max(height, width),
            rng=streams.deformation,
            strength=strength,
        ),
    )
    if plane is None:
        trajectory = _trajectory(recipe, seed, index, 0, motion)
    else:
        motion, trajectory = plane.maps(motion)
    x0, y0, w, h = _texture_extent(
        np.concatenate([outline, *(_pulled_back(m, outline) for m in trajectory)])
    )
    texture_rng = sample_rng(seed, index, Stream.TEXTURE, 0)
    background = sample_texture(recipe.textures, h, w, rng=texture_rng, images=texture_images)
    return Layer(None, background, (x0, y0), motion, trajectory)


def _object_layer(
    recipe: FlowRecipe,
    seed: int,
    index: int,
    k: int,
    kind: str,
    outline: npt.NDArray[np.float64],
    background: Layer,
    strength: float,
    streams: _Streams,
    texture_images: Sequence[Image],
    plane: LayerDisparity | None = None,
) -> Layer | None:
    """Object ``k`` of kind ``kind``: place, shape, motion (relative to the background's;
    its disparity plane's, given one), deformation, trajectory and texture; None when it is
    empty or out of view in every frame (its draws are made all the same)."""
    height, width = recipe.size
    cfg = recipe.objects
    spread_x, spread_y = cfg.spread * width, cfg.spread * height
    where = (
        float(streams.layout.uniform(-spread_x, width + spread_x)),
        float(streams.layout.uniform(-spread_y, height + spread_y)),
    )
    geometry = sample_shape(cfg.shapes, kind, where, rng=streams.layout)
    relative = sample_affine(recipe.motion.objects, where, rng=streams.motion, strength=strength)
    xmin, ymin, xmax, ymax = geometry.bounds if not geometry.is_empty else (0, 0, 0, 0)
    deformation = sample_deformation(
        recipe.deformation.objects,
        where,
        max(xmax - xmin, ymax - ymin),
        rng=streams.deformation,
        strength=strength,
    )
    if geometry.is_empty:
        return None
    motion = LayerMotion(compose(background.motion.affine, relative), deformation)
    if plane is None:
        trajectory = _trajectory(recipe, seed, index, k, motion)
    else:
        motion, trajectory = plane.maps(motion)
    # Texture is defined over the shape's box; only the part some frame can show is made.
    extent = _texture_extent(np.array([[xmin, ymin], [xmax, ymax]]))
    frame = _texture_extent(outline)
    boxes = [_intersect(extent, frame)] + [
        _intersect(extent, _texture_extent(_pulled_back(m, outline))) for m in trajectory
    ]
    region = _union([b for b in boxes if b[2] > 0 and b[3] > 0])
    if region is None:
        return None  # out of view in every frame
    texture = sample_texture(
        recipe.textures,
        extent[3],
        extent[2],
        rng=sample_rng(seed, index, Stream.TEXTURE, k),
        region=(region[0] - extent[0], region[1] - extent[1], region[2], region[3]),
        images=texture_images,
    )
    return Layer(geometry, texture, (region[0], region[1]), motion, trajectory)


def _trajectory(
    recipe: FlowRecipe, seed: int, index: int, k: int, motion: LayerMotion
) -> Trajectory:
    """Layer ``k``'s maps from frame 1 to each later frame (``(motion,)`` for a pair). Its
    rates come from a stream of their own, ``(MOTION, index, k)``, made only for a sequence:
    a pair draws nothing more, and one layer's draws do not depend on the others'."""
    if recipe.frames == 2:
        return (motion,)
    rng = sample_rng(seed, index, Stream.MOTION, k)
    return sample_trajectory(recipe.trajectory, motion, recipe.frames, rng=rng)
