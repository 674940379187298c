"""Presets, config round trips, data specs, and the CLI's torch-free parser."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flowsynth.train.build import check_crop, flow_spec
from flowsynth.train.config import PRESETS, TrainConfig, config_differences, make_config


def test_presets_fill_only_what_is_not_given() -> None:
    config = make_config("cpu", data="ablation/boxes", out="run", batch=2)
    assert config.batch == 2
    assert config.crop == PRESETS[("cpu", "flow")]["crop"]
    assert config.model == "pwc" and config.workers == 1
    gpu = make_config("gpu", data="x", out="run", task="segmentation")
    assert gpu.model == "unet" and gpu.crop == (512, 512)
    with pytest.raises(ValueError, match="preset"):
        make_config("tpu", data="x", out="run")


def test_config_round_trip_and_checks() -> None:
    config = TrainConfig(data="d", out="o", crop=(64, 128), overrides=("size=[64,128]",))
    plain = config.to_dict()
    assert plain["crop"] == [64, 128] and TrainConfig.from_dict(plain) == config
    with pytest.raises(ValueError, match="unknown training config keys"):
        TrainConfig.from_dict({**plain, "colour": 1})
    with pytest.raises(ValueError, match="task"):
        TrainConfig(data="d", out="o", task="depth")
    changed = {**plain, "lr": 1.0, "workers": 5, "device": "cuda"}
    assert config_differences(plain, changed) == [f"lr: {config.lr!r} -> 1.0"]


def test_data_specs_and_crop_checks() -> None:
    assert flow_spec("ablation/boxes") == "recipe:ablation/boxes"
    assert flow_spec("recipe:default") == "recipe:default"
    assert flow_spec("middlebury") == "middlebury"
    assert flow_spec("kitti2012=/data/kitti") == "kitti2012=/data/kitti"
    check_crop((128, 192), 64)
    with pytest.raises(ValueError, match="multiple of the model's stride 64"):
        check_crop((100, 192), 64)


@pytest.mark.parametrize(
    "code",
    [
        "import flowsynth.train, flowsynth.evaluate, flowsynth.cli.train",
        "import flowsynth.cli.evaluate, flowsynth.evaluate.metrics",
        "import flowsynth.evaluate.segmetrics, flowsynth.cli.main; flowsynth.cli.main._parser()",
    ],
)
def test_cli_and_package_imports_stay_torch_free(code: str) -> None:
    check = f"{code}; import sys; assert 'torch' not in sys.modules, 'torch loaded'"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
