"""Dataset aliases of ``flowsynth evaluate`` on fake trees in the real formats (6x8 pixels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowsynth.evaluate.datasets import resolve_flow_dataset
from flowsynth.evaluate.run import evaluate
from tests.data import fakes


def test_sintel_alias_reports_occluded_and_visible_zero_flow(tmp_path: Path) -> None:
    written = fakes.sintel(tmp_path / "sintel")
    spec = f"sintel-clean={tmp_path / 'sintel'}"
    assert len(resolve_flow_dataset(spec)) == len(written)  # type: ignore[arg-type]
    rows = evaluate(None, [spec], device="cpu")["datasets"][spec]
    assert set(rows) == {"zero_flow"}
    speed = [np.linalg.norm(f.flow, axis=-1) for f in written]
    noc = np.concatenate([s[f.valid & ~f.occlusion] for s, f in zip(speed, written, strict=True)])
    occ = np.concatenate([s[f.valid & f.occlusion] for s, f in zip(speed, written, strict=True)])
    summary = rows["zero_flow"]
    assert summary["epe_noc"] == pytest.approx(noc.mean())
    assert summary["epe_occ"] == pytest.approx(occ.mean())
    assert summary["pixels"] == noc.size + occ.size


def test_chairs_and_kitti_aliases_resolve(tmp_path: Path) -> None:
    fakes.flying_chairs(tmp_path / "chairs", count=2)
    fakes.kitti(tmp_path / "kitti", year=2015)
    assert len(resolve_flow_dataset(f"chairs={tmp_path / 'chairs'}")) == 2  # type: ignore[arg-type]
    assert len(resolve_flow_dataset(f"kitti={tmp_path / 'kitti'}")) == 2  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown dataset"):
        resolve_flow_dataset("hd2k")
