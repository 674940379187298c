"""Text and keys that make a contact sheet readable: row labels, a flow colour key with its
scale, grid overlays that show a deformation. Every function returns ``uint8 (H, W, 3)`` RGB."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.viz.pictures import BACKGROUND, FONT, TEXT_COLOUR, colour_wheel_legend

_FONT_SCALE = 0.4
_GRID_COLOUR = np.array([255, 220, 0], np.float32)  # yellow: stands out on grey and on labels


def _line_height(font_scale: float) -> int:
    (_, height), descent = cv2.getTextSize("Ag", FONT, font_scale, 1)
    return int(height + descent + 4)


def text_cell(
    lines: Sequence[str], *, height: int = 0, width: int = 0, font_scale: float = _FONT_SCALE
) -> npt.NDArray[np.uint8]:
    """Lines of white text on the sheet's background, top-left aligned.

    Parameters
    ----------
    lines : the text, one string a line.
    height, width : at least this many pixels; the cell grows to fit its text.

    Returns
    -------
    uint8 (h, w, 3)
    """
    step = _line_height(font_scale)
    text_width = max((cv2.getTextSize(t, FONT, font_scale, 1)[0][0] for t in lines), default=0)
    cell = np.full(
        (max(height, step * len(lines), 1), max(width, text_width + 4, 1), 3), BACKGROUND, np.uint8
    )
    for number, line in enumerate(lines):
        baseline = step * (number + 1) - 4
        cv2.putText(cell, line, (2, baseline), FONT, font_scale, TEXT_COLOUR, 1, cv2.LINE_AA)
    return cell


def flow_key(
    max_magnitude: float, notes: Sequence[str] = (), *, size: int = 64
) -> npt.NDArray[np.uint8]:
    """The colour wheel of :func:`~flowsynth.viz.pictures.flow_to_color` with its scale written
    beside it (``max 12.3 px``: the speed drawn fully saturated, the wheel's rim), then
    ``notes``, one a line.

    Returns
    -------
    uint8 (max(size, text), size + 8 + text width, 3)
    """
    lines = [
        "flow colours: hue = direction, saturation = speed",
        f"max {max_magnitude:.1f} px (the wheel's rim; faster pixels darker)",
        "right = red, down = yellow, left = cyan, up = violet",
        *notes,
    ]
    text = text_cell(lines, height=size)
    wheel = colour_wheel_legend(size)
    key = np.full((max(size, text.shape[0]), size + 8 + text.shape[1], 3), BACKGROUND, np.uint8)
    key[:size, :size] = wheel
    key[: text.shape[0], size + 8 :] = text
    return key


def stack_below(
    sheet: npt.NDArray[np.uint8], band: npt.NDArray[np.uint8], *, gap: int = 4
) -> npt.NDArray[np.uint8]:
    """``band`` under ``sheet``, ``gap`` pixels in from the left; the narrower one padded.

    Returns
    -------
    uint8 (sheet height + band height + gap, max(widths), 3)
    """
    width = max(sheet.shape[1], band.shape[1] + 2 * gap)
    out = np.full((sheet.shape[0] + band.shape[0] + gap, width, 3), BACKGROUND, np.uint8)
    out[: sheet.shape[0], : sheet.shape[1]] = sheet
    out[sheet.shape[0] : sheet.shape[0] + band.shape[0], gap : gap + band.shape[1]] = band
    return out


def grid_overlay(
    image: npt.NDArray[np.uint8],
    flow: npt.NDArray[np.float32] | None = None,
    *,
    spacing: int | None = None,
    opacity: float = 0.6,
) -> npt.NDArray[np.uint8]:
    """A square grid drawn over ``image`` in yellow, bent by ``flow`` when one is given.

    Pixel ``p`` is on the grid when ``p + flow(p)`` lies within half a pixel of a grid line
    (``x`` or ``y`` a multiple of ``spacing``): with the elastic convention (output pixel ``p``
    shows the input at ``p + flow(p)``), the grid drawn on the deformed image is the straight
    grid of the input, carried along by the deformation.

    Parameters
    ----------
    image : uint8 (H, W, 3)
    flow : float32 (H, W, 2), optional; ``None`` draws the straight grid.
    spacing : pixels between grid lines; by default about a twelfth of the shorter side.

    Returns
    -------
    uint8 (H, W, 3)
    """
    height, width = image.shape[:2]
    if spacing is None:
        spacing = max(8, round(min(height, width) / 12))
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if flow is not None:
        x, y = x + flow[..., 0], y + flow[..., 1]
    with np.errstate(invalid="ignore"):
        on_x = np.abs(x - np.round(x / spacing) * spacing) < 0.5
        on_y = np.abs(y - np.round(y / spacing) * spacing) < 0.5
    line = (on_x | on_y)[..., None]
    blended = image * (1 - opacity) + _GRID_COLOUR * opacity
    return np.where(line, blended + 0.5, image).astype(np.uint8)
