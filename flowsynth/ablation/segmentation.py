"""The U-Net lesson: elastic deformation makes a few labelled images go a long way.

A U-Net is trained on the first 3, 10 and 20 ISBI 2012 EM slices with no augmentation (random
crops only), affine augmentation (mirroring, rotation, scaling) or the U-Net's elastic
deformation, then evaluated on the held-out slices (20-29) with IoU, Dice, pixel error and the
ISBI adapted Rand error. Same layout, resume rule and outputs as the flow ablation::

    OUT/runs/<augment>-<n>/seed-<k>/ (+ evaluation.json), OUT/results.{json,md,png}
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from flowsynth import __version__
from flowsynth.ablation.report import markdown, plot, summarise
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.train.config import TrainConfig

AUGMENTS = ("none", "affine", "elastic")
TRAIN_SIZES = (3, 10, 20)
DATASET = "isbi2012_em"
HELD_OUT = f"{DATASET}[20:]"
METRICS = ("iou", "dice", "pixel_error", "rand_error")


@dataclass(frozen=True)
class SegmentationPreset:
    name: str
    width: float
    steps: int
    batch: int
    crop: tuple[int, int]
    lr: float
    threads: int
    parallel: int
    max_images: int | None


PRESETS = {
    "smoke": SegmentationPreset("smoke", 0.125, 2, 1, (64, 64), 1e-3, 1, 1, 2),
    "cpu": SegmentationPreset("cpu", 0.25, 300, 2, (192, 192), 1e-3, 1, 2, None),
    "gpu": SegmentationPreset("gpu", 1.0, 20_000, 8, (512, 512), 3e-4, 8, 1, None),
}


def _train_config(
    row: str,
    seed: int,
    folder: Path,
    preset: SegmentationPreset,
    data_root: str | None,
    device: str,
) -> TrainConfig:
    """The training configuration of one row (``<augment>-<count>``) and seed."""
    augment, count = row.rsplit("-", 1)
    return TrainConfig(
        data=f"{DATASET}[:{count}]",
        out=str(folder),
        task="segmentation",
        model="unet",
        width=preset.width,
        steps=preset.steps,
        batch=preset.batch,
        crop=preset.crop,
        lr=preset.lr,
        warmup=min(20, max(preset.steps // 5, 1)),
        device=device,
        seed=seed,
        data_seed=seed,
        recipe_seed=seed,
        seg_augment=augment,
        data_root=data_root,
        dice=0.5,
        threads=preset.threads,
        checkpoint_every=max(preset.steps // 4, 1),
        log_every=max(min(10, preset.steps // 4), 1),
    )


def _run(
    row: str,
    seed: int,
    folder: Path,
    preset: SegmentationPreset,
    data_root: str | None,
    device: str,
) -> dict[str, Any]:
    """Train (or resume) one row and seed, evaluate it, and record ``evaluation.json``."""
    # torch and the trainer load only in the worker that runs: this module stays light.
    import torch

    from flowsynth.evaluate.run import evaluate
    from flowsynth.train.loop import train

    record_path = folder / "evaluation.json"
    if record_path.exists():
        return dict(json.loads(record_path.read_text()))
    torch.set_num_threads(preset.threads)
    began = time.perf_counter()
    config = _train_config(row, seed, folder, preset, data_root, device)
    result = train(config, resume=True, progress=False)
    document = evaluate(
        result.checkpoint,
        [HELD_OUT],
        data_root=data_root,
        device=device,
        max_images=preset.max_images,
    )
    summary = document["datasets"][HELD_OUT]["model"]
    record = {
        "row": row,
        "seed": seed,
        "values": {m: summary.get(m) for m in METRICS},
        "seconds": time.perf_counter() - began,
        "checkpoint": str(result.checkpoint),
    }
    atomic_write_bytes(record_path, (json.dumps(record, indent=1) + "\n").encode())
    return record


def run_segmentation_ablation(
    out: str | os.PathLike[str],
    *,
    preset: str = "cpu",
    seeds: int = 1,
    sizes: tuple[int, ...] = TRAIN_SIZES,
    augments: tuple[str, ...] = AUGMENTS,
    data_root: str | os.PathLike[str] | None = None,
    device: str = "auto",
    parallel: int | None = None,
) -> dict[str, Any]:
    """Train and evaluate every (augmentation, training-set size) for ``seeds`` seeds."""
    # joblib and torch (through data.resolve) load only when an ablation runs.
    from joblib import Parallel, delayed

    from flowsynth.data.resolve import data_root_path

    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    settings = PRESETS[preset]
    if parallel is not None:
        settings = replace(settings, parallel=parallel)
    root = data_root_path(data_root)
    if not (root / DATASET).is_dir():
        raise FileNotFoundError(f"the segmentation ablation needs {root / DATASET} (ISBI 2012 EM)")
    folder = Path(out).resolve()
    rows = [f"{a}-{n}" for n in sizes for a in augments]
    began = time.perf_counter()
    jobs = (
        delayed(_run)(r, s, folder / "runs" / r / f"seed-{s}", settings, str(root), device)
        for r in rows
        for s in range(seeds)
    )
    records = list(Parallel(n_jobs=min(settings.parallel, len(rows) * seeds))(jobs))
    seconds = time.perf_counter() - began
    return _write_results(folder, records, rows, settings, seeds, seconds)


def _write_results(
    folder: Path,
    records: list[dict[str, Any]],
    rows: list[str],
    settings: SegmentationPreset,
    seeds: int,
    seconds: float,
) -> dict[str, Any]:
    """results.json, results.md and results.png of a segmentation ablation; the results."""
    table = summarise(records, rows, METRICS)
    results = {
        "flowsynth": __version__,
        "preset": asdict(settings),
        "seeds": seeds,
        "rows": rows,
        "held_out": HELD_OUT,
        "summary": table,
        "seconds": seconds,
        "runs": records,
    }
    atomic_write_bytes(folder / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    notes = [
        f"Preset `{settings.name}`: U-Net x{settings.width}, {settings.steps} steps of batch "
        f"{settings.batch} at {settings.crop[0]}x{settings.crop[1]} crops; trained on the first "
        f"N ISBI 2012 slices, evaluated on {HELD_OUT} (whole slices); {seeds} seed(s), mean ± "
        "std. IoU and Dice of the cell class; lower is better for the errors.",
        f"Wall time: {seconds / 60:.1f} min.",
    ]
    text = markdown(
        "Segmentation ablation: augmentation x training-set size", table, list(METRICS), notes=notes
    )
    atomic_write_bytes(folder / "results.md", text.encode())
    plot(
        folder / "results.png",
        table,
        list(METRICS),
        ylabel="value",
        title="U-Net on ISBI 2012: augmentation x training slices",
    )
    return results
