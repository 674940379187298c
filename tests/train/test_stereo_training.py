"""Stereo training: the procedural stereo stream, the cost-volume model, its loss, a smoke run
that beats the constant-disparity baseline on held-out samples, and the CLI round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from flowsynth.cli.main import main
from flowsynth.data.stereo_stream import (
    STEREO_COLOUR,
    ProceduralStereoDataset,
    resolve_stereo_data,
    sample_stereo_augment,
)
from flowsynth.recipe.load import load_flow_recipe
from flowsynth.train.losses import candidate_cross_entropy, stereo_loss
from flowsynth.train.models import build_model, model_spec, model_task
from flowsynth.train.stereo_net import CostVolumeStereo, group_correlation, soft_argmin

#: Stereo samples of a few dozen pixels: the default stereo scenes at a quarter of their size.
TINY = ["scale=0.25", "objects.count=[3,5]"]
#: The smoke run's samples: half size (192x256, disparities 0-48 px), fewer objects.
SMOKE = ["scale=0.5", "objects.count=[6,10]"]


def _tiny_stream(overrides: list[str] = TINY, **options: object) -> ProceduralStereoDataset:
    recipe = load_flow_recipe("stereo/default", overrides)
    return ProceduralStereoDataset(recipe, **options)  # type: ignore[arg-type]


def test_stream_items_are_pure_functions_of_seed_and_index() -> None:
    dataset = _tiny_stream(seed=4, length=3, crop=(32, 48), colour=STEREO_COLOUR)
    first, again = dataset[1], dataset[1]
    assert first.left.shape == first.right.shape == (3, 32, 48)
    assert first.disparity.shape == first.valid.shape == first.occlusion.shape == (32, 48)
    assert torch.equal(first.left, again.left) and torch.equal(first.disparity, again.disparity)
    assert bool(first.valid.all()) and bool(first.has_occlusion)
    assert float(first.disparity.min()) >= 0 and 0 <= float(first.left.min()) <= 1
    dataset.set_epoch(1)
    assert not torch.equal(dataset[1].disparity, first.disparity)
    whole = _tiny_stream(seed=4, length=3)[0]
    assert whole.left.shape == (3, 96, 128)


def test_stream_crops_both_views_alike_and_keeps_the_convention() -> None:
    """The right view warped by the left disparity reproduces the left view where visible."""
    example = _tiny_stream(seed=1, length=1, crop=(48, 96))[0]
    left, right = example.left.numpy(), example.right.numpy()
    disparity, occlusion = example.disparity.numpy(), example.occlusion.numpy()
    x = np.arange(disparity.shape[1])[None, :] - disparity
    seen = (~occlusion) & (x >= 0)
    column = np.clip(np.round(x).astype(int), 0, disparity.shape[1] - 1)
    warped = right[:, np.arange(disparity.shape[0])[:, None], column]
    assert np.abs(warped - left).mean(axis=0)[seen].mean() < 0.05


def test_augment_draws_and_specs() -> None:
    rng = np.random.default_rng(0)
    draw = sample_stereo_augment((40, 60), (20, 30), None, rng=rng)
    assert draw.rows.stop - draw.rows.start == 20 and draw.left is None
    draw = sample_stereo_augment((40, 60), None, STEREO_COLOUR, rng=rng)
    assert draw.cols == slice(0, 60) and draw.left is not None and draw.right is not None
    assert isinstance(
        resolve_stereo_data("recipe:stereo/default", length=2), ProceduralStereoDataset
    )
    with pytest.raises(ValueError, match="overrides"):
        resolve_stereo_data("middlebury_stereo", overrides=["scale=0.5"])


def test_model_shapes_and_registry() -> None:
    assert model_task("cvnet") == "stereo"
    model = build_model(model_spec("cvnet", width=0.25, max_disparity=32))
    left, right = torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        output = model(left, right)
    assert output.refined.shape == output.coarse.shape == (2, 32, 48)
    assert output.cost.shape == (2, 8, 8, 12)
    assert float(output.coarse.min()) >= 0 and float(output.coarse.max()) <= 32
    with pytest.raises(ValueError, match="multiple of 8"):
        model(torch.rand(1, 3, 30, 48), torch.rand(1, 3, 30, 48))
    with pytest.raises(ValueError, match="multiple of 8"):
        CostVolumeStereo(max_disparity=20)


def test_correlation_peaks_at_the_true_shift_and_soft_argmin_reads_it() -> None:
    generator = torch.Generator().manual_seed(0)
    right = torch.randn(1, 8, 4, 20, generator=generator)
    left = torch.zeros_like(right)
    left[..., 3:] = right[..., :-3]  # left pixel x is right pixel x - 3
    volume = group_correlation(left, right, candidates=6, groups=2)
    assert volume.shape == (1, 2, 6, 4, 20)
    assert bool((volume.mean(1)[0, :, :, 3:].argmax(0) == 3).all())
    assert torch.allclose(volume[0, :, 3, :, 3:], torch.ones(2, 4, 17), atol=1e-5)
    cost = torch.full((1, 5, 1, 1), 50.0)
    cost[0, 2] = 0.0
    assert soft_argmin(cost).item() == pytest.approx(2.0)


def test_stereo_loss_and_cross_entropy() -> None:
    disparity = torch.tensor([[[4.0, 8.0, 300.0, 2.0]]])  # [B=1, H=1, W=4]
    valid = torch.tensor([[[True, True, True, False]]])
    prediction = torch.tensor([[[4.0, 12.0, 0.0, 50.0]]])
    cost = torch.zeros(1, 16, 1, 4)  # full resolution: candidate k is k pixels
    loss, metrics = stereo_loss([prediction, prediction, cost], disparity, valid, max_disparity=16)
    # pixels 0, 1 count (300 is beyond max_disparity, pixel 3 not valid): smooth L1 0 and 3.5
    assert metrics["epe"] == pytest.approx(2.0) and metrics["d1"] == pytest.approx(0.5)
    assert metrics["ce"] == pytest.approx(np.log(16), rel=1e-5)  # uniform over 16 candidates
    assert float(loss) == pytest.approx(1.5 * 3.5 / 2 + np.log(16), rel=1e-5)
    # the truth between two candidates splits its weight linearly
    peaked = torch.full((1, 4, 1, 1), 30.0)
    peaked[0, 1] = peaked[0, 2] = 0.0
    ce = candidate_cross_entropy(
        peaked, torch.full((1, 4, 4), 6.0), torch.ones(1, 4, 4, dtype=torch.bool), max_disparity=16
    )
    assert float(ce) == pytest.approx(np.log(2), rel=1e-4)


def _held_out_epes(checkpoint: Path) -> tuple[float, float]:
    from flowsynth.evaluate.flow import load_model
    from flowsynth.evaluate.stereo import evaluate_stereo

    model, _ = load_model(checkpoint, torch.device("cpu"))
    held_out = _tiny_stream(SMOKE, seed=1_000_003, length=6)
    results = evaluate_stereo(model, held_out, device=torch.device("cpu"))
    return results["model"]["epe"], results["constant"]["epe"]


def test_smoke_training_beats_the_constant_disparity(tmp_path: Path) -> None:
    """A short run on small stereo samples beats the best constant (the held-out set's own
    median disparity) on held-out samples of the same recipe."""
    from flowsynth.train.config import make_config
    from flowsynth.train.loop import train

    config = make_config(
        "cpu",
        task="stereo",
        data="stereo/default",
        out=str(tmp_path / "run"),
        overrides=tuple(SMOKE),
        crop=(64, 128),
        max_disparity=64,
        steps=120,
        batch=4,
        warmup=10,
        device="cpu",
        workers=0,
    )
    result = train(config, progress=False, keep_history=False)
    model_epe, constant_epe = _held_out_epes(result.checkpoint)
    assert model_epe < 0.8 * constant_epe, (model_epe, constant_epe)


def test_train_resume_and_evaluate_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("base: stereo/default\nscale: 0.25\nobjects: {count: [3, 5]}\n")
    out = tmp_path / "run"
    train = ["train", "--task", "stereo", "--data", str(recipe), "--out", str(out)]
    options = ["--width", "0.25", "--batch", "2", "--crop", "32", "48", "--max-disparity", "32"]
    options += ["--device", "cpu", "--no-progress", "--checkpoint-every", "2"]
    assert main([*train, *options, "--steps", "2"]) == 0
    assert main([*train, *options, "--steps", "3", "--resume"]) == 2  # other settings: refused
    assert main([*train, *options, "--steps", "2", "--resume"]) == 0  # nothing left to do
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["task"] == "stereo" and config["config"]["max_disparity"] == 32
    assert config["model_spec"] == {
        "name": "cvnet",
        "options": {"width": 0.25, "max_disparity": 32},
    }
    header = (out / "log.csv").read_text().splitlines()[0]
    assert header.startswith("step,loss,epe,d1,")
    results = tmp_path / "results.json"
    spec = f"recipe:{recipe}"
    code = main(
        ["evaluate", str(out / "checkpoint.pt"), "--dataset", spec, "--recipe-count", "2"]
        + ["--out", str(results), "--device", "cpu", "--no-progress"]
    )
    assert code == 0
    document = json.loads(results.read_text())
    assert document["task"] == "stereo"
    rows = document["datasets"][spec]
    assert rows["model"]["images"] == rows["constant"]["images"] == 2
    assert "constant d=" in capsys.readouterr().out
    assert "D1 %" in results.with_suffix(".md").read_text()


@pytest.mark.parametrize("layout", ["files", "flyingthings3d"])
def test_training_reads_stereo_pairs_from_disk(layout: str, tmp_path: Path) -> None:
    """Pairs written by ``flowsynth generate`` (flat files, FlyingThings3D's tree) train a
    model from the CLI: ``flowsynth_stereo=PATH``, ``flyingthings3d_stereo=PATH``."""
    data = tmp_path / "data"
    generate = ["generate", "stereo/default", "--out", str(data), "--count", "3", "--set"]
    generate += ["scale=0.25", "--format", layout, "--preview", "0", "--no-progress"]
    assert main(generate) == 0
    name = "flowsynth_stereo" if layout == "files" else "flyingthings3d_stereo"
    out = tmp_path / "run"
    train = ["train", "--task", "stereo", "--data", f"{name}={data}", "--out", str(out)]
    train += ["--width", "0.25", "--batch", "2", "--crop", "32", "48", "--max-disparity", "32"]
    assert main([*train, "--device", "cpu", "--no-progress", "--steps", "2"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["data"] == f"{name}={data}"
    assert len((out / "log.csv").read_text().splitlines()) >= 2
