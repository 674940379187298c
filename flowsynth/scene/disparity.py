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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flowsynth.recipe.schema import Stereo
from flowsynth.scene.transform import LayerMotion


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


def sample_disparity_planes(
    cfg: Stereo, layers: int, height: int, width: int, *, rng: np.random.Generator
) -> tuple[DisparityPlane, ...]:
    """One plane per layer, back to front (``layers`` of them), for frames of ``height`` x
    ``width``; ``cfg`` with its lengths already scaled.

    Draw order: the ``layers`` levels, then per layer its two gradients.
    """
    low, high = cfg.disparity
    levels = np.sort(rng.uniform(low, high, size=layers))
    bounds = np.concatenate([[low], 0.5 * (levels[1:] + levels[:-1]), [high]])
    # Where either view can see a layer's left-view points: x in [-0.5, W - 0.5 + high].
    x0, x1 = -0.5, width - 0.5 + high
    y0, y1 = -0.5, height - 0.5
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    planes = []
    for k in range(layers):
        gx, gy = (float(g) for g in rng.uniform(-cfg.slant, cfg.slant, size=2))
        level = float(levels[k])
        room = min(level - bounds[k], bounds[k + 1] - level)
        span = abs(gx) * 0.5 * (x1 - x0) + abs(gy) * 0.5 * (y1 - y0)
        if span > room:  # clip the slant: the plane stays in its band over the region
            shrink = room / span
            gx, gy = gx * shrink, gy * shrink
        planes.append(DisparityPlane(level - gx * cx - gy * cy, (gx, gy)))
    return tuple(planes)
