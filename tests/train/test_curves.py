"""``flowsynth train`` ends by drawing log.csv into OUT/curves.png (or says once why not)."""

from __future__ import annotations

import builtins
from pathlib import Path

import imageio.v3 as iio
import pytest

from flowsynth.base import notes
from flowsynth.train.config import TrainConfig
from flowsynth.train.logs import CURVES_NAME, read_log, write_curves
from flowsynth.train.loop import train

from .helpers import TINY_OVERRIDES


def _tiny(out: Path) -> TrainConfig:
    return TrainConfig(
        data="recipe:ablation/boxes",
        out=str(out),
        model="pwc",
        width=0.25,
        steps=3,
        batch=1,
        crop=(64, 64),
        overrides=tuple(TINY_OVERRIDES),
        device="cpu",
        threads=1,
        log_every=1,
        checkpoint_every=3,
        seed=1,
        data_seed=2,
    )


def test_a_training_run_writes_its_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    train(_tiny(tmp_path / "run"), progress=False)
    log = read_log(tmp_path / "run" / "log.csv")
    assert [step for step, _ in log["loss"]] == [1, 2, 3] and len(log["epe"]) == 3
    picture = iio.imread(tmp_path / "run" / CURVES_NAME)
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0]  # two panels side by side


def test_no_matplotlib_no_curves_and_one_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "log.csv").write_text("step,loss,epe\n1,2.0,3.0\n")
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(notes, "_said", set())
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert write_curves(tmp_path) is None and write_curves(tmp_path) is None
    assert not (tmp_path / CURVES_NAME).exists()
    assert capsys.readouterr().err.count("pip install matplotlib") == 1


def test_an_empty_log_draws_nothing(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "log.csv").write_text("step,loss,epe\n")
    assert write_curves(tmp_path) is None
    assert write_curves(tmp_path / "missing") is None
