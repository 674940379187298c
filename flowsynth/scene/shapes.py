"""Object shapes as shapely geometries in frame-1 pixel coordinates.

Each shape is a valid ``Polygon`` or ``MultiPolygon``: curved outlines (ellipses, Bézier edges)
are polylines fine enough that the polygon *is* the shape, so the renderer's ground truth is exact
for it. Composites with holes and thin objects are built with shapely's boolean operations.
"""

from __future__ import annotations

import functools
import math
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from flowsynth.recipe.schema import Shapes

Geometry: TypeAlias = BaseGeometry
Points = npt.NDArray[np.float64]

#: Largest deviation (px) allowed between a curve and the polyline that stands for it.
CHORD_TOLERANCE = 0.01


def _segments_for_radius(radius: float, arc: float = 2 * math.pi) -> int:
    """Number of chords that keep a circular arc of ``radius`` within ``CHORD_TOLERANCE``."""
    if radius <= CHORD_TOLERANCE:
        return 8
    step = 2 * math.acos(max(-1.0, 1 - CHORD_TOLERANCE / radius))
    return max(8, int(math.ceil(arc / step)))


@functools.lru_cache(maxsize=1024)
def _unit_circle(n: int) -> tuple[Points, Points]:
    """Cosine and sine of ``n`` angles evenly spaced around the circle, from 0."""
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    cosine, sine = np.cos(t), np.sin(t)
    cosine.setflags(write=False)
    sine.setflags(write=False)
    return cosine, sine


def ellipse(centre: tuple[float, float], a: float, b: float, angle: float) -> shapely.Polygon:
    """Ellipse with semi-axes ``a``, ``b`` rotated by ``angle`` radians."""
    cosine, sine = _unit_circle(_segments_for_radius(max(a, b)))
    x, y = a * cosine, b * sine
    c, s = math.cos(angle), math.sin(angle)
    points = np.stack([centre[0] + c * x - s * y, centre[1] + s * x + c * y], axis=1)
    return shapely.Polygon(points)


def box(centre: tuple[float, float], half_x: float, half_y: float) -> shapely.Polygon:
    """Axis-aligned box."""
    cx, cy = centre
    return shapely.box(cx - half_x, cy - half_y, cx + half_x, cy + half_y)


def _affine(
    geometry: Geometry, a: float, b: float, d: float, e: float, xoff: float, yoff: float
) -> Geometry:
    """``(x, y) -> (a x + b y + xoff, d x + e y + yoff)``: the arithmetic of
    ``shapely.affinity.affine_transform`` (so the same coordinates), without the overhead of its
    2D/3D dispatch, which costs more than the transform for the outlines here."""
    if geometry.is_empty:
        return geometry

    def move(coords: Points) -> Points:
        x, y = coords.T
        return np.stack([a * x + b * y + xoff, d * x + e * y + yoff]).T

    return shapely.transform(geometry, move)


def _scaled(
    geometry: Geometry, fx: float, fy: float, origin: tuple[float, float] | None = None
) -> Geometry:
    """``affinity.scale(geometry, fx, fy, origin=origin or "center")`` (see :func:`_affine`)."""
    if origin is None:
        minx, miny, maxx, maxy = geometry.bounds
        origin = ((maxx + minx) / 2.0, (maxy + miny) / 2.0)
    x0, y0 = origin
    return _affine(geometry, fx, 0.0, 0.0, fy, x0 - x0 * fx, y0 - y0 * fy)


def _rotated(geometry: Geometry, degrees: float, origin: tuple[float, float]) -> Geometry:
    """``affinity.rotate(geometry, degrees, origin=origin)`` (see :func:`_affine`)."""
    angle = degrees * math.pi / 180.0
    cosp, sinp = math.cos(angle), math.sin(angle)
    cosp = 0.0 if abs(cosp) < 2.5e-16 else cosp
    sinp = 0.0 if abs(sinp) < 2.5e-16 else sinp
    x0, y0 = origin
    return _affine(
        geometry, cosp, -sinp, sinp, cosp, x0 - x0 * cosp + y0 * sinp, y0 - x0 * sinp - y0 * cosp
    )


def _bezier_edges(vertices: Points, bulge: npt.NDArray[np.float64]) -> Points:
    """Replace each edge by a quadratic Bézier curve, its control point pushed out by ``bulge``."""
    start = vertices
    end = np.roll(vertices, -1, axis=0)
    middle = 0.5 * (start + end)
    edge = end - start
    normal = np.stack([edge[:, 1], -edge[:, 0]], axis=1)
    control = middle + bulge[:, None] * normal
    length = np.linalg.norm(edge, axis=1).max()
    # Enough steps that the chord error of the curve stays within the tolerance.
    steps = int(np.clip(np.ceil(np.sqrt(length * np.abs(bulge).max() / CHORD_TOLERANCE)), 4, 64))
    t = np.linspace(0.0, 1.0, steps, endpoint=False)[None, :, None]
    curve = (1 - t) ** 2 * start[:, None] + 2 * (1 - t) * t * control[:, None] + t**2 * end[:, None]
    return curve.reshape(-1, 2)


def _largest_valid(geometry: Geometry) -> Geometry:
    """Make a geometry valid and keep its polygonal part."""
    if geometry.geom_type in ("Polygon", "MultiPolygon") and shapely.is_valid(geometry):
        return geometry  # (make_valid costs ~100x is_valid on a valid curved outline)
    # "structure" rebuilds the area the rings enclose (GEOS >= 3.10), ~20x faster than the
    # default "linework" on self-intersecting curved outlines, for the same area.
    geometry = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    polygons = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"]
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    return max(polygons, key=lambda g: g.area) if polygons else shapely.Polygon()


def sample_box(cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator) -> Geometry:
    half = rng.uniform(*cfg.box_half_extent, size=2)
    return box(centre, float(half[0]), float(half[1]))


def sample_polygon(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    """Star polygon: jittered angles, random radii, optionally quadratic Bézier edges."""
    n = int(rng.integers(cfg.polygon_vertices[0], cfg.polygon_vertices[1] + 1))
    step = 2 * math.pi / n
    angles = np.arange(n) * step + rng.uniform(-0.5, 0.5, n) * cfg.polygon_jitter * step
    angles += rng.uniform(0, 2 * math.pi)
    radii = rng.uniform(*cfg.polygon_radius, size=n)
    vertices = np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1)
    use_bezier = rng.random() < cfg.bezier_probability
    bulge = rng.uniform(-0.3, 0.3, n)
    if use_bezier:
        vertices = _bezier_edges(vertices, bulge)
    return _largest_valid(shapely.Polygon(vertices))


def sample_ellipse(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    a, b = rng.uniform(*cfg.ellipse_semi_axis, size=2)
    return ellipse(centre, float(a), float(b), float(rng.uniform(0, math.pi)))


_SIMPLE = {"box": sample_box, "polygon": sample_polygon, "ellipse": sample_ellipse}


def sample_simple(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    kind = ("box", "polygon", "ellipse")[int(rng.integers(3))]
    return _SIMPLE[kind](cfg, centre, rng=rng)


def sample_composite(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    """1-7 parts around ``centre``, each added to or subtracted from the first (holes)."""
    parts = int(rng.integers(cfg.composite_parts[0], cfg.composite_parts[1] + 1))
    result = sample_simple(cfg, centre, rng=rng)
    reach = math.sqrt(max(result.area, 1.0)) * 0.5
    for _ in range(parts - 1):
        offset = rng.normal(0.0, reach, size=2)
        part = sample_simple(cfg, (centre[0] + offset[0], centre[1] + offset[1]), rng=rng)
        part = _scaled(part, 0.5, 0.5)
        if rng.random() < cfg.subtract_probability:
            candidate = result.difference(part)
        else:
            candidate = result.union(part)
        if candidate.area > 0.1 * result.area:
            result = _largest_valid(candidate)
    return result


def sample_needle(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    """A simple shape, one axis squeezed to ``needle_squeeze`` of its size, at a random angle."""
    base = sample_simple(cfg, centre, rng=rng)
    squeezed = _scaled(base, 1.0, cfg.needle_squeeze, origin=centre)
    return _rotated(squeezed, float(rng.uniform(0, 180)), origin=centre)


def sample_outline(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    """A simple shape minus a copy of itself scaled by ``outline_ratio``: a thin frame."""
    base = sample_simple(cfg, centre, rng=rng)
    inner = _scaled(base, cfg.outline_ratio, cfg.outline_ratio, origin=centre)
    return _largest_valid(base.difference(inner))


def sample_crescent(
    cfg: Shapes, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    """An ellipse minus a shifted copy of itself."""
    base = sample_ellipse(cfg, centre, rng=rng)
    size = math.sqrt(base.area / math.pi)
    angle = rng.uniform(0, 2 * math.pi)
    shift = rng.uniform(*cfg.crescent_offset) * size
    cutter = _affine(base, 1.0, 0.0, 0.0, 1.0, shift * math.cos(angle), shift * math.sin(angle))
    return _largest_valid(base.difference(cutter))


SAMPLERS = {
    "box": sample_box,
    "polygon": sample_polygon,
    "ellipse": sample_ellipse,
    "composite": sample_composite,
    "needle": sample_needle,
    "outline": sample_outline,
    "crescent": sample_crescent,
}


def sample_shape(
    cfg: Shapes, kind: str, centre: tuple[float, float], *, rng: np.random.Generator
) -> Geometry:
    """One shape of ``kind`` (see ``schema.SHAPE_KINDS``) centred near ``centre``."""
    return SAMPLERS[kind](cfg, centre, rng=rng)


def rings(geometry: Geometry) -> list[Points]:
    """Every ring of a (multi)polygon as ``float64 (n, 2)``; exteriors and holes wind oppositely.

    With this orientation a point's winding number is non-zero exactly inside the shape, also for
    unions of several shapes.
    """
    out: list[Points] = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        polygon = shapely.geometry.polygon.orient(polygon, sign=1.0)
        out.append(np.asarray(polygon.exterior.coords, dtype=np.float64)[:-1])
        out.extend(np.asarray(r.coords, dtype=np.float64)[:-1] for r in polygon.interiors)
    return out
