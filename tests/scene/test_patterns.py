"""Texture arithmetic: value noise and level scaling, the same bytes on every CPU."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsynth.recipe.schema import Textures
from flowsynth.scene import patterns
from flowsynth.scene.textures import (
    TEXTURE_SAMPLERS,
    sample_noise_grids,
    sample_texture,
)


def sample_noise_field(
    height: int,
    width: int,
    region: tuple[int, int, int, int],
    scale: float,
    octaves: int,
    *,
    channels: int = 1,
    rng: np.random.Generator,
) -> np.ndarray:
    """The noise levels of a region (the noise coloured through an identity table)."""
    identity = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    grids = sample_noise_grids(height, width, scale, octaves, channels, rng=rng)
    levels = patterns.noise(*grids, region, identity)
    return levels[..., 0] if channels == 1 else levels


@pytest.fixture
def opencv_unoptimised() -> Iterator[None]:
    """OpenCV without its dispatched SIMD code, as on a CPU without AVX2."""
    cv2.setUseOptimized(False)
    try:
        yield
    finally:
        cv2.setUseOptimized(True)


@pytest.mark.parametrize("kind", list(TEXTURE_SAMPLERS))
def test_textures_do_not_depend_on_the_instruction_set(kind: str, opencv_unoptimised: None) -> None:
    """With OpenCV's SIMD dispatch off, every texture has the same bytes (0.3.0's noise did not:
    OpenCV's cubic resize rounds differently in its SSE and AVX2 code)."""
    cfg = Textures(kinds={kind: 1.0})
    for seed in range(3):
        plain = sample_texture(cfg, 150, 170, rng=np.random.default_rng(seed))
        cv2.setUseOptimized(True)
        optimised = sample_texture(cfg, 150, 170, rng=np.random.default_rng(seed))
        cv2.setUseOptimized(False)
        assert np.array_equal(plain, optimised)


@pytest.mark.parametrize("cell", [2, 3, 8, 13, 64])
def test_an_octave_is_the_cubic_upsampling_of_its_grid(cell: int) -> None:
    """One octave is OpenCV's INTER_CUBIC upsampling of its grid (which it matches to rounding),
    3 cells of margin in, at any region."""
    rng = np.random.default_rng(cell)
    height, width = 5 * cell + 7, 4 * cell + 3
    grid = rng.integers(0, 256, (height // cell + 6, width // cell + 6), dtype=np.uint8)
    upsampled = cv2.resize(
        grid, (grid.shape[1] * cell, grid.shape[0] * cell), interpolation=cv2.INTER_CUBIC
    )
    reference = upsampled[3 * cell : 3 * cell + height, 3 * cell : 3 * cell + width]
    for x0, y0, w, h in [(0, 0, width, height), (cell + 1, 2, width - cell - 1, 3), (5, 4, 1, 1)]:
        total = np.zeros((h, w), np.int32)
        horizontal = patterns.phase_weights(cell, patterns._H_BITS)
        vertical = patterns.phase_weights(cell, patterns._V_BITS)
        patterns.add_octave(grid, cell, x0, y0, horizontal, vertical, 3, total)
        levels = total / (3 * 2**patterns._SUM_BITS)
        assert np.abs(levels - reference[y0 : y0 + h, x0 : x0 + w]).max() <= 1.0
    # A flat grid stays flat: the weights of every phase sum to one exactly.
    flat = np.full_like(grid, 201)
    total = np.zeros((height, width), np.int32)
    patterns.add_octave(flat, cell, 0, 0, horizontal, vertical, 1, total)
    assert np.all(total == 201 << patterns._SUM_BITS)


def test_phase_weights_are_keys_cubic_in_fixed_point() -> None:
    for cell in (2, 5, 16):
        for bits in (10, 11):
            table = patterns.phase_weights(cell, bits)
            assert table.shape == (cell, 4) and np.all(table.sum(axis=1) == 1 << bits)
            for r in range(cell):
                t = ((2 * r + 1 + 5 * cell) % (2 * cell)) / (2 * cell)
                exact = np.array(patterns.cubic_weights(t)) * 2**bits
                assert np.abs(table[r] - exact).max() <= 1.5


def test_stretch_is_the_folded_central_range_through_the_table() -> None:
    rng = np.random.default_rng(0)
    weight = 7
    unit = weight * 2**patterns._SUM_BITS
    reciprocal = round(2**patterns._RECIPROCAL_BITS / (7 * unit))
    table = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    for channels in (1, 3):
        total = rng.integers(-10 * unit, 300 * unit, (channels, 40, 50)).astype(np.int32)
        colours = patterns.stretch(total, weight, reciprocal, table)
        assert colours.shape == (40, 50, 3) and colours.dtype == np.uint8
        exact = np.abs(total / unit - 38.25) / 0.7
        levels = np.minimum(np.floor(exact + 0.5), 255).astype(int)
        ties = np.abs(exact - np.floor(exact) - 0.5) < 1e-4
        for c in range(3):
            k = 0 if channels == 1 else c
            expected = table[levels[k], c]
            assert np.array_equal(colours[..., c][~ties[k]], expected[~ties[k]])


def test_noise_fields_fill_the_range_and_keep_their_shape() -> None:
    for channels in (1, 3):
        levels = sample_noise_field(
            200, 210, (0, 0, 210, 200), 16.0, 3, channels=channels, rng=np.random.default_rng(1)
        )
        assert levels.shape == ((200, 210) if channels == 1 else (200, 210, 3))
        assert levels.min() < 30 and levels.max() > 225 and 100 < levels.mean() < 160


def test_scale_abs_is_convert_scale_abs_with_one_rounding_per_operation() -> None:
    rng = np.random.default_rng(2)
    field = (rng.normal(size=(30, 40)) * 200).astype(np.float32)
    levels = patterns.scale_abs(field, 1.3, -4.2)
    product = field * np.float32(1.3)
    expected = np.minimum(np.rint(np.abs(product + np.float32(-4.2))), 255).astype(np.uint8)
    assert np.array_equal(levels, expected)
    assert np.abs(levels.astype(int) - cv2.convertScaleAbs(field, alpha=1.3, beta=-4.2)).max() <= 1


def test_ramps_pass_through_their_colours_pulled_by_the_contrast() -> None:
    rng = np.random.default_rng(4)
    levels = np.linspace(0.0, 1.0, 256)
    for count in (2, 3, 5):
        colours = rng.uniform(0, 255, (count, 3))
        for contrast in (1.0, 0.4):
            table = patterns.ramp(colours, contrast)
            stops = np.linspace(0.0, 1.0, count)
            exact = np.stack([np.interp(levels, stops, colours[:, c]) for c in range(3)], 1)
            mean = exact.mean(axis=0)
            expected = np.clip(mean + contrast * (exact - mean) + 0.5, 0, 255)
            assert table.shape == (256, 3) and table.dtype == np.uint8
            assert np.abs(table - np.floor(expected)).max() <= 1
        assert np.array_equal(
            patterns.ramp(colours, 1.0)[[0, -1]], np.floor(colours[[0, -1]] + 0.5)
        )


@settings(max_examples=60, deadline=None)
@given(
    size=st.tuples(st.integers(1, 90), st.integers(1, 90)),
    scale=st.floats(2.0, 60.0),
    channels=st.sampled_from([1, 3]),
    corner=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    extent=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_noise_of_any_region_is_the_crop_of_the_whole(
    size: tuple[int, int],
    scale: float,
    channels: int,
    corner: tuple[float, float],
    extent: tuple[float, float],
) -> None:
    height, width = size
    x0, y0 = int(corner[0] * (width - 1)), int(corner[1] * (height - 1))
    w = max(1, int(extent[0] * (width - x0)))
    h = max(1, int(extent[1] * (height - y0)))
    whole = sample_noise_field(
        height,
        width,
        (0, 0, width, height),
        scale,
        3,
        channels=channels,
        rng=np.random.default_rng(7),
    )
    part = sample_noise_field(
        height, width, (x0, y0, w, h), scale, 3, channels=channels, rng=np.random.default_rng(7)
    )
    assert np.array_equal(whole[y0 : y0 + h, x0 : x0 + w], part)


def test_the_sums_cannot_overflow_on_the_harshest_grids() -> None:
    """Grids alternating black and white make cubic interpolation overshoot most: the int32
    sums stay exact (a wrap-around would show as levels far from cv2.resize's)."""
    for cell in (2, 7, 128):
        grid = np.zeros((12, 12), np.uint8)
        grid[::2, ::2] = grid[1::2, 1::2] = 255
        height = width = 6 * cell
        total = np.zeros((height, width), np.int32)
        horizontal = patterns.phase_weights(cell, patterns._H_BITS)
        vertical = patterns.phase_weights(cell, patterns._V_BITS)
        patterns.add_octave(grid, cell, 0, 0, horizontal, vertical, 1, total)
        levels = total / 2**patterns._SUM_BITS
        upsampled = cv2.resize(grid, (12 * cell, 12 * cell), interpolation=cv2.INTER_CUBIC)
        reference = upsampled[3 * cell : 3 * cell + height, 3 * cell : 3 * cell + width]
        assert levels.min() >= 0 and levels.max() <= 255
        assert np.abs(levels - reference).max() <= 1.0


def test_noise_refuses_regions_its_grids_do_not_cover() -> None:
    """The kernels read the grids unchecked: a region past the extent is refused first."""
    grids, cells = sample_noise_grids(40, 50, 8.0, 3, 1, rng=np.random.default_rng(0))
    table = np.zeros((256, 3), np.uint8)
    assert patterns.noise(grids, cells, (0, 0, 50, 40), table).shape == (40, 50, 3)
    assert patterns.noise(grids, cells, (10, 10, 0, 0), table).shape == (0, 0, 3)
    for region in [(0, 0, 90, 40), (0, 0, 50, 80), (-1, 0, 5, 5), (0, -3, 5, 5)]:
        with pytest.raises(ValueError, match="misses region"):
            patterns.noise(grids, cells, region, table)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        patterns.noise([np.zeros((20, 20, 2), np.uint8)], [8], (0, 0, 4, 4), table)
