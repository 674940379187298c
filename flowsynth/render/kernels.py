"""Compiled inner loops of the renderer (numba): occlusion, and the passes that draw a layer
into a frame.

Written with numpy, the renderer made a dozen array passes per layer and frame whose fixed cost
and memory traffic dominated the render time. These kernels do the work in compiled loops on
top of the scanline rasteriser (:mod:`flowsynth.render.scan`): :func:`footprint` one pass per
layer and frame for its coverage, owned pixel centres and what the layers in front leave of
them (:func:`unhidden` for the background), :func:`occluded` one call per layer and frame for
the front layers' outlines pulled back through its motion, :func:`composite` one pass per layer
and frame for positions, colour and ground truth (:func:`truth` the ground truth alone). For
sequences, :func:`carried` takes a layer's pixels from one frame to another through two maps,
flow and occlusion in one pass, over the box of its pixels (:func:`boxes`).
``tests/render/test_kernels.py`` pins them against direct references: numpy arithmetic, and
the fused passes against the kernels they fuse.

Rings are passed packed as :mod:`flowsynth.render.scan` says: ``points`` ``float64 (n, 2)``
and ``ends`` ``int64 (r,)``, the index one past each ring's last vertex.

Compiled as ``flowsynth.base.compiled`` says (cached on disk; no fast-math, so the same bytes on
every CPU). Motions come as :data:`flowsynth.scene.kernels.Motion` and are applied by
:func:`flowsynth.scene.kernels.move`.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from flowsynth.base.compiled import array_type, compiled, jit
from flowsynth.render.scan import _IN_POINTS, _ROI, _coverage_steps, _inside_steps, _share, inside
from flowsynth.scene.kernels import MOTION_TYPE, Ends, Motion, Points, map_points, move, subdivide

# Kernels compiled with a signature (``compiled(...)``) have one version for every call: inputs
# are declared read-only, outputs writable, and arrays that callers pass as views or broadcasts of
# any layout; the few inputs that always come contiguous (the rasteriser's outputs) are declared
# so, for faster code.

_b, _u8, _u16, _i64 = numba.types.boolean, numba.types.uint8, numba.types.uint16, numba.types.int64
_f32, _f64 = numba.types.float32, numba.types.float64
_BOUNDARIES = array_type(_b, 2, layout="C")(array_type(_f32, 3, readonly=True), _f32)
# Masks and coverage come straight from the rasteriser (``scan``): contiguous (faster code).
_F32_C = array_type(_f32, 2, readonly=True, layout="C")
_BOOL_C = array_type(_b, 2, readonly=True, layout="C")
_UNHIDDEN = numba.types.Tuple(
    (
        array_type(_i64, 1, layout="C"),
        array_type(_f32, 2, layout="C"),
        array_type(_b, 2, layout="C"),
        array_type(_i64, 2, layout="C"),
    )
)(array_type(_b, 2, layout="C"), array_type(_b, 2, layout="C"), *_ROI, _F32_C, _BOOL_C, _b)
_FOOTPRINT = _UNHIDDEN.return_type(
    *_IN_POINTS, *_ROI, _i64, array_type(_b, 2, layout="C"), array_type(_b, 2, layout="C")
)
_OCCLUDED = array_type(_b, 2, layout="C")(
    *_IN_POINTS,
    array_type(_i64, 1, readonly=True),  # layer_rings
    array_type(_f64, 2, readonly=True),  # bounds
    _i64,  # first layer
    numba.types.UniTuple(_f64, 4),  # reach
    _b,  # anywhere
    _f64,  # max_edge
    *_ROI,
    MOTION_TYPE,
)
_CARRIED = numba.types.void(
    *_OCCLUDED.args[:4],  # the outlines
    *_OCCLUDED.args[5:7],  # reach, anywhere
    array_type(_u16, 2, readonly=True, layout="C"),  # owner
    _i64,  # layer
    *_ROI,
    MOTION_TYPE,  # here
    MOTION_TYPE,  # here's inverse
    _f64,  # here's max_edge
    MOTION_TYPE,  # there
    MOTION_TYPE,  # there's inverse
    _f64,  # there's max_edge
    array_type(_f32, 3, layout="C"),  # flow
    array_type(_b, 2, layout="C"),  # occlusion
)
_BOXES = array_type(_i64, 2, layout="C")(array_type(_u16, 2, readonly=True, layout="C"), _i64)
_COLOURED = numba.types.void(
    array_type(_u8, 3, layout="C"),
    array_type(_u16, 2, layout="C"),
    _i64,
    *_ROI,
    array_type(_u8, 3, readonly=True, layout="C"),
    _i64,
    _i64,
    _F32_C,
    _BOOL_C,
    array_type(_i64, 2, readonly=True, layout="C"),
    MOTION_TYPE,
)
_TRUTH = numba.types.void(
    array_type(_f32, 3, layout="C"),
    array_type(_b, 2, layout="C"),
    array_type(_u16, 2, layout="C"),
    _i64,
    *_ROI,
    _BOOL_C,
    _BOOL_C,
    array_type(_i64, 2, readonly=True, layout="C"),
    MOTION_TYPE,
)
_COMPOSITE = numba.types.void(
    array_type(_u8, 3, layout="C"),
    array_type(_f32, 3, layout="C"),
    array_type(_b, 2, layout="C"),
    array_type(_u16, 2, layout="C"),
    _i64,
    *_ROI,
    array_type(_u8, 3, readonly=True, layout="C"),
    _i64,
    _i64,
    _F32_C,
    _b,
    _BOOL_C,
    _b,
    _BOOL_C,
    array_type(_i64, 2, readonly=True, layout="C"),
    MOTION_TYPE,
)


@jit
def _takes(
    box: npt.NDArray[np.float64],
    reach: tuple[float, float, float, float],
    anywhere: bool,
    rings: int,
) -> bool:
    """Whether :func:`_taken` takes a layer of ``rings`` rings within ``box``."""
    meets = box[0] <= reach[2] and reach[0] <= box[2] and box[1] <= reach[3] and reach[1] <= box[3]
    return rings > 0 and (anywhere or meets)


@jit
def _taken(
    points: Points,
    ends: Ends,
    layer_rings: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.float64],
    first: int,
    reach: tuple[float, float, float, float],
    anywhere: bool,
) -> tuple[Points, Ends]:
    """The rings of the layers ``first`` and later whose bounds meet ``reach`` (every one if
    ``anywhere``), in layer order, packed anew (none: empty arrays). ``points`` and ``ends``
    pack the rings of every layer, layer ``l`` owning rings ``layer_rings[l] ..
    layer_rings[l + 1] - 1``, inside ``bounds[l]`` (xmin, ymin, xmax, ymax)."""
    count = rings = 0
    for layer in range(first, layer_rings.shape[0] - 1):
        r0, r1 = layer_rings[layer], layer_rings[layer + 1]
        if _takes(bounds[layer], reach, anywhere, r1 - r0):
            count += ends[r1 - 1] - (ends[r0 - 1] if r0 else 0)
            rings += r1 - r0
    taken = np.empty((count, 2), np.float64)
    taken_ends = np.empty(rings, np.int64)
    count = rings = 0
    for layer in range(first, layer_rings.shape[0] - 1):
        r0, r1 = layer_rings[layer], layer_rings[layer + 1]
        if _takes(bounds[layer], reach, anywhere, r1 - r0):
            for ring in range(r0, r1):
                start = ends[ring - 1] if ring else 0
                for n in range(start, ends[ring]):
                    taken[count, 0], taken[count, 1] = points[n, 0], points[n, 1]
                    count += 1
                taken_ends[rings] = count
                rings += 1
    return taken, taken_ends


@jit
def _moved(points: Points, ends: Ends, max_edge: float, motion: Motion) -> tuple[Points, Ends]:
    """Packed rings moved by a motion (:func:`map_points`), subdivided first
    (:func:`subdivide`) with ``max_edge > 0``, as a deformation needs."""
    if max_edge > 0:
        points, ends = subdivide(points, ends, max_edge)
    return map_points(points, motion), ends


@compiled(_OCCLUDED)
def occluded(
    points: Points,
    ends: Ends,
    layer_rings: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.float64],
    first: int,
    reach: tuple[float, float, float, float],
    anywhere: bool,
    max_edge: float,
    x0: int,
    y0: int,
    height: int,
    width: int,
    motion: Motion,
) -> npt.NDArray[np.bool_]:
    """``bool (height, width)``: pixel centres of a ROI inside the union of layers' outlines
    moved by a layer's motion (:func:`inside` of :func:`map_points`).

    The outlines taken are those of layers ``first`` and later whose bounds meet ``reach``
    (every one if ``anywhere``), in layer order (:func:`_taken`: ``points`` ... ``anywhere``);
    with ``max_edge > 0`` they are subdivided (:func:`subdivide`) before they are moved, as a
    deformation needs.
    """
    taken, taken_ends = _taken(points, ends, layer_rings, bounds, first, reach, anywhere)
    if taken_ends.shape[0] == 0:
        return np.zeros((height, width), np.bool_)
    moved, moved_ends = _moved(taken, taken_ends, max_edge, motion)
    return inside(moved, moved_ends, x0, y0, height, width)


@compiled(_CARRIED)
def carried(
    points: Points,
    ends: Ends,
    layer_rings: npt.NDArray[np.int64],
    bounds: npt.NDArray[np.float64],
    reach: tuple[float, float, float, float],
    anywhere: bool,
    owner: npt.NDArray[np.uint16],
    layer: int,
    x0: int,
    y0: int,
    height: int,
    width: int,
    here: Motion,
    here_inverse: Motion,
    here_edge: float,
    there: Motion,
    there_inverse: Motion,
    there_edge: float,
    flow: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
) -> None:
    """Flow and occlusion of a layer's pixels from one frame of a sequence to another: the
    pixels of ``owner`` (``uint16 (H, W)``, the first frame's segmentation) labelled ``layer``,
    all within a ROI, written into ``flow`` (``float32 (H, W, 2)``) and ``occlusion``
    (``bool (H, W)``).

    ``here`` and ``there`` are the layer's maps from the sequence's first frame to the two, with
    their inverses and the edge bounds (``max_edge``) of :func:`occluded`. Pixel centre ``q``
    goes to ``r = there(here^-1(q))``, in float64 but for the sines (:func:`map_points` twice);
    its flow is ``r - q``, rounded to float32. ``q`` is occluded where ``r`` leaves
    ``[-0.5, W - 0.5] x [-0.5, H - 0.5]`` or lies in a layer in front there: ``q`` inside the
    outlines there of the layers after ``layer`` that :func:`_taken` takes (``points`` ..
    ``anywhere``), pulled back by ``there^-1`` then ``here``, each map after its subdivision
    (:func:`_moved`).
    """
    first = layer + 1
    taken, taken_ends = _taken(points, ends, layer_rings, bounds, first, reach, anywhere)
    if taken_ends.shape[0]:
        back, back_ends = _moved(taken, taken_ends, there_edge, there_inverse)
        pulled, pulled_ends = _moved(back, back_ends, here_edge, here)
        covered = inside(pulled, pulled_ends, x0, y0, height, width)
    else:
        covered = np.zeros((height, width), np.bool_)
    right, bottom = flow.shape[1] - 0.5, flow.shape[0] - 0.5
    row_x, row_y, total = np.empty(width), np.empty(width), np.empty(width)
    row_u, row_v = np.empty(width, np.float32), np.empty(width, np.float32)
    row_hidden = np.empty(width, np.bool_)
    mine = np.uint16(layer)
    for i in range(height):
        y = y0 + i
        labels = owner[y, x0 : x0 + width]
        lo, hi = 0, width  # the row's span, from its first to its last pixel of the layer
        while lo < hi and labels[lo] != mine:
            lo += 1
        while hi > lo and labels[hi - 1] != mine:
            hi -= 1
        n, x = hi - lo, x0 + lo  # n pixels from frame column x
        xs, ys = row_x[:n], row_y[:n]
        for j in range(n):  # the span's pixel centres, then where they go
            xs[j], ys[j] = x + j, y
        move(xs, ys, total[:n], here_inverse)
        move(xs, ys, total[:n], there)
        for j in range(n):  # the span's ground truth (a loop without branches), then the layer's
            u, v = xs[j], ys[j]
            row_u[j], row_v[j] = u - (x + j), v - y
            row_hidden[j] = (
                covered[i, lo + j] | (u < -0.5) | (u > right) | (v < -0.5) | (v > bottom)
            )
        flows, hidden = flow[y, x : x + n], occlusion[y, x : x + n]
        for j in range(n):
            if labels[lo + j] == mine:
                flows[j, 0], flows[j, 1], hidden[j] = row_u[j], row_v[j], row_hidden[j]


@compiled(_BOXES)
def boxes(labels: npt.NDArray[np.uint16], count: int) -> npt.NDArray[np.int64]:
    """``int64 (count, 4)``: the box ``(x0, y0, width, height)`` of the pixels of each label
    ``0 .. count - 1`` of ``labels`` (``uint16 (H, W)``; all 0 for a label with none; larger
    labels are ignored)."""
    height, width = labels.shape
    low = np.full((count, 2), max(height, width), np.int64)
    high = np.full((count, 2), -1, np.int64)
    for i in range(height):
        row, j = labels[i], 0
        while j < width:  # a run of one label: columns start .. j - 1
            label, start = row[j], j
            while j < width and row[j] == label:
                j += 1
            if label < count:
                low[label, 0], high[label, 0] = (
                    min(low[label, 0], start),
                    max(high[label, 0], j - 1),
                )
                low[label, 1], high[label, 1] = min(low[label, 1], i), max(high[label, 1], i)
    box = np.zeros((count, 4), np.int64)
    for label in range(count):
        if high[label, 0] >= 0:
            box[label, 0], box[label, 1] = low[label, 0], low[label, 1]
            box[label, 2] = high[label, 0] - low[label, 0] + 1
            box[label, 3] = high[label, 1] - low[label, 1] + 1
    return box


@jit
def _blend(pixel: npt.NDArray[np.uint8], c: int, value: int, a: float) -> None:
    """``pixel[c]`` becomes ``value * a + pixel[c] * (1 - a)`` rounded half up (``a`` in (0, 1]).

    A convex combination of bytes lies in [0, 255], so +0.5 and truncation round.
    """
    if a >= np.float32(1.0):  # what the blend gives, without the arithmetic
        pixel[c] = value
    else:
        rest = np.float32(1.0) - a
        pixel[c] = np.uint8(np.float32(value) * a + np.float32(pixel[c]) * rest + np.float32(0.5))


@jit
def _truth(
    flow: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    i: int,
    lo: int,
    x: int,
    y: int,
    xs: npt.NDArray[np.float32],
    ys: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
    covered: npt.NDArray[np.bool_],
) -> None:
    """The ground truth of a span of :func:`composite` (ROI row ``i`` from column ``lo``, frame
    row ``y`` from column ``x``; ``xs``, ``ys`` where its pixel centres go), where the layer
    owns the pixel centres: flow, occlusion, segmentation."""
    right, bottom = np.float32(flow.shape[1] - 0.5), np.float32(flow.shape[0] - 0.5)
    edge = np.float32(-0.5)
    n = xs.shape[0]
    flows = flow[y, x : x + n]
    hidden = occlusion[y, x : x + n]
    ids = segmentation[y, x : x + n]
    for j in range(n):
        if has_owner and not owned[i, lo + j]:
            continue
        u, v = xs[j], ys[j]
        flows[j, 0] = u - np.float32(x + j)
        flows[j, 1] = v - np.float32(y)
        hidden[j] = covered[i, lo + j] | (u < edge) | (u > right) | (v < edge) | (v > bottom)
        ids[j] = layer_id


@jit
def _ids(
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    i: int,
    lo: int,
    x: int,
    y: int,
    n: int,
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
) -> None:
    """:func:`_truth`'s segmentation alone."""
    ids = segmentation[y, x : x + n]
    for j in range(n):
        if not has_owner or owned[i, lo + j]:
            ids[j] = layer_id


@jit
def _draw(
    image: npt.NDArray[np.uint8],
    flow: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    x0: int,
    y0: int,
    height: int,
    width: int,
    texture: npt.NDArray[np.uint8],
    origin_x: int,
    origin_y: int,
    alpha: npt.NDArray[np.float32],
    has_alpha: bool,
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
    covered: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
    motion: Motion,
    colour: bool,
    truth: bool,
) -> None:
    """The pass of :func:`composite`: its colour only with ``colour``, its flow and occlusion
    only with ``truth`` (the arrays of the part left out are not read; the flags are tested
    once per row, the loops over a row's pixels have none)."""
    backward = motion[6]  # (the inverse motion: frame 2 is drawn)
    one, half = np.float32(1.0), np.float32(0.5)
    row_x = np.empty(width, np.float32)
    row_y = np.empty(width, np.float32)
    total = np.empty(width, np.float32)
    tx, ty = np.float32(origin_x), np.float32(origin_y)
    last_x, last_y = texture.shape[1] - 1, texture.shape[0] - 1
    for i in range(height):
        y = y0 + i
        lo, hi = spans[i, 0], spans[i, 1]
        if lo >= hi:
            continue
        n, x = hi - lo, x0 + lo  # the span: n pixels from frame column x
        xs, ys = row_x[:n], row_y[:n]
        for j in range(n):  # the span's pixel centres, then where they go
            xs[j], ys[j] = np.float32(x + j), np.float32(y)
        move(xs, ys, total[:n], motion)
        if colour:
            pixels = image[y, x : x + n]
            if not backward:  # frame 1: the texture as it is
                source = texture[y - origin_y, x - origin_x : x - origin_x + n]
                for j in range(n):
                    a = alpha[i, lo + j] if has_alpha else one
                    if a > 0:  # (a == 0: nothing of the layer here; the pixel stays as it is)
                        for c in range(3):
                            _blend(pixels[j], c, source[j, c], a)
            else:  # frame 2: bilinear texture values at the frame-1 positions, edges replicated
                for j in range(n):
                    a = alpha[i, lo + j] if has_alpha else one
                    if a <= 0:
                        continue
                    sx, sy = xs[j] - tx, ys[j] - ty
                    fx, fy = np.floor(sx), np.floor(sy)
                    wx, wy = sx - fx, sy - fy
                    c0, c1 = min(max(int(fx), 0), last_x), min(max(int(fx) + 1, 0), last_x)
                    r0, r1 = min(max(int(fy), 0), last_y), min(max(int(fy) + 1, 0), last_y)
                    for c in range(3):
                        upper = (
                            np.float32(texture[r0, c0, c]) * (one - wx)
                            + np.float32(texture[r0, c1, c]) * wx
                        )
                        lower = (
                            np.float32(texture[r1, c0, c]) * (one - wx)
                            + np.float32(texture[r1, c1, c]) * wx
                        )
                        _blend(pixels[j], c, np.uint8(upper * (one - wy) + lower * wy + half), a)
        if truth:
            _truth(
                flow, occlusion, segmentation, layer_id, i, lo, x, y, xs, ys, owned, has_owner,
                covered,
            )  # fmt: skip
        else:
            _ids(segmentation, layer_id, i, lo, x, y, n, owned, has_owner)


@compiled(_COMPOSITE)
def composite(
    image: npt.NDArray[np.uint8],
    flow: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    x0: int,
    y0: int,
    height: int,
    width: int,
    texture: npt.NDArray[np.uint8],
    origin_x: int,
    origin_y: int,
    alpha: npt.NDArray[np.float32],
    has_alpha: bool,
    owned: npt.NDArray[np.bool_],
    has_owner: bool,
    covered: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
    motion: Motion,
) -> None:
    """Draw one layer into a frame's ROI and write its ground truth where it owns pixels.

    ``image`` (uint8 (H, W, 3)), ``flow`` (float32 (H, W, 2)), ``occlusion`` and
    ``segmentation`` are the whole frame's arrays; the ROI is rows ``y0 .. y0 + height - 1``,
    columns ``x0 .. x0 + width - 1``, and ``alpha``, ``owned`` and ``covered`` are
    ``(height, width)``. Only columns ``spans[i, 0] .. spans[i, 1] - 1`` of ROI row ``i`` are
    drawn (``int64 (height, 2)``, as :func:`unhidden` gives them; ``[0, width]`` for all): the
    pixels outside them must have ``alpha`` 0 and no owner. Each drawn pixel centre ``p`` goes
    to ``q`` in the other frame by ``motion``, in float32 (``scene.kernels.move``; an inverse
    motion draws frame 2, its positions in frame 1).

    - colour: frame 1 shows the texture as it is (texture pixel ``(0, 0)`` sits at frame pixel
      ``(origin_x, origin_y)``); frame 2 samples it bilinearly at ``q`` (edges replicated),
      rounded to a byte. The image becomes ``colour * alpha + image * (1 - alpha)`` rounded
      half up (plain ``colour`` without alpha).
    - where the layer owns the pixel centre (everywhere without an owner mask): flow
      ``q - p``, occlusion ``covered`` or ``q`` outside
      ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``, and segmentation ``layer_id``.

    One compiled pass over the ROI, kept whole: colour and ground truth of a pixel come from the
    same ``q``, and splitting the loop would move each row through memory twice.
    """
    _draw(
        image, flow, occlusion, segmentation, layer_id, x0, y0, height, width, texture, origin_x,
        origin_y, alpha, has_alpha, owned, has_owner, covered, spans, motion, True, True,
    )  # fmt: skip


@compiled(_TRUTH)
def truth(
    flow: npt.NDArray[np.float32],
    occlusion: npt.NDArray[np.bool_],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    x0: int,
    y0: int,
    height: int,
    width: int,
    owned: npt.NDArray[np.bool_],
    covered: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
    motion: Motion,
) -> None:
    """:func:`composite`'s ground truth alone, with an owner mask: the same flow, occlusion and
    segmentation, and no colour (for a frame whose image is drawn already)."""
    image = np.zeros((1, 1, 3), np.uint8)  # placeholders, unread
    _draw(
        image, flow, occlusion, segmentation, layer_id, x0, y0, height, width, image, 0, 0,
        np.zeros((1, 1), np.float32), False, owned, True, covered, spans, motion, False, True,
    )  # fmt: skip


@compiled(_COLOURED)
def coloured(
    image: npt.NDArray[np.uint8],
    segmentation: npt.NDArray[np.uint16],
    layer_id: int,
    x0: int,
    y0: int,
    height: int,
    width: int,
    texture: npt.NDArray[np.uint8],
    origin_x: int,
    origin_y: int,
    alpha: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
    motion: Motion,
) -> None:
    """:func:`composite` without flow and occlusion, with alpha and an owner mask: the same
    colour and segmentation (for a frame whose ground truth is not kept)."""
    flow, mask = np.zeros((1, 1, 2), np.float32), np.zeros((1, 1), np.bool_)  # placeholders, unread
    _draw(
        image, flow, mask, segmentation, layer_id, x0, y0, height, width, texture, origin_x,
        origin_y, alpha, True, owned, True, mask, spans, motion, True, False,
    )  # fmt: skip


@jit
def _hide_row(
    shown: npt.NDArray[np.bool_],
    kept: npt.NDArray[np.bool_],
    row_alpha: npt.NDArray[np.float32],
    row_owned: npt.NDArray[np.bool_],
) -> tuple[int, int]:
    """One row of :func:`unhidden`, in place: the layer's ``row_alpha`` and ``row_owned`` less
    what the layers in front settle (``shown``: covered fully; ``kept``: owned), then the
    layer's own full coverage and ownership added to ``shown`` and ``kept``. Returns the row's
    span ``[start, stop)`` from its first to its last non-zero (``(0, 0)`` for none)."""
    zero, one = np.float32(0.0), np.float32(1.0)
    width = row_alpha.shape[0]
    for j in range(width):
        a, mine = row_alpha[j], row_owned[j]
        row_alpha[j] = zero if shown[j] else a
        row_owned[j] = mine and not kept[j]
        shown[j] = shown[j] or a >= one
        kept[j] = kept[j] or mine
    j = 0
    while j < width and row_alpha[j] <= zero and not row_owned[j]:
        j += 1
    if j == width:
        return 0, 0
    start = j
    j = width - 1
    while row_alpha[j] <= zero and not row_owned[j]:
        j -= 1
    return start, j + 1


@jit
def _cropped(
    x0: int,
    y0: int,
    alpha: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    spans: npt.NDArray[np.int64],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """``(box, alpha, owned, spans)`` cropped to the rows and columns that the row spans of a
    ROI at ``(x0, y0)`` hold (see :func:`unhidden`)."""
    height = spans.shape[0]
    top, bottom, first, last = height, -1, alpha.shape[1], 0
    for i in range(height):
        if spans[i, 1] > spans[i, 0]:
            top, bottom = min(top, i), i
            first, last = min(first, spans[i, 0]), max(last, spans[i, 1])
    box = np.array([x0 + first, y0 + top, max(last - first, 0), max(bottom - top + 1, 0)])
    rows, columns = slice(top, bottom + 1), slice(first, last)
    cropped = spans[rows].copy()
    for i in range(cropped.shape[0]):
        if cropped[i, 1] > cropped[i, 0]:
            cropped[i, 0] -= first
            cropped[i, 1] -= first
    return box, alpha[rows, columns].copy(), owned[rows, columns].copy(), cropped


@compiled(_UNHIDDEN)
def unhidden(
    opaque: npt.NDArray[np.bool_],
    claimed: npt.NDArray[np.bool_],
    x0: int,
    y0: int,
    height: int,
    width: int,
    alpha: npt.NDArray[np.float32],
    owned: npt.NDArray[np.bool_],
    whole: bool,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """What is left of a layer's footprint in a ROI once the layers in front of it are known.

    ``opaque`` and ``claimed`` (``bool (H, W)``, the whole frame) mark the pixels that a layer
    in front covers fully and owns; ``alpha`` and ``owned`` (``(height, width)``) are the
    layer's coverage and owned pixel centres in the ROI, or with ``whole`` the whole ROI, fully
    (both then unread). Returns ``(box, alpha, owned, spans)``: the layer's alpha where nothing
    in front covers the pixel fully (else 0) and its ownership where nothing in front owns it,
    cropped to the smallest box ``(x0, y0, width, height)`` holding every non-zero of them
    (width 0 when none), and for each row of the box the columns ``[start, stop)`` (box
    columns; ``[0, 0]`` for none) from its first to its last non-zero, for
    :func:`composite`. Then adds the layer's own full coverage and ownership to ``opaque`` and
    ``claimed``.
    """
    left_alpha = np.empty((height, width), np.float32)
    left_owned = np.empty((height, width), np.bool_)
    spans = np.zeros((height, 2), np.int64)
    for i in range(height):
        row_alpha, row_owned = left_alpha[i], left_owned[i]
        for j in range(width):
            row_alpha[j] = np.float32(1.0) if whole else alpha[i, j]
            row_owned[j] = True if whole else owned[i, j]
        spans[i, 0], spans[i, 1] = _hide_row(
            opaque[y0 + i, x0 : x0 + width], claimed[y0 + i, x0 : x0 + width], row_alpha, row_owned
        )
    return _cropped(x0, y0, left_alpha, left_owned, spans)


@compiled(_FOOTPRINT)
def footprint(
    points: Points,
    ends: Ends,
    x0: int,
    y0: int,
    height: int,
    width: int,
    sub: int,
    opaque: npt.NDArray[np.bool_],
    claimed: npt.NDArray[np.bool_],
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """:func:`unhidden` of the rings' :func:`coverage` (``sub`` sub-rows) and :func:`inside` in
    a ROI, in one pass over its pixels: the same result without the two whole-ROI masks."""
    winding_steps = _inside_steps(points, ends, x0, y0, height, width)
    steps, partial = _coverage_steps(points, ends, x0, y0, height, width, sub)
    left_alpha = np.empty((height, width), np.float32)
    left_owned = np.empty((height, width), np.bool_)
    spans = np.zeros((height, 2), np.int64)
    scale = np.float32(1.0 / sub)
    for i in range(height):
        row_alpha, row_owned = left_alpha[i], left_owned[i]
        running = winding = 0
        for j in range(width):
            running += steps[i, j]
            winding += winding_steps[i, j]
            row_alpha[j] = _share(running, partial[i, j], scale)
            row_owned[j] = winding != 0
        spans[i, 0], spans[i, 1] = _hide_row(
            opaque[y0 + i, x0 : x0 + width], claimed[y0 + i, x0 : x0 + width], row_alpha, row_owned
        )
    return _cropped(x0, y0, left_alpha, left_owned, spans)


@compiled(_BOUNDARIES)
def motion_boundaries(flow: npt.NDArray[np.float32], limit: float) -> npt.NDArray[np.bool_]:
    """``bool (H, W)``: pixels whose flow differs from a 4-neighbour's by more than ``sqrt(limit)``.

    ``flow`` is ``float32 (H, W, 2)``; the squared difference is taken in float32. Both pixels of
    a jumping neighbour pair are marked.
    """
    height, width = flow.shape[0], flow.shape[1]
    boundary = np.zeros((height, width), np.bool_)
    for i in range(height):
        for j in range(width):
            u, v = flow[i, j, 0], flow[i, j, 1]
            if j + 1 < width:
                du, dv = flow[i, j + 1, 0] - u, flow[i, j + 1, 1] - v
                if du * du + dv * dv > limit:
                    boundary[i, j] = boundary[i, j + 1] = True
            if i + 1 < height:
                du, dv = flow[i + 1, j, 0] - u, flow[i + 1, j, 1] - v
                if du * du + dv * dv > limit:
                    boundary[i, j] = boundary[i + 1, j] = True
    return boundary
