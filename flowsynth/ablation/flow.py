"""The "simple objects suffice" ablation (Mayer et al., IJCV 2018), from recipes, one command.

For every row recipe in ``recipes/ablation/`` and every seed, the same model is trained with the
same budget on data rendered on the fly, then evaluated on a held-out synthetic set common to all
rows (``recipe:default``, a seed no training run uses) and on every real dataset found under the
data root, with the zero-flow baseline beside. Curriculum rows train on one recipe, then go on
from that checkpoint on another, at the same total budget as a single row.

Layout of ``OUT``::

    OUT/runs/<row>/seed-<k>/          a training run (checkpoint.pt, config.json, log.csv)
    OUT/runs/<row>/seed-<k>/evaluation.json   its results; present = finished, never redone
    OUT/results.json, results.md, results.png

An interrupted ablation resumes: finished runs are skipped, an unfinished one resumes from its
last checkpoint.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth import __version__
from flowsynth.ablation import paper
from flowsynth.ablation.presets import PRESETS, FlowPreset
from flowsynth.ablation.report import markdown, plot, spearman, summarise
from flowsynth.ablation.stats import Statistics, analyse, sample_bootstrap_intervals
from flowsynth.data.names import BENCHMARKS, dataset_folder
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.recipe.fields import recipe_hash
from flowsynth.recipe.load import load_recipe
from flowsynth.train.config import TrainConfig

#: Real datasets looked for under the data root: (folder, evaluation spec, column name).
REAL_DATASETS = tuple((str(dataset_folder(name)), name, name) for name in BENCHMARKS)
SYNTHETIC = "recipe:default"
SYNTHETIC_COLUMN = "synthetic"

#: The optional row trained on an official FlyingChairs folder (``--chairs PATH``).
CHAIRS_ROW = "flyingchairs"

#: Curriculum rows: name -> (first recipe, second recipe); each half of the budget.
CURRICULA = {"polygons_ellipses-then-deformations": ("polygons_ellipses", "deformations")}


@dataclass(frozen=True)
class Run:
    row: str
    seed: int
    folder: str
    chairs: str | None = None  # official FlyingChairs folder, for the flyingchairs row


def _columns(data_root: Path | None) -> list[tuple[str, str]]:
    """(evaluation spec, column) of the synthetic set and each real dataset found."""
    found = [(SYNTHETIC, SYNTHETIC_COLUMN)]
    if data_root is not None:
        found += [
            (spec, column)
            for folder, spec, column in REAL_DATASETS
            if (data_root / folder).is_dir()
        ]
    return found


def real_data_root(data_root: str | os.PathLike[str] | None) -> Path:
    """The data root (``data_root``, else ``$FLOWSYNTH_DATA_ROOT``), checked to hold at least
    one of :data:`REAL_DATASETS`.

    Raises
    ------
    FileNotFoundError
        No root is given, it is not a folder, or it holds none of the dataset folders; the
        message names the folder and the dataset folders looked for.
    """
    # data.resolve loads torch: this module stays light until a run starts.
    from flowsynth.data.resolve import DATA_ROOT_VARIABLE, data_root_path

    wanted = ", ".join(f"{folder}/" for folder, _, _ in REAL_DATASETS)
    advice = (
        f"pass --data-root (or set {DATA_ROOT_VARIABLE}) to the folder holding them, "
        "or run synthetic-only with --no-real-data (real_data=False)"
    )
    if data_root is None and not os.environ.get(DATA_ROOT_VARIABLE):
        raise FileNotFoundError(f"flow ablation: no data root to look for {wanted} in; {advice}")
    try:
        root = data_root_path(data_root)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"flow ablation: {error} (looked for {wanted} in it); {advice}"
        ) from None
    if len(_columns(root)) == 1:
        raise FileNotFoundError(
            f"flow ablation: the data root {os.fspath(root)!r} holds none of the real datasets "
            f"looked for ({wanted}); {advice}"
        )
    return root


def _data_spec(row: str, chairs: str | None) -> str:
    """What a row trains on: its recipe, or an official FlyingChairs folder."""
    if row == CHAIRS_ROW:
        if chairs is None:
            raise ValueError("the flyingchairs row needs the folder of an official FlyingChairs")
        return f"flyingchairs={chairs}"
    return f"recipe:ablation/{row}"


def _train_config(
    preset: FlowPreset,
    recipe: str,
    seed: int,
    out: Path,
    steps: int,
    device: str,
    init: str | None = None,
) -> TrainConfig:
    """The training configuration of one recipe (or folder) for ``steps`` steps."""
    return TrainConfig(
        data=recipe,
        out=str(out),
        task="flow",
        model=preset.model,
        width=preset.width,
        steps=steps,
        batch=preset.batch,
        crop=preset.crop,
        lr=preset.lr,
        warmup=min(preset.warmup, max(steps // 5, 1)),
        device=device,
        seed=seed,
        data_seed=seed,
        recipe_seed=seed,
        overrides=(f"scale={preset.scale}",) if recipe.startswith("recipe:") else (),
        workers=preset.workers,
        threads=preset.threads,
        checkpoint_every=max(steps // 4, 1),
        log_every=max(min(10, steps // 4), 1),
        init=init,
        ema=preset.ema,
    )


def _train_run(run: Run, preset: FlowPreset, device: str) -> Any:
    """Train (or resume) one row and seed; a curriculum row trains its two halves in turn."""
    # The trainer loads torch: imported in the run's worker only.
    from flowsynth.train.loop import train

    folder = Path(run.folder)
    if run.row not in CURRICULA:
        config = _train_config(
            preset, _data_spec(run.row, run.chairs), run.seed, folder, preset.steps, device
        )
        return train(config, resume=True, progress=False)
    first, second = CURRICULA[run.row]
    half = max(preset.steps // 2, 1)
    warm = train(
        _train_config(preset, _data_spec(first, None), run.seed, folder / "first", half, device),
        resume=True,
        progress=False,
    )
    config = _train_config(
        preset,
        _data_spec(second, None),
        run.seed,
        folder,
        preset.steps - half,
        device,
        init=str(warm.checkpoint),
    )
    return train(config, resume=True, progress=False)


def _evaluation_record(
    run: Run, columns: list[tuple[str, str]], document: dict[str, Any]
) -> dict[str, Any]:
    """The start of a run's record: the model's and zero flow's EPE per column, and the
    model's EPE per image (for the paired bootstrap over images)."""
    values, zero, per_image = {}, {}, {}
    for spec, column in columns:
        entry = document["datasets"][spec]
        values[column] = entry["model"]["epe"]
        zero[column] = entry["zero_flow"]["epe"]
        if entry["model"].get("epe_per_image"):
            per_image[column] = entry["model"]["epe_per_image"]
    record = {"row": run.row, "seed": run.seed, "values": values, "zero_flow": zero}
    return {**record, "per_image": per_image}


def run_one(
    run: Run, preset: FlowPreset, columns: list[tuple[str, str]], data_root: str | None, device: str
) -> dict[str, Any]:
    """Train (or resume) one row and seed, evaluate it, and record ``evaluation.json``."""
    # torch and the evaluator load only in the worker that runs: this module stays light.
    import torch

    from flowsynth.evaluate.run import evaluate

    torch.set_num_threads(preset.threads)
    record_path = Path(run.folder) / "evaluation.json"
    if record_path.exists():
        return dict(json.loads(record_path.read_text()))
    began = time.perf_counter()
    result = _train_run(run, preset, device)
    trained = time.perf_counter() - began
    document = evaluate(
        result.checkpoint,
        [spec for spec, _ in columns],
        data_root=data_root,
        device=device,
        max_images=preset.max_images,
        recipe_count=preset.synthetic_count,
        scale=preset.scale,
    )
    record = {
        **_evaluation_record(run, columns, document),
        "train_seconds": trained,
        "seconds": time.perf_counter() - began,
        "checkpoint": str(result.checkpoint),
        "evaluation": document,
    }
    atomic_write_bytes(record_path, (json.dumps(record, indent=1) + "\n").encode())
    return record


def _row_names(rows: Sequence[str] | None, curriculum: bool, chairs: str | None) -> list[str]:
    """The rows to run: ``rows`` (default all nine), then curricula, then the chairs row."""
    names = list(rows) if rows else [r for r, _ in paper.ROWS]
    unknown = [r for r in names if r not in dict(paper.ROWS)]
    if unknown:
        raise ValueError(f"unknown ablation rows {unknown}; rows: {[r for r, _ in paper.ROWS]}")
    if curriculum:
        names += [c for c in CURRICULA if c not in names]
    if chairs is not None:
        names.append(CHAIRS_ROW)
    return names


def run_flow_ablation(
    out: str | os.PathLike[str],
    *,
    preset: str | FlowPreset = "cpu",
    seeds: int = 2,
    rows: Sequence[str] | None = None,
    curriculum: bool = False,
    data_root: str | os.PathLike[str] | None = None,
    real_data: bool = True,
    device: str = "auto",
    parallel: int | None = None,
    chairs: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train and evaluate every row for ``seeds`` seeds; write the results; return them.

    ``preset``: a name of :data:`PRESETS` or a :class:`FlowPreset` of one's own.

    ``chairs``: an official FlyingChairs folder; adds the row trained on it (the paper's
    reference). ``curriculum`` adds the curriculum rows. ``real_data`` (default): before any
    training, the data root (``data_root``, else ``$FLOWSYNTH_DATA_ROOT``) must exist and hold
    at least one of :data:`REAL_DATASETS`, else :class:`FileNotFoundError`; with
    ``real_data=False`` only the held-out synthetic set is evaluated.
    """
    from joblib import Parallel, delayed  # loaded only when an ablation runs

    if isinstance(preset, str) and preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {preset!r}")
    settings = PRESETS[preset] if isinstance(preset, str) else preset
    if parallel is not None:
        settings = replace(settings, parallel=parallel)
    chairs = None if chairs is None else str(Path(chairs).resolve())
    names = _row_names(rows, curriculum, chairs)
    root = real_data_root(data_root) if real_data else None
    columns = _columns(root)
    where = "" if root is None else f" (real datasets from {root})"
    print(f"flow ablation: evaluating columns {', '.join(c for _, c in columns)}{where}")
    folder = Path(out).resolve()
    runs = [
        Run(row, seed, str(folder / "runs" / row / f"seed-{seed}"), chairs)
        for row in names
        for seed in range(seeds)
    ]
    began = time.perf_counter()
    jobs = (
        delayed(run_one)(run, settings, columns, None if root is None else str(root), device)
        for run in runs
    )
    records = list(Parallel(n_jobs=min(settings.parallel, len(runs)), backend="loky")(jobs))
    return write_flow_results(
        folder, records, names, columns, settings, seeds, time.perf_counter() - began
    )


def _reference(rows: Sequence[str]) -> dict[str, dict[str, float]]:
    """The paper's EPE of the rows we ran (FlyingChairs included when its row ran)."""
    reference = {r: paper.PAPER_EPE[r] for r in rows if r in paper.PAPER_EPE}
    if CHAIRS_ROW in rows:
        reference[CHAIRS_ROW] = paper.PAPER_FLYINGCHAIRS
    return reference


def _notes(preset: FlowPreset, seeds: int, seconds: float) -> list[str]:
    return [
        f"Preset `{preset.name}`: {preset.model} x{preset.width}, {preset.steps} steps of batch "
        f"{preset.batch} at {preset.crop[0]}x{preset.crop[1]} crops of frames rendered at "
        f"recipe scale {preset.scale:g}; every dataset evaluated at scale {preset.scale:g} "
        "(images area-downsampled, flow scaled with them: EPE in pixels of the smaller images); "
        f"{seeds} seed(s); mean ± std over seeds. EPE pooled per pixel over each dataset. "
        f"`synthetic` = {preset.synthetic_count} held-out samples of recipes/default.yaml. "
        "The paper's numbers are FlowNetS after full schedules (~600k "
        "steps), so compare rankings, not values.",
        f"Wall time: {seconds / 60:.1f} min.",
    ]


def _write_report(
    folder: Path, results: dict[str, Any], statistics: Statistics, preset: FlowPreset
) -> None:
    """results.md and results.png from the results document."""
    names, table, zero = list(results["columns"].values()), results["summary"], results["zero_flow"]
    text = markdown(
        "Simple-objects ablation (EPE, lower is better)",
        table,
        names,
        labels=dict(paper.ROWS),
        baseline=zero,
        reference=_reference(results["rows"]),
        correlations=results["spearman"],
        statistics=statistics,
        notes=_notes(preset, results["seeds"], results["seconds"]),
    )
    atomic_write_bytes(folder / "results.md", text.encode())
    plot(
        folder / "results.png",
        table,
        names,
        labels=dict(paper.ROWS),
        baseline=zero,
        statistics=statistics,
        title="flowsynth ablation: EPE per training recipe",
    )


def write_flow_results(
    folder: Path,
    records: list[dict[str, Any]],
    rows: list[str],
    columns: list[tuple[str, str]],
    preset: FlowPreset,
    seeds: int,
    seconds: float,
) -> dict[str, Any]:
    """results.json, results.md and results.png of a flow ablation."""
    names = [column for _, column in columns]
    table = summarise(records, rows, names)
    zero = {c: records[0]["zero_flow"].get(c) for c in names} if records else {}
    reference = _reference(rows)
    bootstrap = sample_bootstrap_intervals(records, rows, names, np.random.default_rng(0))
    statistics = analyse(
        records, rows, names, zero, reference, bootstrap=bootstrap, labels=dict(paper.ROWS)
    )
    results = {
        "flowsynth": __version__,
        "preset": asdict(preset),
        "seeds": seeds,
        "rows": rows,
        "columns": dict(columns),
        "recipe_hashes": {
            r: recipe_hash(load_recipe(f"ablation/{r}")) for r in rows if r in paper.PAPER_EPE
        },
        "seconds": seconds,
        "summary": table,
        "zero_flow": zero,
        "spearman": spearman({r: table[r] for r in reference}, reference, names),
        "statistics": statistics.to_json(),
        "paper": {"epe": paper.PAPER_EPE, "flyingchairs": paper.PAPER_FLYINGCHAIRS},
        "runs": [{k: v for k, v in r.items() if k != "evaluation"} for r in records],
    }
    atomic_write_bytes(folder / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    _write_report(folder, results, statistics, preset)
    return results
