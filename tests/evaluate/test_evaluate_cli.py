"""``flowsynth evaluate``: zero flow on real Middlebury equals numpy on the .flo files; a
trained checkpoint gets a model row and a zero-flow row; hostile checkpoints are refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from flowsynth.cli.main import main
from flowsynth.io import read_flo


def test_zero_flow_on_middlebury_matches_numpy(
    data_subdir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = data_subdir("middlebury")
    errors, per_image = [], []
    for path in sorted((root / "other-gt-flow").glob("*/flow10.flo")):
        flow = read_flo(path).astype(np.float64)
        valid = np.all(np.abs(flow) < 1e9, axis=-1)
        magnitude = np.sqrt((flow**2).sum(-1))[valid]
        errors.append(magnitude)
        per_image.append(magnitude.mean())
    expected = np.concatenate(errors).mean()
    out = tmp_path / "zero.json"
    code = main(
        [
            "evaluate",
            "--zero-flow",
            "--dataset",
            "middlebury",
            "--data-root",
            str(root.parent),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    summary = json.loads(out.read_text())["datasets"]["middlebury"]["zero_flow"]
    assert summary["images"] == len(per_image) == 8
    assert summary["epe"] == pytest.approx(expected, rel=1e-9)
    assert summary["epe_image_mean"] == pytest.approx(np.mean(per_image), rel=1e-9)
    assert "| middlebury | zero flow | 8 |" in out.with_suffix(".md").read_text()
    assert "zero flow" in capsys.readouterr().out


def _tiny_run(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--data",
            "ablation/boxes",
            "--set",
            "size=[64,96]",
            "--set",
            "objects.count=[2,3]",
            "--out",
            str(out),
            "--preset",
            "cpu",
            "--width",
            "0.25",
            "--steps",
            "2",
            "--batch",
            "2",
            "--crop",
            "64",
            "64",
            "--workers",
            "0",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--no-progress",
        ]
    )
    assert code == 0
    return out


def test_train_then_evaluate_a_recipe(tmp_path: Path) -> None:
    out = _tiny_run(tmp_path)
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["data"] == "ablation/boxes"
    assert config["info"]["recipe_hash"] and config["model_spec"]["name"] == "pwc"
    assert (out / "log.csv").read_text().splitlines()[0].startswith("step,loss,epe,lr")
    results = tmp_path / "results.json"
    code = main(
        [
            "evaluate",
            str(out / "checkpoint.pt"),
            "--dataset",
            "recipe:ablation/boxes",
            "--recipe-count",
            "2",
            "--out",
            str(results),
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert code == 0
    document = json.loads(results.read_text())
    rows = document["datasets"]["recipe:ablation/boxes"]
    assert set(rows) == {"model", "zero_flow"} and document["step"] == 2
    assert rows["model"]["images"] == 2 and rows["model"]["epe_noc"] is not None


def test_evaluate_refuses_a_hostile_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"

    class Hostile:
        def __reduce__(self):  # noqa: ANN204
            return (os.mkdir, (str(marker),))

    path = tmp_path / "checkpoint.pt"
    torch.save({"format": "flowsynth-checkpoint", "model": Hostile()}, path)
    assert main(["evaluate", str(path), "--dataset", "recipe:ablation/boxes"]) == 2
    assert "refusing to load" in capsys.readouterr().err
    assert not marker.exists()


def test_evaluate_needs_a_checkpoint_or_zero_flow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--dataset", "middlebury"]) == 2
    assert "--zero-flow" in capsys.readouterr().err
