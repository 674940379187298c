"""Flow colours, masks, labels and contact sheets."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.viz.pictures import (
    colour_wheel_legend,
    contact_sheet,
    flow_to_color,
    label_to_color,
    make_colour_wheel,
    mask_to_image,
)


def reference_flow_to_color(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The loop of the public reference (``flow_vis`` / RAFT ``flow_viz``), transcribed."""
    wheel = np.zeros((55, 3))
    col = 0
    for count, (ch, rising, full) in zip(
        (15, 6, 4, 11, 13, 6),
        ((1, True, 0), (0, False, 1), (2, True, 1), (1, False, 2), (0, True, 2), (2, False, 0)),
        strict=True,
    ):
        ramp = np.floor(255 * np.arange(count) / count)
        wheel[col : col + count, full] = 255
        wheel[col : col + count, ch] = ramp if rising else 255 - ramp
        col += count
    image = np.zeros((*u.shape, 3), np.uint8)
    rad = np.sqrt(u**2 + v**2)
    a = np.arctan2(-v, -u) / np.pi
    fk = (a + 1) / 2 * 54
    k0 = np.floor(fk).astype(np.int32)
    k1 = k0 + 1
    k1[k1 == 55] = 0
    f = fk - k0
    for i in range(3):
        col = (1 - f) * wheel[k0, i] / 255 + f * wheel[k1, i] / 255
        idx = rad <= 1
        col[idx] = 1 - rad[idx] * (1 - col[idx])
        col[~idx] = col[~idx] * 0.75
        image[..., i] = np.floor(255 * col)
    return image


def test_wheel_has_the_middlebury_segments() -> None:
    wheel = make_colour_wheel()
    assert wheel.shape == (55, 3)
    assert wheel[0].tolist() == [255, 0, 0]  # red
    assert wheel[15].tolist() == [255, 255, 0]  # yellow
    assert wheel[21].tolist() == [0, 255, 0]  # green
    assert wheel[25].tolist() == [0, 255, 255]  # cyan
    assert wheel[36].tolist() == [0, 0, 255]  # blue
    assert wheel[49].tolist() == [255, 0, 255]  # magenta


def test_matches_the_reference_implementation() -> None:
    flow = np.random.default_rng(4).normal(scale=3, size=(16, 16, 2)).astype(np.float32)
    maximum = float(np.hypot(flow[..., 0], flow[..., 1]).max())
    scale = maximum + 1e-5
    expected = reference_flow_to_color(flow[..., 0] / scale, flow[..., 1] / scale)
    assert np.array_equal(flow_to_color(flow), expected)
    dimmed = reference_flow_to_color(flow[..., 0] / (2 + 1e-5), flow[..., 1] / (2 + 1e-5))
    assert np.array_equal(flow_to_color(flow, max_magnitude=2.0), dimmed)


@pytest.mark.parametrize(
    "u, v, expected",
    [(1, 0, [255, 0, 0]), (0, 1, [255, 229, 0]), (-1, 0, [0, 209, 255]), (0, -1, [88, 0, 255])],
    ids=["right-red", "down-yellow", "left-cyan-blue", "up-violet"],
)
def test_known_directions(u: float, v: float, expected: list[int]) -> None:
    flow = np.array([[[u, v]]], np.float32)
    assert flow_to_color(flow, max_magnitude=1.0)[0, 0].tolist() == expected


def test_zero_flow_is_white_and_unknown_is_black() -> None:
    flow = np.zeros((2, 3, 2), np.float32)
    flow[1, 0] = [np.nan, 0]
    flow[1, 1] = [0, np.inf]
    flow[1, 2] = [2e9, 0]
    image = flow_to_color(flow)
    assert image.dtype == np.uint8 and image.shape == (2, 3, 3)
    assert (image[0] == 255).all() and (image[1] == 0).all()


def test_faster_than_max_magnitude_is_dimmed() -> None:
    flow = np.array([[[1, 0], [4, 0]]], np.float32)
    image = flow_to_color(flow, max_magnitude=1.0)
    assert image[0, 1].tolist() == [191, 0, 0]
    with pytest.raises(ValueError):
        flow_to_color(flow, max_magnitude=-1.0)
    with pytest.raises(ValueError):
        flow_to_color(flow.astype(np.float64))


def test_legend() -> None:
    legend = colour_wheel_legend(33)
    assert legend.shape == (33, 33, 3) and legend.dtype == np.uint8
    assert legend[16, 16].tolist() == [255, 255, 255]
    assert legend[16, 32].tolist() == [255, 0, 0]  # right edge: u > 0


def test_mask_to_image() -> None:
    image = mask_to_image(np.array([[True, False]]))
    assert image.dtype == np.uint8 and image.tolist() == [[[255] * 3, [0] * 3]]
    with pytest.raises(ValueError):
        mask_to_image(np.zeros((2, 2, 2), bool))


def test_label_colours_are_fixed_per_id() -> None:
    labels = np.arange(200, dtype=np.int32).reshape(10, 20)
    image = label_to_color(labels)
    assert image.dtype == np.uint8 and image.shape == (10, 20, 3)
    assert image[0, 0].tolist() == [0, 0, 0]
    assert (image.reshape(-1, 3)[1:].max(axis=1) >= 64).all()
    assert len(np.unique(image.reshape(-1, 3), axis=0)) == 200
    # An id's colour does not depend on the other ids or the dtype.
    alone = label_to_color(np.array([[57]], np.uint16))
    assert alone[0, 0].tolist() == image.reshape(-1, 3)[57].tolist()
    assert np.array_equal(label_to_color(labels), image)
    with pytest.raises(ValueError):
        label_to_color(labels.astype(np.float32))


def test_contact_sheet_layout() -> None:
    red = np.zeros((4, 6, 3), np.uint8)
    red[..., 0] = 255
    grey = np.full((8, 2), 100, np.uint8)
    flow = np.zeros((3, 3, 2), np.float32)
    mask = np.ones((2, 2), bool)
    sheet = contact_sheet([[red, grey], [flow, None, mask]], gap=1)
    # columns 6, 2, 2 wide; rows 8 and 3 tall; one pixel of gap around every cell
    assert sheet.dtype == np.uint8
    assert sheet.shape == (1 + 8 + 1 + 3 + 1, 1 + 6 + 1 + 2 + 1 + 2 + 1, 3)
    assert (sheet[1:5, 1:7] == [255, 0, 0]).all()
    assert (sheet[1:9, 8:10] == 100).all()
    assert (sheet[10:13, 1:4] == 255).all()  # zero flow is white
    assert (sheet[10:13, 8:10] == 40).all()  # the empty cell is background
    assert (sheet[10:12, 11:13] == 255).all()


def test_contact_sheet_titles_and_scale() -> None:
    image = np.zeros((20, 40, 3), np.uint8)
    plain = contact_sheet([[image, image]], scale=0.5)
    assert plain.shape == (4 + 10 + 4, 4 + 20 + 4 + 20 + 4, 3)
    titled = contact_sheet([[image, image]], titles=["frame 1", "a very long title indeed"])
    band = titled.shape[0] - (4 + 20 + 4)
    assert band > 5 and (titled[:band] > 200).any()
    with pytest.raises(ValueError):
        contact_sheet([[image]], titles=["a", "b"])
    with pytest.raises(ValueError):
        contact_sheet([[np.zeros((2, 2), np.float32)]])
    with pytest.raises(ValueError):
        contact_sheet([])
