"""Contact sheets of rendered samples, for a person to look at.

Each sheet labels its rows with the sample index and ends with a key: the flow colour wheel
with the speed it saturates at (one scale for every flow on the sheet, so colours compare
across rows) and what the masks' white means.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.base.conventions import UNKNOWN_FLOW_THRESHOLD
from flowsynth.render.sample import Sample
from flowsynth.render.sequence import SequenceSample
from flowsynth.render.stereo import SceneFlowSample, StereoSample
from flowsynth.viz.legend import flow_key, grid_overlay, stack_below, text_cell
from flowsynth.viz.pictures import (
    BACKGROUND,
    contact_sheet,
    flow_to_color,
    label_to_color,
    mask_to_image,
)

ELASTIC_COLUMNS = ("example", "deformed", "example label", "deformed label", "weight map", "flow")

COLUMNS = ("frame 1", "frame 2", "flow 1->2", "occlusion 1->2", "segmentation 1", "flow 2->1")

#: What the white of the occlusion column means, written in the sheet's key.
OCCLUSION_NOTE = "occlusion: white = occluded (the frame-1 pixel is not visible in frame 2)"

#: The rows of a sequence's sheet, one column per frame.
SEQUENCE_ROWS = ("frames", "flow t->t+1", "occlusion t->t+1", "visible 1->t")

#: What a sequence sheet's columns and masks show, written in its key.
SEQUENCE_NOTES = (
    "column t: frame t; its flow and occlusion to frame t+1; whether frame 1's pixel is seen in t",
    "occlusion: white = occluded (the frame-t pixel is not visible in frame t+1)",
    "visible: white = visible (the frame-1 pixel is visible in frame t)",
)

#: The columns of a stereo sheet, one row per pair.
STEREO_COLUMNS = ("left", "right", "disparity (left)", "occlusion (left)", "disparity (right)")

#: What a stereo sheet's disparity colours and masks mean, written in its key.
STEREO_NOTES = (
    "left pixel x is seen at x - d in the right view; right pixel x at x + d in the left",
    "occlusion: white = the left pixel is not visible in the right view",
)

#: What the elastic sheet's overlays and weight map show, written in its key.
ELASTIC_NOTES = (
    "yellow grid: the example's straight grid, carried along by the deformation",
    "weight map: white = largest weight",
)


def max_speed(flows: Sequence[npt.NDArray[np.float32] | None]) -> float:
    """The largest known speed ``hypot(u, v)`` over ``flows`` (``float32 (H, W, 2)`` each);
    0.0 when there is none. Non-finite and Middlebury-unknown vectors are skipped."""
    top = 0.0
    for flow in flows:
        if flow is None:
            continue
        with np.errstate(invalid="ignore"):
            known = np.all(np.abs(flow) <= UNKNOWN_FLOW_THRESHOLD, axis=2)
        speed = np.hypot(flow[..., 0][known], flow[..., 1][known])
        top = max(top, float(speed.max(initial=0.0)))
    return top


def preview_row(sample: Sample, max_magnitude: float | None = None) -> list[npt.NDArray[np.uint8]]:
    """Frame 1, frame 2, flow (Middlebury colours), occlusion, segmentation, backward flow."""
    return [
        sample.image1,
        sample.image2,
        flow_to_color(sample.flow, max_magnitude),
        mask_to_image(sample.occlusion),
        label_to_color(sample.segmentation1),
        flow_to_color(sample.flow_backward, max_magnitude),
    ]


def _row_titles(indices: Sequence[int] | None, count: int) -> list[str]:
    chosen = list(range(count)) if indices is None else [int(i) for i in indices]
    if len(chosen) != count:
        raise ValueError(f"{len(chosen)} indices for {count} samples")
    return [f"#{index}" for index in chosen]


def preview_sheet(
    samples: Sequence[Sample],
    *,
    scale: float = 0.5,
    indices: Sequence[int] | None = None,
    max_magnitude: float | None = None,
) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)``: one row per sample, labelled ``#index``, columns as in ``COLUMNS``;
    under them the flow colour key with its scale and :data:`OCCLUSION_NOTE`.

    Parameters
    ----------
    indices : each sample's index (``render_sample(recipe, seed, index)``); 0, 1, ... if None.
    max_magnitude : the speed drawn fully saturated in every flow column; by default the
        largest speed on the sheet, forward or backward.
    """
    titles = _row_titles(indices, len(samples))
    if max_magnitude is None:
        max_magnitude = max_speed([f for s in samples for f in (s.flow, s.flow_backward)])
    rows = [preview_row(s, max_magnitude) for s in samples]
    sheet = contact_sheet(rows, titles=list(COLUMNS), scale=scale, row_titles=titles)
    return stack_below(sheet, flow_key(max_magnitude, [OCCLUSION_NOTE]))


def sequence_preview_sheet(
    sequence: SequenceSample,
    *,
    scale: float = 0.5,
    index: int = 0,
    max_magnitude: float | None = None,
) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)``: one sequence, titled ``sequence #index``, a column per frame ``t``
    and the rows of :data:`SEQUENCE_ROWS` (frames; flow and occlusion ``t -> t+1`` under frame
    ``t``; visibility of frame 1's pixels in frame ``t``, empty under frame 1); under them the
    flow colour key with its scale and :data:`SEQUENCE_NOTES`.

    Parameters
    ----------
    index : the sequence's index (``render_sequence_sample(recipe, seed, index)``).
    max_magnitude : the speed drawn fully saturated in every flow cell; by default the largest
        neighbour speed of the sequence.
    """
    if max_magnitude is None:
        max_magnitude = max_speed(list(sequence.flow))
    frames = len(sequence.frames)
    rows: list[list[npt.NDArray[np.uint8] | None]] = [
        list(sequence.frames),
        [flow_to_color(flow, max_magnitude) for flow in sequence.flow],
        [mask_to_image(mask) for mask in sequence.occlusion],
        [None, *(mask_to_image(mask) for mask in sequence.visible_from_first)],
    ]
    titles = [f"frame {t}" for t in range(1, frames + 1)]
    sheet = contact_sheet(rows, titles=titles, scale=scale, row_titles=list(SEQUENCE_ROWS))
    sheet = stack_below(text_cell([f"sequence #{index}"]), sheet, gap=0)
    return stack_below(sheet, flow_key(max_magnitude, SEQUENCE_NOTES))


def disparity_to_color(
    disparity: npt.NDArray[np.float32], max_disparity: float
) -> npt.NDArray[np.uint8]:
    """``float32 (H, W)`` disparity -> ``uint8 (H, W, 3)`` RGB, magma: black at 0 px, light
    yellow at ``max_disparity`` px and beyond (near is bright); non-finite values black."""
    top = max(float(max_disparity), 1e-6)
    finite = np.isfinite(disparity)
    levels = np.where(finite, np.clip(disparity / top, 0.0, 1.0), 0.0)
    grey = (levels * 255.0 + 0.5).astype(np.uint8)
    bgr = cv2.applyColorMap(grey, cv2.COLORMAP_MAGMA)
    return np.ascontiguousarray(bgr[..., ::-1])


def disparity_key(
    max_disparity: float, notes: Sequence[str] = (), *, width: int = 160, height: int = 14
) -> npt.NDArray[np.uint8]:
    """The colour bar of :func:`disparity_to_color` from 0 to ``max_disparity`` px with its
    scale written beside it, then ``notes``, one a line.

    Returns
    -------
    uint8 (h, w, 3)
    """
    ramp = np.linspace(0.0, max(float(max_disparity), 1e-6), width, dtype=np.float32)
    bar = disparity_to_color(np.repeat(ramp[None, :], height, axis=0), max_disparity)
    lines = [
        f"disparity colours: 0 px (black, far) ... {max_disparity:.1f} px (yellow, near)",
        *notes,
    ]
    text = text_cell(lines, height=height)
    key = np.full((max(height, text.shape[0]), width + 8 + text.shape[1], 3), BACKGROUND, np.uint8)
    key[:height, :width] = bar
    key[: text.shape[0], width + 8 :] = text
    return key


def stereo_preview_sheet(
    samples: Sequence[StereoSample],
    *,
    scale: float = 0.5,
    indices: Sequence[int] | None = None,
    max_disparity: float | None = None,
) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)``: one row per rectified pair, labelled ``#index``, columns as in
    :data:`STEREO_COLUMNS` (the disparities colour-mapped by :func:`disparity_to_color`, one
    scale for the sheet); under them the disparity colour bar and :data:`STEREO_NOTES`.

    Parameters
    ----------
    indices : each pair's index (``render_stereo_sample(recipe, seed, index)``); 0, 1, ... if
        None.
    max_disparity : the disparity drawn brightest; by default the largest on the sheet.
    """
    titles = _row_titles(indices, len(samples))
    if max_disparity is None:
        found = [float(d.max(initial=0.0)) for s in samples for d in (s.disp_left, s.disp_right)]
        max_disparity = max(found, default=0.0)
    rows = [
        [
            sample.left,
            sample.right,
            disparity_to_color(sample.disp_left, max_disparity),
            mask_to_image(sample.occ_left),
            disparity_to_color(sample.disp_right, max_disparity),
        ]
        for sample in samples
    ]
    sheet = contact_sheet(rows, titles=list(STEREO_COLUMNS), scale=scale, row_titles=titles)
    return stack_below(sheet, disparity_key(max_disparity, STEREO_NOTES))


#: The columns of a scene-flow sheet: a row per time (``t``, ``t+1``) of each sample.
SCENE_FLOW_COLUMNS = (
    "left",
    "right",
    "disparity (left)",
    "occlusion (left)",
    "flow (left, t->t+1)",
    "disparity change (left)",
)


def _change_to_grey(change: npt.NDArray[np.float32], largest: float) -> npt.NDArray[np.uint8]:
    """``float32 (H, W)`` disparity change -> ``uint8 (H, W)`` grey: 128 for none, white at
    ``+largest`` px (nearer) and beyond, black at ``-largest``."""
    levels = np.clip(change / max(float(largest), 1e-6), -1.0, 1.0)
    return (128.0 + 127.0 * np.nan_to_num(levels) + 0.5).astype(np.uint8)


def scene_flow_preview_sheet(
    samples: Sequence[SceneFlowSample],
    *,
    scale: float = 0.5,
    indices: Sequence[int] | None = None,
) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)``: two rows per scene-flow sample, ``#index t`` and ``#index t+1``,
    columns as in :data:`SCENE_FLOW_COLUMNS` (the left view's flow and disparity change in
    the ``t`` row); under them the disparity colour bar, the flow colour key and what the
    masks and greys mean. One disparity scale, one flow scale and one change scale for the
    sheet.

    Parameters
    ----------
    indices : each sample's index (``render_scene_flow_sample(recipe, seed, index)``); 0, 1,
        ... if None.
    """
    titles = _row_titles(indices, len(samples))
    disparities = [
        d for s in samples for d in (s.disp_left, s.disp_right, s.disp_left_next, s.disp_right_next)
    ]
    max_disparity = max((float(d.max(initial=0.0)) for d in disparities), default=0.0)
    max_magnitude = max_speed([s.flow_left for s in samples])
    largest = max(
        (float(np.abs(s.disp_change_left).max(initial=0.0)) for s in samples), default=0.0
    )
    rows: list[list[npt.NDArray[np.generic] | None]] = []
    row_titles = []
    for sample, title in zip(samples, titles, strict=True):
        for later in (False, True):
            stereo = sample.stereo(later=later)
            row: list[npt.NDArray[np.generic] | None] = [
                stereo.left,
                stereo.right,
                disparity_to_color(stereo.disp_left, max_disparity),
                mask_to_image(stereo.occ_left),
            ]
            if not later:
                row += [
                    flow_to_color(sample.flow_left, max_magnitude),
                    _change_to_grey(sample.disp_change_left, largest),
                ]
            rows.append(row)
            row_titles.append(f"{title} {'t+1' if later else 't'}")
    sheet = contact_sheet(rows, titles=list(SCENE_FLOW_COLUMNS), scale=scale, row_titles=row_titles)
    notes = (
        *STEREO_NOTES,
        f"disparity change: grey = none, white = +{largest:.1f} px (nearer), black = "
        f"-{largest:.1f} px (farther)",
    )
    return stack_below(
        stack_below(sheet, disparity_key(max_disparity, notes)), flow_key(max_magnitude, [])
    )


def _weight_image(
    weight: npt.NDArray[np.float32] | None, shape: tuple[int, ...]
) -> npt.NDArray[np.uint8]:
    """A weight map scaled to ``uint8`` grey (its maximum white); black when there is none."""
    if weight is None:
        return np.zeros(shape[:2], np.uint8)
    top = max(float(weight.max()), 1e-6)
    return np.clip(weight / top * 255.0 + 0.5, 0, 255).astype(np.uint8)


def elastic_preview_sheet(
    examples: Sequence,
    samples: Sequence,
    *,
    scale: float = 1.0,
    indices: Sequence[int] | None = None,
) -> npt.NDArray[np.uint8]:
    """One row per deformed 2D pair, labelled ``#index``: source and deformed image (each with
    a grid that the deformation carries along), both labels, weight map, flow; then the key.

    Full size by default: a deformation of a few pixels disappears when the sheet is shrunk.
    """
    titles = _row_titles(indices, len(samples))
    flows = [sample.flow for sample in samples]
    top = max_speed(flows)
    rows = []
    for example, sample in zip(examples, samples, strict=True):
        rows.append(
            [
                grid_overlay(_rgb8(example.image)),
                grid_overlay(_rgb8(sample.image), sample.flow),
                label_to_color(example.label),
                label_to_color(sample.label),
                _weight_image(sample.weight, sample.label.shape),
                None if sample.flow is None else flow_to_color(sample.flow, top),
            ]
        )
    sheet = contact_sheet(rows, titles=list(ELASTIC_COLUMNS), scale=scale, row_titles=titles)
    return stack_below(sheet, flow_key(top, ELASTIC_NOTES))


def _rgb8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """A 2D image as ``uint8 (H, W, 3)``: grey repeated, other dtypes scaled to their maximum."""
    grey = _grey8(image)
    return grey if grey.ndim == 3 else np.repeat(grey[..., None], 3, axis=2)


def _grey8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    if image.dtype == np.uint8:
        return image.astype(np.uint8, copy=False)
    top = max(float(image.max()), 1e-6)
    return np.clip(image.astype(np.float32) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
