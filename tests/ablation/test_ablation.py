"""The ablation commands, smoke presets end to end; tables and rank correlations."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flowsynth.ablation import paper
from flowsynth.ablation.report import markdown, spearman, summarise

pytest.importorskip("torch")


def test_summary_and_spearman_on_hand_made_numbers() -> None:
    runs = [
        {"row": "boxes", "seed": 0, "values": {"a": 3.0}},
        {"row": "boxes", "seed": 1, "values": {"a": 5.0}},
        {"row": "polygons", "seed": 0, "values": {"a": 2.0}},
        {"row": "ellipses", "seed": 0, "values": {"a": 1.0}},
    ]
    table = summarise(runs, ["boxes", "polygons", "ellipses"], ["a"])
    assert table["boxes"]["a"] == {"mean": 4.0, "std": pytest.approx(2**0.5), "n": 2}
    assert table["polygons"]["a"]["std"] is None
    reference = {"boxes": {"p": 9.0}, "polygons": {"p": 5.0}, "ellipses": {"p": 4.0}}
    assert spearman(table, reference, ["a"])["a"]["p"] == pytest.approx(1.0)
    reversed_reference = {k: {"p": -v["p"]} for k, v in reference.items()}
    assert spearman(table, reversed_reference, ["a"])["a"]["p"] == pytest.approx(-1.0)
    text = markdown("t", table, ["a"], labels=dict(paper.ROWS), reference=reference)
    assert "| Boxes | 4.000 ± 1.414 | 9.00 |" in text


def test_flow_ablation_smoke_runs_and_resumes(tmp_path: Path) -> None:
    from flowsynth.ablation.flow import run_flow_ablation

    out = tmp_path / "flow"
    results = run_flow_ablation(
        out,
        preset="smoke",
        seeds=1,
        rows=["boxes"],
        curriculum=True,
        real_data=False,
        device="cpu",
        parallel=1,
    )
    rows = ["boxes", "polygons_ellipses-then-deformations"]
    assert results["rows"] == rows
    assert set(results["summary"]) == set(rows)
    assert "synthetic" in results["summary"]["boxes"]
    assert results["summary"]["boxes"]["synthetic"]["mean"] > 0
    assert results["zero_flow"]["synthetic"] > 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["recipe_hashes"]["boxes"] and len(saved["runs"]) == 2
    text = (out / "results.md").read_text()
    assert "| Boxes |" in text and "paper orderings" in text.splitlines()[2]
    assert saved["statistics"]["cells"]["boxes"]["synthetic"]["ci"] is None
    # one seed: no interval over seeds, but a paired bootstrap over the synthetic images
    assert saved["statistics"]["cells"]["boxes"]["synthetic"]["bootstrap"] is not None
    assert (out / "results.png").stat().st_size > 1000
    assert (out / "runs/polygons_ellipses-then-deformations/seed-0/first/checkpoint.pt").exists()
    record = out / "runs/boxes/seed-0/evaluation.json"
    before = record.stat().st_mtime_ns
    checkpoint = out / "runs/boxes/seed-0/checkpoint.pt"
    stamp = checkpoint.stat().st_mtime_ns
    again = run_flow_ablation(
        out,
        preset="smoke",
        seeds=1,
        rows=["boxes"],
        curriculum=True,
        real_data=False,
        device="cpu",
        parallel=1,
    )
    assert record.stat().st_mtime_ns == before and checkpoint.stat().st_mtime_ns == stamp
    assert again["summary"] == results["summary"]
    with pytest.raises(ValueError, match="unknown ablation rows"):
        run_flow_ablation(out, preset="smoke", rows=["cubes"])


def test_segmentation_ablation_smoke(data_subdir: Callable[..., Path], tmp_path: Path) -> None:
    from flowsynth.ablation.segmentation import run_segmentation_ablation

    data_subdir("isbi2012_em")
    data_subdir("retina_drive")
    out = tmp_path / "seg"
    results = run_segmentation_ablation(out, preset="smoke", seeds=2, device="cpu", parallel=1)
    assert results["rows"] == {
        "isbi2012_em": [
            "none-2-weighted",
            "elastic-2-weighted",
            "none-2-plain",
            "elastic-2-plain",
        ],
        "retina_drive": ["none-2-weighted", "elastic-2-weighted"],
    }
    isbi = results["datasets"]["isbi2012_em"]
    for row in results["rows"]["isbi2012_em"]:
        values = isbi["summary"][row]
        assert 0 <= values["iou"]["mean"] <= 1 and 0 <= values["rand_error"]["mean"] <= 1
        assert values["iou"]["n"] == 2
    drive = results["datasets"]["retina_drive"]
    assert 0 <= drive["summary"]["elastic-2-weighted"]["auc"]["mean"] <= 1
    # per-image values feed the paired bootstrap; the held-out curve is in every record
    run = next(r for r in results["runs"] if r["dataset"] == "retina_drive")
    assert len(run["per_image"]["iou"]) == 2 and run["curve"]["heldout_auc"]
    cell = drive["statistics"]["cells"]["none-2-weighted"]["iou"]
    assert cell["ci"] is not None and cell["bootstrap"] is not None
    claims = isbi["statistics"]["claims"]
    assert {c["text"] for c in claims} >= {"elastic beats none at 2 (weighted CE)"}
    text = (out / "results.md").read_text()
    assert "claims reproduced" in text.splitlines()[2]
    for name in ("results.png", "results-isbi2012_em.png", "results-retina_drive.png"):
        assert (out / name).stat().st_size > 0
    # finished runs are not run again
    began = (out / "runs/isbi2012_em/none-2-weighted/seed-0/evaluation.json").stat().st_mtime_ns
    run_segmentation_ablation(out, preset="smoke", seeds=2, device="cpu", parallel=1)
    again = (out / "runs/isbi2012_em/none-2-weighted/seed-0/evaluation.json").stat().st_mtime_ns
    assert began == again


def test_segmentation_ablation_checks_the_data_root_first(tmp_path: Path) -> None:
    from flowsynth.ablation.segmentation import run_segmentation_ablation

    (tmp_path / "root/isbi2012_em").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="lacks retina_drive/.*--datasets isbi2012_em"):
        run_segmentation_ablation(tmp_path / "out", preset="smoke", data_root=tmp_path / "root")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="lacks isbi2012_em/, retina_drive/"):
        run_segmentation_ablation(tmp_path / "out", preset="smoke", data_root=tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not a folder; .* reads isbi2012_em/, retina_dr"):
        run_segmentation_ablation(tmp_path / "out", preset="smoke", data_root=tmp_path / "none")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="unknown datasets"):
        run_segmentation_ablation(tmp_path / "out", preset="smoke", datasets=("kitti",))


def test_flyingchairs_row_trains_on_an_official_folder(
    data_subdir: Callable[..., Path], tmp_path: Path
) -> None:
    from flowsynth.ablation.flow import run_flow_ablation

    chairs = data_subdir("flyingchairs")
    results = run_flow_ablation(
        tmp_path / "c",
        preset="smoke",
        seeds=1,
        rows=["boxes"],
        chairs=chairs,
        device="cpu",
        parallel=1,
    )
    assert results["rows"] == ["boxes", "flyingchairs"]
    assert results["summary"]["flyingchairs"]["synthetic"]["mean"] > 0
    config = json.loads((tmp_path / "c/runs/flyingchairs/seed-0/config.json").read_text())
    assert "flyingchairs=" in json.dumps(config)
