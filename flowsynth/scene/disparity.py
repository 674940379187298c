"""Disparity planes of a stereo pair's layers (``recipe.stereo``), and the motions they make.

A rectified right view is the left view with every layer shifted along x by its disparity
``d(x, y) = d0 + gx x + gy y`` (``conventions.right_x``): layer motion ``x' = x - d(x, y)``,
``y' = y``, an affine map. Rendering a plan whose layers move so gives the right view as frame 2
and the exact disparities as the flow ``(-d_left, 0)`` and backward flow ``(+d_right, 0)``.

Depth order is the layers' drawing order: the background has the smallest disparity and each
object in front of it a larger one. Sorted levels ``c_0 < c_1 < ...`` are drawn in the
recipe's range; layer ``k``'s plane stays between the midpoints to its neighbours' levels over
the whole region either view shows (the frame, widened on the right by the largest disparity),
so a nearer layer's disparity is larger wherever two layers meet, and every disparity lies in
the range (so >= 0).

Scene flow (``stereo.scene_flow``): layers move from ``t`` to ``t + 1`` by their motion ``M``
and each plane's level changes (``sample_disparity_planes``), the plane at ``t + 1`` being a
plane over the left view's pixels at ``t + 1`` with the same gradients, in its band at both
times. The right view at ``t + 1`` is then ``S_(t+1) o M`` of the left view at ``t``, and the
disparity change of a left-view pixel ``x`` at ``t`` is ``d_(t+1)(M x) - d_t(x)``
(FlyingThings3D's ``disparity_change``, into the future).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.schema import Stereo
from flowsynth.scene.transform import LayerMotion, compose


@dataclass(frozen=True)
class DisparityPlane:
    """``d(x, y) = offset + gradient[0] x + gradient[1] y``, left-view pixels."""

    offset: float
    gradient: tuple[float, float]

    def at(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The disparity at left-view points ``x``, ``y`` (broadcastable float64 arrays)."""
        return self.offset + self.gradient[0] * x + self.gradient[1] * y

    def motion(self) -> LayerMotion:
        """Left -> right view map of the layer: ``(x, y) -> (x - d(x, y), y)``."""
        gx, gy = self.gradient
        return LayerMotion(np.array([[1.0 - gx, -gy, -self.offset], [0.0, 1.0, 0.0]]))


@dataclass(frozen=True)
class LayerDisparity:
    """A layer's disparity plane at ``t`` (``now``, left-view pixels at ``t``) and, for scene
    flow, at ``t + 1`` (``next``, left-view pixels at ``t + 1``)."""

    now: DisparityPlane
    next: DisparityPlane | None = None

    def maps(self, motion: LayerMotion) -> tuple[LayerMotion, tuple[LayerMotion, ...]]:
        """The layer's motion in the plan and its maps from the left view at ``t`` to the plan's
        other images, given its motion ``motion`` from ``t`` to ``t + 1``.

        Stereo: ``(now, (now,))``: the right view is frame 2. Scene flow: ``(motion, (motion,
        now, next o motion))``: the images are the left view at ``t + 1``, the right view at
        ``t`` and the right view at ``t + 1`` (``SCENE_FLOW_IMAGES``).
        """
        shift = self.now.motion()
        if self.next is None:
            return shift, (shift,)
        later = LayerMotion(compose(self.next.motion().affine, motion.affine), motion.deformation)
        return motion, (motion, shift, later)


#: A scene-flow plan's images after the left view at ``t`` (frame ``2 + i`` of the plan is
#: ``SCENE_FLOW_IMAGES[i]``: see :meth:`flowsynth.scene.plan.ScenePlan.at_frame`).
SCENE_FLOW_IMAGES = ("left_next", "right", "right_next")


def _bands(levels: npt.NDArray[np.float64], low: float, high: float) -> npt.NDArray[np.float64]:
    """Each level's band: from the midpoint to the level below to the midpoint to the one
    above (the range's ends for the outermost)."""
    return np.concatenate([[low], 0.5 * (levels[1:] + levels[:-1]), [high]])


def sample_disparity_planes(
    cfg: Stereo, layers: int, height: int, width: int, *, rng: np.random.Generator
) -> tuple[LayerDisparity, ...]:
    """One plane per layer, back to front (``layers`` of them), for frames of ``height`` x
    ``width``; ``cfg`` with its lengths already scaled. With ``cfg.scene_flow``, a plane at
    ``t + 1`` too: same gradients, its level changed by a draw from ``cfg.disparity_change``
    clipped to the middle half of the layer's band (so the levels keep their order, each gap at
    least half as wide), the slant clipped to keep the plane in its band at both times.

    Draw order: the ``layers`` levels, then per layer its two gradients, then (scene flow) the
    ``layers`` changes.
    """
    low, high = cfg.disparity
    levels = np.sort(rng.uniform(low, high, size=layers))
    gradients = [
        tuple(float(g) for g in rng.uniform(-cfg.slant, cfg.slant, size=2)) for _ in range(layers)
    ]
    times = [levels]
    if cfg.scene_flow:
        change = rng.uniform(cfg.disparity_change[0], cfg.disparity_change[1], size=layers)
        bands = _bands(levels, low, high)
        lowest = levels - 0.5 * (levels - bands[:-1])
        highest = levels + 0.5 * (bands[1:] - levels)
        times.append(np.clip(levels + change, lowest, highest))
    # Where either view can see a layer's left-view points: x in [-0.5, W - 0.5 + high].
    x0, x1 = -0.5, width - 0.5 + high
    y0, y1 = -0.5, height - 0.5
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    rooms = []
    for at in times:
        bounds = _bands(at, low, high)
        rooms.append(np.minimum(at - bounds[:-1], bounds[1:] - at))
    planes = []
    for k in range(layers):
        gx, gy = gradients[k]
        room = min(float(r[k]) for r in rooms)
        span = abs(gx) * 0.5 * (x1 - x0) + abs(gy) * 0.5 * (y1 - y0)
        if span > room:  # clip the slant: the plane stays in its band over the region
            shrink = room / span
            gx, gy = gx * shrink, gy * shrink
        now, *later = (DisparityPlane(float(at[k]) - gx * cx - gy * cy, (gx, gy)) for at in times)
        planes.append(LayerDisparity(now, later[0] if later else None))
    return tuple(planes)
