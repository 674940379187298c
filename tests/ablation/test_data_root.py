"""The flow ablation stops before any training when the real-data root is missing or empty."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flowsynth.ablation.flow import REAL_DATASETS, real_data_root, run_flow_ablation


def _fails_fast(out: Path, match: str, **options: object) -> None:
    began = time.perf_counter()
    with pytest.raises(FileNotFoundError, match=match) as error:
        run_flow_ablation(out, preset="smoke", seeds=1, rows=["boxes"], device="cpu", **options)
    assert time.perf_counter() - began < 5
    assert not (out / "runs").exists()
    for folder, _, _ in REAL_DATASETS:
        assert f"{folder}/" in str(error.value)


def test_missing_data_root_stops_at_once(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    _fails_fast(tmp_path / "out", str(missing), data_root=missing)


def test_empty_data_root_stops_at_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    _fails_fast(tmp_path / "out", f"{empty}.*holds none", data_root=empty)


def test_no_data_root_at_all_stops_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWSYNTH_DATA_ROOT", raising=False)
    _fails_fast(tmp_path / "out", "no data root.*--no-real-data")


def test_a_root_with_one_dataset_is_enough(tmp_path: Path) -> None:
    (tmp_path / "kitti2015").mkdir()
    assert real_data_root(tmp_path) == tmp_path


def test_cli_no_real_data_flag() -> None:
    import argparse

    from flowsynth.cli.ablation import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["ablation", "flow", "--out", "o"])
    assert args.real_data is True
    args = parser.parse_args(["ablation", "flow", "--out", "o", "--no-real-data"])
    assert args.real_data is False
