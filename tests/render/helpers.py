"""Shared test helpers for rendered samples: small recipes, interpolation, reference checks."""

from __future__ import annotations

import numpy as np
import shapely

from flowsynth.ablation import paper
from flowsynth.recipe.load import load_recipe
from flowsynth.render.layers import render
from flowsynth.render.sample import Sample
from flowsynth.scene.plan import ScenePlan, scene_for_index
from flowsynth.scene.transform import LayerMotion

ABLATION = [row for row, _ in paper.ROWS]

#: Overrides that shrink a recipe to tiny frames with proportionally smaller objects.
SMALL = [
    "size=[72,96]",
    "objects.count=[4,7]",
    "objects.shapes.box_half_extent=[3,30]",
    "objects.shapes.polygon_radius=[5,25]",
    "objects.shapes.ellipse_semi_axis=[5,20]",
    "motion.objects.translation.range=[-25,25]",
    "motion.background.translation.range=[-8,8]",
]


def small_recipe(name: str, *extra: str):
    return load_recipe(f"ablation/{name}" if name in ABLATION else name, [*SMALL, *extra])


def render_index(recipe, index: int, seed: int = 0) -> tuple[ScenePlan, Sample]:
    plan = scene_for_index(recipe, seed, index)
    return plan, render(plan, recipe.render)


def cubic_at(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Keys cubic (a = -0.5) interpolation of ``field (H, W, C)`` at float64 points, exact
    positions (no quantisation); reproduces polynomials up to degree 2 exactly."""

    def weights(t: np.ndarray) -> list[np.ndarray]:
        return [
            ((-0.5 * t + 1.0) * t - 0.5) * t,
            (1.5 * t - 2.5) * t * t + 1.0,
            ((-1.5 * t + 2.0) * t + 0.5) * t,
            (0.5 * t - 0.5) * t * t,
        ]

    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    wx, wy = weights(x - x0), weights(y - y0)
    h, w = field.shape[:2]
    out = np.zeros((len(x), field.shape[2]))
    for j in range(4):
        yy = np.clip(y0 - 1 + j, 0, h - 1)
        for i in range(4):
            xx = np.clip(x0 - 1 + i, 0, w - 1)
            out += (wy[j] * wx[i])[:, None] * field[yy, xx]
    return out


def same_label_around(
    labels: np.ndarray, x: np.ndarray, y: np.ndarray, expected: np.ndarray, reach: int = 2
) -> np.ndarray:
    """True where every pixel of the (2 reach)x(2 reach) block around (x, y) has ``expected``."""
    h, w = labels.shape
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    ok = (x0 - reach + 1 >= 0) & (x0 + reach < w) & (y0 - reach + 1 >= 0) & (y0 + reach < h)
    for dy in range(-reach + 1, reach + 1):
        for dx in range(-reach + 1, reach + 1):
            yy, xx = np.clip(y0 + dy, 0, h - 1), np.clip(x0 + dx, 0, w - 1)
            ok &= labels[yy, xx] == expected
    return ok


def interior_pixels(sample: Sample, reach: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame-1 pixels away from every edge in both frames and not occluded: ``(ys, xs, mask)``."""
    h, w = sample.flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    seg1 = sample.segmentation1
    mask = ~sample.occlusion & sample.valid
    own = same_label_around(seg1, xs.astype(float), ys.astype(float), seg1, reach)
    x2 = xs + sample.flow[..., 0].astype(np.float64)
    y2 = ys + sample.flow[..., 1].astype(np.float64)
    there = same_label_around(sample.segmentation2, x2, y2, seg1, reach)
    mask &= own & there
    return ys[mask], xs[mask], mask


def reference_owner(plan: ScenePlan, x: np.ndarray, y: np.ndarray, frame: int) -> np.ndarray:
    """Brute force: the front-most layer whose shape contains each point (frame 1 or 2)."""
    owner = np.zeros(x.shape, dtype=int)
    points = np.stack([x, y], axis=1).astype(np.float64)
    for k, layer in enumerate(plan.layers[1:], start=1):
        local = points if frame == 1 else layer.motion.inverse(points)
        owner[shapely.contains_xy(layer.geometry, local[:, 0], local[:, 1])] = k
    return owner


def reference_occlusion(
    plan: ScenePlan, *, backward: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force occlusion and ownership, point by point with shapely: ``(occluded, owner)``."""
    h, w = plan.height, plan.width
    ys, xs = np.mgrid[0:h, 0:w]
    x, y = xs.ravel().astype(np.float64), ys.ravel().astype(np.float64)
    here, there = (2, 1) if backward else (1, 2)
    owner = reference_owner(plan, x, y, here)
    occluded = np.zeros(x.shape, dtype=bool)
    for k, layer in enumerate(plan.layers):
        sel = owner == k
        points = np.stack([x[sel], y[sel]], axis=1)
        moved = layer.motion.inverse(points) if backward else layer.motion.forward(points)
        out = (
            (moved[:, 0] < -0.5)
            | (moved[:, 0] > w - 0.5)
            | (moved[:, 1] < -0.5)
            | (moved[:, 1] > h - 0.5)
        )
        front = reference_owner(plan, moved[:, 0], moved[:, 1], there) > k
        occluded[sel] = out | front
    return occluded.reshape(h, w), owner.reshape(h, w)


def map_to(plan: ScenePlan, t: int) -> list[LayerMotion]:
    """Every layer's map from frame 1 to frame ``t`` (1-based)."""
    return [LayerMotion() if t == 1 else layer.motion for layer in plan.at_frame(max(t, 2)).layers]


def owner_in_frame(plan: ScenePlan, t: int, points: np.ndarray) -> np.ndarray:
    """Brute force: the front-most layer whose shape holds each point of frame ``t``."""
    owner = np.zeros(len(points), dtype=int)
    maps = map_to(plan, t)
    for k, layer in enumerate(plan.layers[1:], start=1):
        local = maps[k].inverse(points)
        owner[shapely.contains_xy(layer.geometry, local[:, 0], local[:, 1])] = k
    return owner


def reference_step(plan: ScenePlan, here: int, there: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force occlusion from frame ``here`` to frame ``there`` (1-based) and the owners of
    frame ``here``, point by point with shapely and ``LayerMotion``'s numpy maps."""
    h, w = plan.height, plan.width
    ys, xs = np.mgrid[0:h, 0:w]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    owner = owner_in_frame(plan, here, points)
    from_first, to_there = map_to(plan, here), map_to(plan, there)
    occluded = np.zeros(len(points), dtype=bool)
    for k in np.unique(owner):
        sel = owner == k
        moved = to_there[k].forward(from_first[k].inverse(points[sel]))
        out = (moved < -0.5).any(axis=1) | (moved[:, 0] > w - 0.5) | (moved[:, 1] > h - 0.5)
        occluded[sel] = out | (owner_in_frame(plan, there, moved) > k)
    return occluded.reshape(h, w), owner.reshape(h, w)
