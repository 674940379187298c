"""Pictures of flow, masks and labels, and contact sheets that tile them.

Every function returns ``uint8 (H, W, 3)`` RGB, ready for :func:`flowsynth.io.write_png`.
No randomness: the same input gives the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.base.conventions import UNKNOWN_FLOW_THRESHOLD, check_flow

# Middlebury colour wheel segments (Baker et al., IJCV 2011): red-yellow, yellow-green,
# green-cyan, cyan-blue, blue-magenta, magenta-red.
_SEGMENTS = (15, 6, 4, 11, 13, 6)
#: Grey level of a sheet's background, the colour of its text, and the font it is written in.
BACKGROUND = 40
TEXT_COLOUR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def make_colour_wheel() -> npt.NDArray[np.float64]:
    """The Middlebury colour wheel: ``float64 (55, 3)`` RGB in ``[0, 255]``."""
    columns = []
    # Each segment ramps one channel up or down while another stays at 255.
    ramps = (
        (1, "up", 0),
        (0, "down", 1),
        (2, "up", 1),
        (1, "down", 2),
        (0, "up", 2),
        (2, "down", 0),
    )
    for count, (channel, direction, full) in zip(_SEGMENTS, ramps, strict=True):
        ramp = np.floor(255 * np.arange(count) / count)
        segment = np.zeros((count, 3))
        segment[:, full] = 255
        segment[:, channel] = ramp if direction == "up" else 255 - ramp
        columns.append(segment)
    return np.concatenate(columns)


def _known(flow: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return np.all(np.abs(flow) <= UNKNOWN_FLOW_THRESHOLD, axis=2)


def flow_to_color(
    flow: npt.NDArray[np.float32], max_magnitude: float | None = None
) -> npt.NDArray[np.uint8]:
    """Colour-code flow with the Middlebury wheel: hue is direction, saturation is speed.

    Convention: ``u`` (x, right) and ``v`` (y, down); the hue is taken from
    ``atan2(-v, -u) / pi`` as in the reference code, so motion to the right is red, down
    (``v > 0``) is yellow, left is cyan-blue and up is blue-violet. Zero flow is white.

    Parameters
    ----------
    flow : float32 (H, W, 2)
    max_magnitude : float, optional
        The speed shown fully saturated; faster pixels are dimmed to 75 %. Defaults to the
        largest known speed in ``flow``.

    Returns
    -------
    uint8 (H, W, 3)
        RGB; black where the flow is non-finite or above ``1e9`` (Middlebury "unknown").
    """
    check_flow(flow)
    known = _known(flow)
    u = np.where(known, flow[..., 0], 0).astype(np.float64)
    v = np.where(known, flow[..., 1], 0).astype(np.float64)
    radius = np.hypot(u, v)
    if max_magnitude is None:
        max_magnitude = float(radius.max(initial=0.0))
    if not max_magnitude >= 0:
        raise ValueError(f"max_magnitude must be non-negative, got {max_magnitude}")
    scale = max_magnitude + 1e-5
    image = _wheel_colours(u / scale, v / scale)
    image[~known] = 0
    return image


def _wheel_colours(u: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """The reference ``computeColor`` for flow normalised so that radius 1 is saturated."""
    wheel = make_colour_wheel() / 255
    count = len(wheel)
    radius = np.hypot(u, v)
    angle = np.arctan2(-v, -u) / np.pi
    position = (angle + 1) / 2 * (count - 1)
    k0 = np.floor(position).astype(np.int64)
    k1 = (k0 + 1) % count
    fraction = (position - k0)[..., None]
    colour = (1 - fraction) * wheel[k0] + fraction * wheel[k1]
    inside = (radius <= 1)[..., None]
    colour = np.where(inside, 1 - radius[..., None] * (1 - colour), colour * 0.75)
    return np.floor(255 * colour).astype(np.uint8)


def colour_wheel_legend(size: int = 64) -> npt.NDArray[np.uint8]:
    """A ``size x size`` key to :func:`flow_to_color`: each pixel's flow is its offset from the
    centre, and the inscribed circle is fully saturated.

    Returns
    -------
    uint8 (size, size, 3)
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    centre = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) - np.float32(centre)
    flow = np.dstack([x, y]).astype(np.float32)
    return flow_to_color(flow, max_magnitude=max(centre, 0.5))


def mask_to_image(mask: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """White where ``mask`` is True (non-zero), black elsewhere.

    Parameters
    ----------
    mask : bool (H, W)
        Other dtypes are taken as ``mask != 0``.

    Returns
    -------
    uint8 (H, W, 3)
    """
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    grey = np.where(mask.astype(bool), np.uint8(255), np.uint8(0))
    return np.repeat(grey[..., None], 3, axis=2)


def label_to_color(labels: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    """A fixed colour per label id, from a hash of the id: 0 is black, others bright-ish.

    The colour of an id does not depend on the other ids present, so it is the same across
    images and frames.

    Parameters
    ----------
    labels : integer or bool (H, W)

    Returns
    -------
    uint8 (H, W, 3)
    """
    if labels.ndim != 2 or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise ValueError(f"labels must be integer (H, W), got {labels.dtype} {labels.shape}")
    ids, inverse = np.unique(labels, return_inverse=True)
    palette = _hash_colours(ids.astype(np.int64).view(np.uint64))
    palette[ids == 0] = 0
    return palette[inverse.reshape(labels.shape)]


def _hash_colours(ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """SplitMix64 finaliser of each id, three bytes mapped into ``[64, 255]``."""
    x = ids + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    channels = [(x >> np.uint64(shift)) & np.uint64(255) for shift in (0, 8, 16)]
    return (64 + np.stack(channels, axis=-1) * 3 // 4).astype(np.uint8)


def _as_rgb(item: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """One contact-sheet cell as ``uint8 (H, W, 3)``: see :func:`contact_sheet`."""
    array = np.asarray(item)
    if array.dtype == bool and array.ndim == 2:
        return mask_to_image(array)
    if array.ndim == 3 and array.shape[2] == 2 and np.issubdtype(array.dtype, np.floating):
        return flow_to_color(array.astype(np.float32))
    if array.dtype == np.uint8 and array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] in (1, 3):
        return np.repeat(array, 3 // array.shape[2], axis=2)
    raise ValueError(
        "contact_sheet cells must be uint8 (H, W) or (H, W, 3), bool (H, W) or float flow "
        f"(H, W, 2); got {array.dtype} {array.shape}"
    )


def _resize(image: npt.NDArray[np.uint8], scale: float) -> npt.NDArray[np.uint8]:
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Area averaging shrinks without aliasing; nearest keeps pixels crisp when enlarging.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    resized: npt.NDArray[np.uint8] = np.asarray(
        cv2.resize(image, size, interpolation=interpolation), np.uint8
    )
    return resized


def _fit_text(text: str, width: int, font_scale: float) -> str:
    """``text`` shortened until it fits ``width`` pixels."""
    while text and cv2.getTextSize(text, FONT, font_scale, 1)[0][0] > width:
        text = text[:-1]
    return text


def _draw_titles(
    sheet: npt.NDArray[np.uint8],
    titles: list[str],
    lefts: list[int],
    widths: list[int],
    baseline_y: int,
    font_scale: float,
    baselines: list[int] | None = None,
) -> None:
    """Each title at its left edge, cut to its width, on ``baseline_y`` (or its own baseline)."""
    ys = baselines if baselines is not None else [baseline_y] * len(titles)
    for title, left, width, y in zip(titles, lefts, widths, ys, strict=False):
        text = _fit_text(title, width, font_scale)
        if text:
            cv2.putText(sheet, text, (left, y), FONT, font_scale, TEXT_COLOUR, 1, cv2.LINE_AA)


def contact_sheet(
    rows: Sequence[Sequence[npt.NDArray[Any] | None]],
    titles: list[str] | None = None,
    scale: float = 1.0,
    gap: int = 4,
    row_titles: Sequence[str] | None = None,
) -> npt.NDArray[np.uint8]:
    """Tile images of any sizes into a grid, with optional column titles.

    Parameters
    ----------
    rows : list of lists of arrays
        Each cell is ``uint8 (H, W, 3)`` RGB, ``uint8 (H, W)`` grey, ``bool (H, W)`` (a mask,
        drawn white) or ``float (H, W, 2)`` (flow, drawn with :func:`flow_to_color`); or
        ``None`` for an empty cell. Rows may have different lengths.
    titles : list of str, optional
        One title per column (at most as many as columns), written above it.
    scale : float
        Resize factor applied to every cell.
    gap : int
        Pixels of background between cells and around the sheet.
    row_titles : list of str, optional
        One label per row (e.g. the sample index), written unscaled in a column left of the
        cells, at the row's top.

    Returns
    -------
    uint8 (H, W, 3)
        Each column as wide as its widest cell, each row as tall as its tallest; cells sit at
        their cell's top-left corner on a dark background.
    """
    if not scale > 0 or gap < 0:
        raise ValueError(f"need scale > 0 and gap >= 0, got scale={scale}, gap={gap}")
    cells = [
        [None if item is None else _resize(_as_rgb(item), scale) for item in row] for row in rows
    ]
    columns = max((len(row) for row in cells), default=0)
    if columns == 0:
        raise ValueError("contact_sheet needs at least one cell")
    if titles is not None and len(titles) > columns:
        raise ValueError(f"{len(titles)} titles for {columns} columns")
    if row_titles is not None and len(row_titles) != len(rows):
        raise ValueError(f"{len(row_titles)} row titles for {len(rows)} rows")
    widths, heights = _cell_sizes(cells, columns)
    font_scale = 0.4
    (_, text_height), descent = cv2.getTextSize("Ag", FONT, font_scale, 1)
    title_band = text_height + descent + 4 if titles else 0
    label_band = (
        max(cv2.getTextSize(t, FONT, font_scale, 1)[0][0] for t in row_titles) + gap
        if row_titles
        else 0
    )
    lefts = [label_band + gap + sum(widths[:c]) + gap * c for c in range(columns)]
    sheet = np.full(
        (
            title_band + sum(heights) + gap * (len(rows) + 1),
            label_band + sum(widths) + gap * (columns + 1),
            3,
        ),
        BACKGROUND,
        np.uint8,
    )
    if titles:
        _draw_titles(sheet, titles, lefts, widths, gap + text_height + 2, font_scale)
    if row_titles:
        tops = [title_band + gap + sum(heights[:r]) + gap * r for r in range(len(rows))]
        _draw_titles(
            sheet,
            list(row_titles),
            [gap] * len(rows),
            [label_band] * len(rows),
            0,
            font_scale,
            baselines=[top + text_height + 2 for top in tops],
        )
    _paste_cells(sheet, cells, lefts, heights, title_band + gap, gap)
    return sheet


def _cell_sizes(
    cells: list[list[npt.NDArray[np.uint8] | None]], columns: int
) -> tuple[list[int], list[int]]:
    """Each column's width (its widest cell) and each row's height (its tallest cell)."""
    widths = [
        max(
            (cell.shape[1] for row in cells for cell in row[c : c + 1] if cell is not None),
            default=0,
        )
        for c in range(columns)
    ]
    heights = [max((cell.shape[0] for cell in row if cell is not None), default=0) for row in cells]
    return widths, heights


def _paste_cells(
    sheet: npt.NDArray[np.uint8],
    cells: list[list[npt.NDArray[np.uint8] | None]],
    lefts: list[int],
    heights: list[int],
    top: int,
    gap: int,
) -> None:
    """Copy each cell to its cell's top-left corner, rows from ``top`` down, ``gap`` apart."""
    for row, height in zip(cells, heights, strict=True):
        for cell, left in zip(row, lefts, strict=False):
            if cell is not None:
                sheet[top : top + cell.shape[0], left : left + cell.shape[1]] = cell
        top += height + gap
