"""``benchmarks/device_check.py`` at smoke size (what CI can run without a GPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "device_check.py"


def test_device_check_smoke_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("FLOWSYNTH_DATA_ROOT", None)  # no real datasets: they are listed as skipped
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--device", "cpu", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["ok"] and report["failures"] == [] and report["smoke"]
    assert report["device"]["name"] and report["device"]["device"] == "cpu"
    throughput = report["throughput"]
    assert throughput["preset"] == "gpu" and throughput["compile"] and throughput["bf16"]
    assert [row["workers"] for row in throughput["per_workers"]] == [0, 1]
    for row in throughput["per_workers"]:
        for key in ("step_s", "samples_per_s", "data_wait_share", "peak_memory_bytes"):
            assert row[key] >= 0, key
        assert 0 <= row["data_wait_share"] <= 1
    assert throughput["recommended_workers"] in (0, 1)
    for task in ("flow", "segmentation"):
        run = report[f"{task}_run"]
        assert run["compile"] and run["bf16"] and run["loss_finite"] and run["steps"] == 3
        assert run["samples_per_s"] > 0 and run["peak_memory_bytes"] > 0
    evaluation = report["flow_evaluation"]
    assert "epe" in evaluation["datasets"]["recipe:default"]["model"]
    assert {s["dataset"] for s in evaluation["skipped"]} >= {"middlebury", "kitti2012"}
    assert report["segmentation_evaluation"]["datasets"]
    assert "FAILED" not in result.stderr


def test_device_check_fails_loudly(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--smoke",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--workers",
            "-1",
            "--steps",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode != 0
    report = json.loads(out.read_text())
    assert not report["ok"] and any("throughput" in f for f in report["failures"])
