"""``evaluate --scale S``: :func:`rescale_pair` on tiny arrays, zero flow on real Middlebury at
half size equals an independent numpy block average, and the CLI checks ``S``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.data.flowpair import FlowPair, make_pair
from flowsynth.data.rescale import rescale_pair, scaled_size
from flowsynth.evaluate.datasets import resolve_flow_dataset
from flowsynth.evaluate.run import evaluate
from flowsynth.io import read_flo


def _pair(height: int, width: int, u: float, v: float, valid=None, occlusion=None):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    flow = np.empty((height, width, 2), np.float32)
    flow[...] = (u, v)
    return make_pair(image, image[::-1].copy(), flow, valid, occlusion, "synthetic")


@pytest.mark.parametrize(("scale", "shape"), [(0.5, (4, 6)), (0.25, (2, 3)), (0.75, (6, 9))])
def test_constant_flow_is_scaled_everywhere(scale: float, shape: tuple[int, int]) -> None:
    pair = _pair(8, 12, 3.0, -2.0)
    out = rescale_pair(pair, scale)
    assert out.shape == shape == scaled_size(8, 12, scale)
    assert out.image1.shape == out.image2.shape == (*shape, 3)
    assert out.image1.dtype == np.uint8 and out.flow.dtype == np.float32
    assert out.valid.shape == out.occlusion.shape == shape
    assert out.valid.all() and not out.occlusion.any() and not out.has_occlusion
    np.testing.assert_allclose(out.flow[..., 0], 3.0 * scale, rtol=1e-6)
    np.testing.assert_allclose(out.flow[..., 1], -2.0 * scale, rtol=1e-6)
    assert out.name == "synthetic"


def test_sizes_round_and_flow_follows_the_size_ratio() -> None:
    assert scaled_size(7, 9, 0.5) == (4, 5)  # 3.5 and 4.5 round half up
    assert scaled_size(3, 3, 0.1) == (1, 1)  # never empty
    out = rescale_pair(_pair(7, 9, 9.0, 7.0), 0.5)
    np.testing.assert_allclose(out.flow[..., 0], 9.0 * 5 / 9, rtol=1e-6)
    np.testing.assert_allclose(out.flow[..., 1], 7.0 * 4 / 7, rtol=1e-6)


def test_invalid_pixels_do_not_leak_into_valid_outputs() -> None:
    valid = np.ones((8, 8), bool)
    valid[:, :3] = False  # columns 0-2 invalid, hold huge values and NaN
    pair = _pair(8, 8, 1.0, 2.0, valid=valid)
    flow = pair.flow.copy()
    flow[:, :3] = (1e6, np.nan)
    # FlowPair itself, not make_pair (which would zero them): the garbage stays in the input
    pair = FlowPair(pair.image1, pair.image2, flow, valid, np.zeros_like(valid), False, "x")
    out = rescale_pair(pair, 0.5)
    # output column 0 covers input 0-1 (invalid), column 1 covers 2-3 (half valid: kept)
    assert out.valid[:, 0].sum() == 0 and out.valid[:, 1:].all()
    np.testing.assert_allclose(out.flow[:, 1:, 0], 0.5, rtol=1e-6)
    np.testing.assert_allclose(out.flow[:, 1:, 1], 1.0, rtol=1e-6)
    assert np.all(out.flow[:, 0] == 0) and np.isfinite(out.flow).all()


def test_occlusion_is_resampled_over_valid_pixels_only() -> None:
    valid = np.ones((4, 4), bool)
    occlusion = np.zeros((4, 4), bool)
    occlusion[0:2, 0:1] = True  # block (0, 0): 2 of 4 occluded -> occluded
    occlusion[0:1, 2:3] = True  # block (0, 1): 1 of 4 -> visible
    valid[2:4, 0:1] = False  # block (1, 0): 2 valid, 1 of them occluded -> occluded
    occlusion[2, 1] = True
    occlusion[3, 0] = True  # occluded but invalid: does not count
    valid[2:4, 2:4] = False  # block (1, 1): nothing valid -> invalid and not occluded
    occlusion[2:4, 2:4] = True
    out = rescale_pair(_pair(4, 4, 1.0, 1.0, valid=valid, occlusion=occlusion), 0.5)
    assert out.has_occlusion
    assert out.valid.tolist() == [[True, True], [True, False]]
    assert out.occlusion.tolist() == [[True, False], [True, False]]


def test_scale_one_returns_the_same_arrays_and_bad_scales_fail() -> None:
    pair = _pair(5, 6, 1.0, 1.0)
    same = rescale_pair(pair, 1.0)
    assert same.flow is pair.flow and same.image1 is pair.image1 and same.valid is pair.valid
    for scale in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"scale must be in \(0, 1\]"):
            rescale_pair(pair, scale)


def test_rescale_module_does_not_load_torch() -> None:
    code = "import flowsynth.data.rescale, sys; assert 'torch' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_recipe_dataset_is_rescaled() -> None:
    full = resolve_flow_dataset("recipe:ablation/boxes", recipe_count=1)
    half = resolve_flow_dataset("recipe:ablation/boxes", recipe_count=1, scale=0.5)
    a, b = full[0], half[0]
    height, width = a.flow.shape[1:]
    assert tuple(b.flow.shape[1:]) == scaled_size(height, width, 0.5)
    assert int(b.sample_index) == int(a.sample_index) and b.name == a.name
    assert len(half) == 1  # type: ignore[arg-type]


def _block_average(flow: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 blocks: mean of the valid vectors, valid where at least 2 of the 4 are."""
    height, width = valid.shape
    blocks = (height // 2, 2, width // 2, 2)
    weight = valid.reshape(blocks).sum(axis=(1, 3))
    summed = np.where(valid[..., None], flow, 0.0).reshape(*blocks, 2).sum(axis=(1, 3))
    kept = weight >= 2
    return summed / np.maximum(weight, 1)[..., None], kept


def test_zero_flow_on_middlebury_at_half_scale_matches_numpy(
    data_subdir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = data_subdir("middlebury")
    errors, per_image = [], []
    for path in sorted((root / "other-gt-flow").glob("*/flow10.flo")):
        flow = read_flo(path).astype(np.float64)
        valid = np.all(np.abs(flow) < 1e9, axis=-1)
        assert flow.shape[0] % 2 == 0 and flow.shape[1] % 2 == 0
        small, kept = _block_average(flow, valid)
        magnitude = np.sqrt(((0.5 * small) ** 2).sum(-1))[kept]
        errors.append(magnitude)
        per_image.append(magnitude.mean())
    pixels = np.concatenate(errors)
    out = tmp_path / "half.json"
    code = main(
        [
            "evaluate",
            "--zero-flow",
            "--dataset",
            "middlebury",
            "--data-root",
            str(root.parent),
            "--scale",
            "0.5",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    document = json.loads(out.read_text())
    assert document["scale"] == 0.5 and "Scale 0.5" in document["scale_note"]
    summary = document["datasets"]["middlebury"]["zero_flow"]
    # the harness pools EPE per pixel over the dataset (epe) and reports per-image means beside
    assert summary["images"] == 8 and summary["pixels"] == pixels.size
    assert summary["epe"] == pytest.approx(pixels.mean(), rel=5e-3)
    assert summary["epe_image_mean"] == pytest.approx(np.mean(per_image), rel=5e-3)
    assert "Scale 0.5" in out.with_suffix(".md").read_text()
    assert "Scale 0.5" in capsys.readouterr().out
    # the Python entry point gives the same numbers
    direct = evaluate(None, ["middlebury"], data_root=root.parent, device="cpu", scale=0.5)
    assert direct["datasets"]["middlebury"]["zero_flow"]["epe"] == pytest.approx(summary["epe"])


def test_cli_accepts_scale_with_zero_flow_on_a_recipe(tmp_path: Path) -> None:
    out = tmp_path / "recipe.json"
    code = main(
        [
            "evaluate",
            "--zero-flow",
            "--dataset",
            "recipe:ablation/boxes",
            "--recipe-count",
            "1",
            "--scale",
            "0.25",
            "--out",
            str(out),
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    assert json.loads(out.read_text())["scale"] == 0.25


@pytest.mark.parametrize("value", ["0", "-0.5", "1.5", "nan", "half"])
def test_cli_rejects_a_scale_outside_zero_one(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["evaluate", "--zero-flow", "--dataset", "middlebury", f"--scale={value}"])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert "argument --scale" in error and "(0, 1]" in error


def test_evaluate_rejects_a_bad_scale() -> None:
    with pytest.raises(ValueError, match=r"scale must be in \(0, 1\]"):
        evaluate(None, ["recipe:ablation/boxes"], device="cpu", scale=2.0)
