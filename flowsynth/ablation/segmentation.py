"""The U-Net lesson: elastic deformation makes a few labelled images go a long way, and the
weighted loss separates touching objects.

For each dataset of a preset (ISBI 2012 EM; DRIVE retinal vessels) and each row (augmentation
``none``/``affine``/``elastic`` x training-set size x loss ``weighted``/``plain``; see
:mod:`flowsynth.ablation.segpresets`) a U-Net is trained for every seed on the first N training
images and evaluated on the held-out images (ISBI: slices 20-29; DRIVE: the 20 test images,
inside the field of view). The held-out set is also measured during training, so each run
leaves its learning curve in ``log.csv`` (``heldout_*`` columns). Rows share the seeds of model
initialisation, data order and augmentation draws (common random numbers). Outputs::

    OUT/runs/<dataset>/<row>/seed-<k>/ (checkpoint, log.csv, evaluation.json)
    OUT/results.json, results.md (verdict first), results.png (held-out curves),
    OUT/results-<dataset>.png (final values with 95 % intervals)

A finished run (its ``evaluation.json``) is not run again; an interrupted one resumes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from flowsynth import __version__
from flowsynth.ablation.segpresets import (
    DATASETS,
    LOSSES,
    PRESETS,
    Row,
    SegmentationData,
    SegmentationPreset,
)
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.train.config import TrainConfig

#: Held-out columns measured during training (where the dataset reports them).
CURVE_METRICS = ("iou", "rand_error", "auc")


def _train_config(
    data: SegmentationData,
    row: Row,
    seed: int,
    folder: Path,
    preset: SegmentationPreset,
    data_root: str | None,
    device: str,
) -> TrainConfig:
    """The training configuration of one dataset, row and seed."""
    steps = preset.grids[data.name].steps[row.size]
    return TrainConfig(
        data=data.train.format(n=row.size),
        out=str(folder),
        task="segmentation",
        model="unet",
        width=preset.width,
        steps=steps,
        batch=preset.batch,
        crop=preset.crop,
        lr=preset.lr,
        warmup=min(20, max(steps // 5, 1)),
        device=device,
        seed=seed,
        data_seed=seed,
        recipe_seed=seed,
        seg_augment=row.augment,
        seg_weights=LOSSES[row.loss],
        ema=preset.ema,
        data_root=data_root,
        dice=0.5,
        threads=preset.threads,
        checkpoint_every=max(steps // 4, 1),
        log_every=max(min(50, steps // 4), 1),
    )


def _curve(folder: Path) -> dict[str, list[list[float]]]:
    """``{heldout_<metric>: [[step, value], ...]}`` from the run's ``log.csv``."""
    from flowsynth.train.logs import read_log

    path = folder / "log.csv"
    columns = read_log(path) if path.is_file() else {}
    return {
        name: [[float(step), value] for step, value in points]
        for name, points in columns.items()
        if name.startswith("heldout_")
    }


def _run(
    dataset: str,
    row: str,
    seed: int,
    folder: Path,
    preset: SegmentationPreset,
    data_root: str | None,
    device: str,
) -> dict[str, Any]:
    """Train (or resume) one run, evaluate it, and record ``evaluation.json``."""
    # torch and the trainer load only in the worker that runs: this module stays light.
    import torch

    from flowsynth.evaluate.held_out import segmentation_held_out
    from flowsynth.evaluate.run import evaluate
    from flowsynth.train.loop import train

    record_path = folder / "evaluation.json"
    if record_path.exists():
        return dict(json.loads(record_path.read_text()))
    torch.set_num_threads(preset.threads)
    began = time.perf_counter()
    data = DATASETS[dataset]
    config = _train_config(data, Row.parse(row), seed, folder, preset, data_root, device)
    held_out = segmentation_held_out(
        data.held_out,
        train_spec=config.data,
        every=max(config.steps // preset.measurements, 1),
        data_root=data_root,
        device=device,
        max_images=preset.curve_images,
        metrics=[m for m in CURVE_METRICS if m in data.metrics],
    )
    result = train(config, resume=True, progress=False, keep_history=False, held_out=held_out)
    document = evaluate(
        result.checkpoint,
        [data.held_out],
        data_root=data_root,
        device=device,
        max_images=preset.max_images,
    )
    summary = document["datasets"][data.held_out]["model"]
    per_image = summary.get("per_image") or {}
    record = {
        "dataset": dataset,
        "row": row,
        "seed": seed,
        "steps": config.steps,
        "values": {m: summary.get(m) for m in data.metrics},
        "per_image": {m: per_image.get(m) for m in data.metrics if per_image.get(m)},
        "curve": _curve(folder),
        "seconds": time.perf_counter() - began,
        "checkpoint": str(result.checkpoint),
    }
    atomic_write_bytes(record_path, (json.dumps(record, indent=1) + "\n").encode())
    return record


def check_data_root(data_root: str | os.PathLike[str] | None, datasets: tuple[str, ...]) -> Path:
    """The data root, after checking it holds every dataset asked for.

    Raises ``FileNotFoundError`` naming the folders looked for (and how to run a subset)."""
    from flowsynth.data.resolve import data_root_path

    wanted = ", ".join(f"{DATASETS[name].folder}/" for name in datasets)
    try:
        root = data_root_path(data_root)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}; the segmentation ablation reads {wanted}") from None
    missing = [name for name in datasets if not (root / DATASETS[name].folder).is_dir()]
    if missing:
        folders = ", ".join(f"{DATASETS[name].folder}/" for name in missing)
        raise FileNotFoundError(
            f"the data root {root} lacks {folders} (the segmentation ablation reads {wanted}); "
            "add them, or choose the datasets to run with --datasets "
            f"{' '.join(n for n in datasets if n not in missing) or 'NAME'}"
        )
    return root


def run_segmentation_ablation(
    out: str | os.PathLike[str],
    *,
    preset: str = "cpu",
    seeds: int = 3,
    datasets: tuple[str, ...] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    device: str = "auto",
    parallel: int | None = None,
) -> dict[str, Any]:
    """Train and evaluate every row of every dataset of ``preset`` for ``seeds`` seeds; write the
    results (see the module docstring) and return them."""
    # joblib loads only when an ablation runs.
    from joblib import Parallel, delayed

    from flowsynth.ablation.segreport import write_results

    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    settings = PRESETS[preset]
    if parallel is not None:
        settings = replace(settings, parallel=parallel)
    names = tuple(datasets) if datasets else tuple(settings.grids)
    unknown = [n for n in names if n not in settings.grids]
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; choose from {sorted(settings.grids)}")
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    root = check_data_root(data_root, names)
    folder = Path(out).resolve()
    plan = {name: [row.id for row in settings.grids[name].rows()] for name in names}
    _print_plan(settings, plan, seeds)
    began = time.perf_counter()
    jobs = [(name, row, seed) for name in names for row in plan[name] for seed in range(seeds)]
    # The longest runs first, so that the last ones do not leave a core idle.
    jobs.sort(key=lambda job: -settings.grids[job[0]].steps[Row.parse(job[1]).size])
    runs = folder / "runs"
    records = list(
        Parallel(n_jobs=min(settings.parallel, len(jobs)))(
            delayed(_run)(n, r, s, runs / n / r / f"seed-{s}", settings, str(root), device)
            for n, r, s in jobs
        )
    )
    seconds = time.perf_counter() - began
    header = {
        "flowsynth": __version__,
        "preset": asdict(settings),
        "seeds": seeds,
        "rows": plan,
        "held_out": {name: DATASETS[name].held_out for name in names},
        "seconds": seconds,
        "run_seconds": sum(float(r.get("seconds", 0.0)) for r in records),
    }
    return write_results(folder, header, records, settings)


def _print_plan(settings: SegmentationPreset, plan: dict[str, list[str]], seeds: int) -> None:
    """Say what will be trained before the first run starts."""
    total = sum(len(rows) for rows in plan.values()) * seeds
    print(
        f"segmentation ablation, preset {settings.name}: {total} runs ({seeds} seed(s) each), "
        f"{settings.parallel} at a time",
        file=sys.stderr,
    )
    for name, rows in plan.items():
        data = DATASETS[name]
        print(
            f"  {data.title}: {len(rows)} rows, evaluated on {data.held_out}: {', '.join(rows)}",
            file=sys.stderr,
        )
