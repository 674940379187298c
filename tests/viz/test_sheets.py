"""Preview sheets a newcomer can read: row labels, the flow key with its scale, the mask note,
and elastic sheets whose grid shows the deformation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.layers import render_sample
from flowsynth.render.sequence import render_sequence_sample
from flowsynth.render.stereo import render_stereo_sample
from flowsynth.viz.legend import flow_key, grid_overlay, stack_below, text_cell
from flowsynth.viz.pictures import BACKGROUND, contact_sheet, mask_to_image
from flowsynth.viz.sheets import (
    OCCLUSION_NOTE,
    SEQUENCE_NOTES,
    STEREO_COLUMNS,
    STEREO_NOTES,
    disparity_key,
    disparity_to_color,
    elastic_preview_sheet,
    max_speed,
    preview_sheet,
    sequence_preview_sheet,
    stereo_preview_sheet,
)

TINY = ["size=[32,48]", "objects.count=[1,2]"]


@pytest.fixture(scope="module")
def samples() -> list:
    recipe = load_recipe("ablation/boxes", TINY)
    assert isinstance(recipe, FlowRecipe)
    return [render_sample(recipe, 0, index) for index in (5, 6)]


def test_row_titles_add_a_labelled_column() -> None:
    image = np.full((10, 12, 3), 200, np.uint8)
    plain = contact_sheet([[image], [image]], gap=2)
    labelled = contact_sheet([[image], [image]], gap=2, row_titles=["#0", "#17"])
    assert labelled.shape[0] == plain.shape[0] and labelled.shape[1] > plain.shape[1]
    band = labelled[:, : labelled.shape[1] - plain.shape[1]]
    assert (band != BACKGROUND).any()  # the text is drawn
    with pytest.raises(ValueError, match="row titles"):
        contact_sheet([[image]], row_titles=["a", "b"])


def test_preview_sheet_has_index_labels_and_a_flow_key(samples: list) -> None:
    sheet = preview_sheet(samples, scale=1.0, indices=[5, 6])
    bare = contact_sheet([[s.image1] * 6 for s in samples], titles=["t"] * 6)
    assert sheet.shape[0] > bare.shape[0] + 60  # the key (a 64-pixel wheel) below the rows
    assert sheet.shape[1] > bare.shape[1]  # the index column
    label_column = sheet[20 : bare.shape[0], : sheet.shape[1] - bare.shape[1]]
    assert (label_column != BACKGROUND).any()
    top = max_speed([f for s in samples for f in (s.flow, s.flow_backward)])
    assert "white = occluded" in OCCLUSION_NOTE
    key = flow_key(top, [OCCLUSION_NOTE])
    bottom = sheet[-key.shape[0] - 4 : -4, 4 : 4 + key.shape[1]]
    assert np.array_equal(bottom, key)
    with pytest.raises(ValueError, match="indices"):
        preview_sheet(samples, indices=[1])


def test_flow_key_says_its_scale() -> None:
    key = flow_key(12.34)
    assert key.shape[0] >= 64 and key.shape[1] > 64 + 100
    assert (key[:, 72:] != BACKGROUND).any()
    # The text differs when the scale does: the number is written.
    assert not np.array_equal(flow_key(12.34), flow_key(99.9))


def test_max_speed_skips_unknown_flow() -> None:
    flow = np.zeros((2, 2, 2), np.float32)
    flow[0, 0] = (3, 4)
    flow[1, 1] = (np.nan, 0)
    flow[0, 1] = (2e9, 0)
    assert max_speed([flow, None]) == 5.0
    assert max_speed([]) == 0.0


def test_text_cell_and_stack_below() -> None:
    cell = text_cell(["hello"], height=30)
    assert cell.shape[0] == 30 and (cell != BACKGROUND).any()
    sheet = np.zeros((5, 10, 3), np.uint8)
    stacked = stack_below(sheet, cell, gap=2)
    assert stacked.shape == (5 + 30 + 2, max(10, cell.shape[1] + 4), 3)


def test_grid_overlay_follows_the_flow() -> None:
    image = np.zeros((32, 32, 3), np.uint8)
    straight = grid_overlay(image, spacing=8)
    assert straight[:, 8].any(axis=-1).all() and not straight[3, 3].any()
    shifted = grid_overlay(image, np.full((32, 32, 2), 3, np.float32), spacing=8)
    # Output pixel p shows the input at p + 3: the input's line x = 8 sits at x = 5.
    assert shifted[:, 5].any(axis=-1).all() and not shifted[10, 8].any()


def test_elastic_sheet_is_full_size_with_grid_and_labels() -> None:
    image = np.full((24, 32), 128, np.uint8)
    label = np.zeros((24, 32), np.uint8)
    flow = np.full((24, 32, 2), 1.5, np.float32)
    example = SimpleNamespace(image=image, label=label)
    sample = SimpleNamespace(image=image, label=label, flow=flow, weight=None)
    sheet = elastic_preview_sheet([example], [sample], indices=[3])
    assert sheet.shape[0] > 24 + 64 and sheet.shape[1] > 6 * 32
    cells = sheet[sheet.shape[0] - 64 - 40 :]
    assert (cells != BACKGROUND).any()
    assert (sheet == (255 * 0.6 + 128 * 0.4 + 0.5) // 1).any()  # yellow grid lines blended in


@pytest.fixture(scope="module")
def sequence():
    recipe = load_recipe("sequences/default", ["scale=0.125"])  # 48x64 frames
    assert isinstance(recipe, FlowRecipe) and recipe.frames == 5
    return render_sequence_sample(recipe, 0, 1)


def test_sequence_sheet_has_a_column_per_frame_and_the_rows_differ(sequence) -> None:
    sheet = sequence_preview_sheet(sequence, scale=1.0, index=1)
    assert sheet.dtype == np.uint8 and sheet.ndim == 3
    assert sheet.shape[1] >= 5 * 64 and sheet.shape[0] >= 4 * 48
    # Find each frame of the sequence, and one cell of every other row, in the sheet.
    rows = _cell_rows(sheet, sequence.frames[0])
    assert len(rows) == 1
    top = rows[0]
    for t in range(5):
        assert _found(sheet[top : top + 48], sequence.frames[t])
    flow_row, occlusion_row, visible_row = (top + (48 + 4) * k for k in (1, 2, 3))
    cells = [sheet[r : r + 48] for r in (top, flow_row, occlusion_row, visible_row)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert not np.array_equal(cells[a], cells[b])
    assert _found(sheet[occlusion_row : occlusion_row + 48], mask_to_image(sequence.occlusion[0]))
    visible = mask_to_image(sequence.visible_from_first[3])
    assert _found(sheet[visible_row : visible_row + 48], visible)
    # The key: the flow wheel's scale covers the neighbour flows, and the notes are written.
    assert max_speed(list(sequence.flow)) > 0
    key = flow_key(max_speed(list(sequence.flow)), SEQUENCE_NOTES)
    assert "white = occluded" in SEQUENCE_NOTES[1] and "white = visible" in SEQUENCE_NOTES[2]
    assert np.array_equal(sheet[-key.shape[0] - 4 : -4, 4 : 4 + key.shape[1]], key)


def _cell_rows(sheet: np.ndarray, cell: np.ndarray) -> list[int]:
    """The rows of ``sheet`` where ``cell`` starts (at any column)."""
    height = cell.shape[0]
    starts = []
    for y in range(sheet.shape[0] - height + 1):
        if _found(sheet[y : y + height], cell):
            starts.append(y)
    return starts


def _found(band: np.ndarray, cell: np.ndarray) -> bool:
    """Whether ``cell`` sits in ``band`` (as tall as the cell or taller, from its top)."""
    height, width = cell.shape[:2]
    for x in range(band.shape[1] - width + 1):
        if np.array_equal(band[:height, x : x + width], cell):
            return True
    return False


def test_disparity_colours_grow_brighter_with_disparity_and_saturate() -> None:
    ramp = np.array([[0.0, 10.0, 20.0, 40.0, 80.0, np.nan]], np.float32)
    colours = disparity_to_color(ramp, 40.0)
    assert colours.dtype == np.uint8 and colours.shape == (1, 6, 3)
    brightness = colours[0].astype(int).sum(axis=1)
    assert list(brightness[:4]) == sorted(brightness[:4]) and brightness[0] < 30
    assert np.array_equal(colours[0, 3], colours[0, 4])  # 40 px and beyond: the top colour
    assert np.array_equal(colours[0, 5], colours[0, 0])  # not finite: as 0 px


def test_stereo_sheet_shows_views_disparities_and_occlusion() -> None:
    recipe = load_recipe("stereo/default", ["scale=0.125"])  # 48x64 views
    assert isinstance(recipe, FlowRecipe)
    pairs = [render_stereo_sample(recipe, 0, index) for index in (2, 3)]
    sheet = stereo_preview_sheet(pairs, scale=1.0, indices=[2, 3])
    assert sheet.dtype == np.uint8 and sheet.shape[1] >= len(STEREO_COLUMNS) * 64
    top = max(float(d.max()) for p in pairs for d in (p.disp_left, p.disp_right))
    assert top > 0
    for pair in pairs:
        rows = _cell_rows(sheet, pair.left)
        assert len(rows) == 1
        band = sheet[rows[0] : rows[0] + 48]
        for cell in (
            pair.right,
            disparity_to_color(pair.disp_left, top),
            mask_to_image(pair.occ_left),
            disparity_to_color(pair.disp_right, top),
        ):
            assert _found(band, cell)
    key = disparity_key(top, STEREO_NOTES)
    assert np.array_equal(sheet[-key.shape[0] - 4 : -4, 4 : 4 + key.shape[1]], key)
    assert "white" in STEREO_NOTES[1] and "x - d" in STEREO_NOTES[0]
    with pytest.raises(ValueError, match="indices"):
        stereo_preview_sheet(pairs, indices=[1])
