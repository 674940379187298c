"""One check of the trainer on a GPU machine (<= 8 minutes), written to one JSON file.

Run ``python benchmarks/device_check.py --out device_check.json`` on a CUDA machine
(``FLOWSYNTH_DATA_ROOT`` set to evaluate on the real datasets found there). It prints and records:

1. the device (name, memory, torch and CUDA versions);
2. the ``gpu`` flow preset (``pwc`` x1, batch 8, 320x448 crops of ``ablation/deformations``
   rendered on the fly), with ``compile`` and bf16, for each number K of loader workers in
   ``--workers``: seconds per step, samples/s, the share of each step spent waiting for data
   (the aim: <= 5 %) and peak memory; ``recommended_workers`` is the smallest K that meets the
   aim (else the one that waits least);
3. ``--steps`` (300) steps of the ``gpu`` flow and segmentation presets with ``torch.compile``
   and bf16 autocast: first/last loss, samples/s, peak memory (segmentation trains on
   ``isbi2012_em`` under the data root, else on generated image/label pairs);
4. an evaluation of both runs: flow on ``recipe:default`` and every real flow dataset found
   under the data root (absent ones are listed as skipped), segmentation on its training data.

Without CUDA (or with ``--smoke``) it runs the same steps at smoke size (tiny models, crops and
step counts, ``torch.compile`` with the ``eager`` backend: dynamo's graph capture without
inductor's minutes of kernel generation; bf16 autocast on the CPU) so CI can run it in seconds.
It exits non-zero when any part fails; the JSON's ``failures`` lists them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from flowsynth.data.names import BENCHMARKS, dataset_folder
from flowsynth.evaluate.run import evaluate
from flowsynth.io.images import write_png
from flowsynth.train.config import make_config
from flowsynth.train.loop import train

WAIT_AIM = 0.05
SMOKE = {
    "flow": {
        "model": "pwc",
        "width": 0.25,
        "batch": 2,
        "crop": (64, 64),
        "overrides": ("size=[64,96]", "objects.count=[2,3]"),
        "epoch_length": 8,
    },
    "segmentation": {"model": "unet", "width": 0.125, "batch": 2, "crop": (32, 32)},
}


def device_record(device: torch.device) -> dict[str, Any]:
    record: dict[str, Any] = {
        "device": str(device),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        record.update(
            name=torch.cuda.get_device_name(device),
            memory_bytes=int(properties.total_memory),
            cuda=torch.version.cuda,
            bf16_supported=bool(torch.cuda.is_bf16_supported()),
        )
    else:
        record.update(name=f"CPU ({platform.processor() or platform.machine()})")
    return record


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict[str, Any]:
    """Peak GPU memory allocated by torch since :func:`reset_peak`; on the CPU the process's
    peak resident set (since it started)."""
    if device.type == "cuda":
        return {
            "peak_memory_bytes": int(torch.cuda.max_memory_allocated(device)),
            "peak_memory_kind": "cuda max_memory_allocated",
        }
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024
    return {"peak_memory_bytes": int(rss * scale), "peak_memory_kind": "process peak RSS"}


def timing(history: list[dict[str, float]], batch: int, skip: int) -> dict[str, float]:
    """Means over the steps after the first ``skip`` (compilation, worker start-up)."""
    steps = history[skip:] or history
    wait = sum(r["data_wait_s"] for r in steps)
    compute = sum(r["step_s"] for r in steps)
    return {
        "timed_steps": len(steps),
        "step_s": (wait + compute) / len(steps),
        "compute_s": compute / len(steps),
        "data_wait_s": wait / len(steps),
        "data_wait_share": wait / max(wait + compute, 1e-12),
        "samples_per_s": batch * len(steps) / max(wait + compute, 1e-12),
    }


def config_for(task: str, out: Path, args: argparse.Namespace, **changes: Any):  # -> TrainConfig
    given: dict[str, Any] = {
        "task": task,
        "out": str(out),
        "device": args.device,
        "compile": not args.no_compile,
        "compile_backend": args.compile_backend,
        "amp": True,
        "cpu_amp": True,
        "log_every": 10**9,
        "checkpoint_every": 10**9,
        "data_root": args.data_root,
    }
    if args.smoke:
        given.update(SMOKE[task], warmup=1, threads=1)
    given.update(changes)
    return make_config("gpu", **given)


def throughput(args: argparse.Namespace, device: torch.device, work: Path) -> dict[str, Any]:
    rows = []
    for workers in args.workers:
        config = config_for(
            "flow",
            work / f"throughput-{workers}",
            args,
            data="recipe:ablation/deformations" if not args.smoke else "recipe:ablation/boxes",
            steps=args.throughput_steps,
            workers=workers,
        )
        reset_peak(device)
        began = time.perf_counter()
        result = train(config, progress=False)
        row = {
            "workers": workers,
            "wall_s": time.perf_counter() - began,
            **timing(result.history, config.batch, args.skip),
            **peak_memory(device),
        }
        print(
            f"  workers {workers:2d}: {row['step_s']:.4f} s/step, "
            f"{row['samples_per_s']:.1f} samples/s, waiting {100 * row['data_wait_share']:.1f} % "
            f"of a step, peak {row['peak_memory_bytes'] / 2**30:.2f} GiB",
            flush=True,
        )
        rows.append(row)
    meeting = [r for r in rows if r["data_wait_share"] <= WAIT_AIM]
    best = (
        min(meeting, key=lambda r: r["workers"])
        if meeting
        else min(rows, key=lambda r: r["data_wait_share"])
    )
    return {
        "preset": "gpu",
        "model": config.model,
        "width": config.width,
        "batch": config.batch,
        "crop": list(config.crop),
        "data": config.data,
        "compile": config.compile,
        "compile_backend": config.compile_backend,
        "bf16": True,
        "skipped_steps": args.skip,
        "wait_aim": WAIT_AIM,
        "per_workers": rows,
        "recommended_workers": best["workers"],
        "aim_met": bool(meeting),
    }


def segmentation_data(args: argparse.Namespace, work: Path, crop: tuple[int, int]) -> str:
    """``isbi2012_em`` under the data root, else generated cell-like image/label pairs."""
    root = args.data_root or os.environ.get("FLOWSYNTH_DATA_ROOT")
    if not args.smoke and root and (Path(root) / "isbi2012_em/train/image").is_dir():
        return "isbi2012_em"
    size = max(crop) + 32
    generator = np.random.default_rng(0)
    folder = work / "segmentation-data"
    for k in range(4):
        label = np.full((size, size), 255, np.uint8)
        for x in generator.integers(0, size, 3 + size // 32):
            label[:, x] = 0
        for y in generator.integers(0, size, 3 + size // 32):
            label[y, :] = 0
        noise = generator.integers(0, 30, (size, size))
        image = (np.where(label == 0, 40, 200) + noise).clip(0, 255).astype(np.uint8)
        write_png(folder / "train/image" / f"{k}.png", image)
        write_png(folder / "train/label" / f"{k}.png", label)
    return f"isbi2012_em={folder}"


def training_run(
    task: str, args: argparse.Namespace, device: torch.device, work: Path
) -> dict[str, Any]:
    out = work / f"run-{task}"
    if task == "flow":
        data = "recipe:ablation/deformations" if not args.smoke else "recipe:ablation/boxes"
        changes: dict[str, Any] = {"workers": args.run_workers}
    else:
        crop = SMOKE["segmentation"]["crop"] if args.smoke else (512, 512)
        data = segmentation_data(args, work, crop)
        changes = {"workers": min(args.run_workers, 4)}
        if args.smoke:
            changes["seg_augment"] = "none"
    config = config_for(task, out, args, data=data, steps=args.steps, **changes)
    reset_peak(device)
    began = time.perf_counter()
    result = train(config, progress=False)
    losses = [r["loss"] for r in result.history]
    finite = all(math.isfinite(v) for v in losses)
    record = {
        "task": task,
        "model": config.model,
        "width": config.width,
        "batch": config.batch,
        "crop": list(config.crop),
        "data": data,
        "steps": result.step,
        "compile": config.compile,
        "compile_backend": config.compile_backend,
        "bf16": True,
        "workers": config.workers,
        "wall_s": time.perf_counter() - began,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "loss_finite": finite,
        **timing(result.history, config.batch, args.skip),
        **peak_memory(device),
        "checkpoint": str(result.checkpoint),
    }
    print(
        f"  {task}: {result.step} steps in {record['wall_s']:.1f} s, loss {losses[0]:.4g} -> "
        f"{losses[-1]:.4g}, {record['samples_per_s']:.1f} samples/s",
        flush=True,
    )
    if not finite:
        raise RuntimeError(f"{task}: the loss was not finite: {losses}")
    return record


def flow_evaluation(
    checkpoint: str, args: argparse.Namespace, device: torch.device
) -> dict[str, Any]:
    from flowsynth.data.resolve import data_root_path

    try:
        root: Path | None = data_root_path(args.data_root)
    except FileNotFoundError:
        root = None
    specs = ["recipe:default"]
    skipped = []
    for name in BENCHMARKS:
        folder = dataset_folder(name)
        if root is not None and folder is not None and (root / folder).is_dir():
            specs.append(name)
        else:
            skipped.append({"dataset": name, "reason": f"no {folder}/ under the data root {root}"})
    results = {}
    for spec in specs:
        began = time.perf_counter()
        document = evaluate(
            checkpoint,
            [spec],
            data_root=root,
            device=str(device),
            max_images=args.max_images,
            recipe_count=args.max_images,
        )
        summary = document["datasets"][spec]["model"]
        results[spec] = {
            "model": summary,
            "zero_flow": document["datasets"][spec]["zero_flow"],
            "seconds": time.perf_counter() - began,
        }
        print(f"  evaluated {spec}: EPE {summary.get('epe', summary)}", flush=True)
    return {
        "data_root": None if root is None else str(root),
        "datasets": results,
        "skipped": skipped,
    }


def segmentation_evaluation(checkpoint: str, data: str, device: torch.device) -> dict[str, Any]:
    document = evaluate(checkpoint, [data], device=str(device), max_images=4)
    return {"datasets": document["datasets"]}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (automatic without CUDA)")
    parser.add_argument("--device", default=None, help="default: cuda when present, else cpu")
    parser.add_argument("--workers", type=int, nargs="+", default=None, help="loader workers K")
    parser.add_argument("--throughput-steps", type=int, default=None, help="steps per K")
    parser.add_argument("--skip", type=int, default=None, help="untimed first steps per run")
    parser.add_argument("--steps", type=int, default=None, help="steps of each training run")
    parser.add_argument("--run-workers", type=int, default=None, help="workers of those runs")
    parser.add_argument("--max-images", type=int, default=None, help="per evaluated dataset")
    parser.add_argument("--data-root", default=None, help="default $FLOWSYNTH_DATA_ROOT")
    parser.add_argument("--no-compile", action="store_true", help="eager models")
    parser.add_argument("--compile-backend", default=None, help="default inductor; smoke: eager")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    args.device = args.device or ("cuda" if cuda else "cpu")
    args.smoke = args.smoke or not args.device.startswith("cuda")
    small = args.smoke
    defaults = {
        "workers": [0, 1] if small else [4, 8, 12, 16],
        "throughput_steps": 4 if small else 50,
        "skip": 1 if small else 10,
        "steps": 3 if small else 300,
        "run_workers": 0 if small else 12,
        "max_images": 2 if small else 50,
        "compile_backend": "eager" if small else "inductor",
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    device = torch.device(args.device)
    report: dict[str, Any] = {"smoke": args.smoke, "failures": []}
    began = time.perf_counter()

    def part(name: str, run: Any) -> Any:
        print(f"{name}:", flush=True)
        try:
            value = run()
        except Exception as error:  # noqa: BLE001 - every failure is recorded, then exit 1
            traceback.print_exc()
            report["failures"].append(f"{name}: {type(error).__name__}: {error}")
            return None
        report[name] = value
        return value

    with tempfile.TemporaryDirectory() as temporary:
        work = args.keep or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        part("device", lambda: device_record(device))
        print(f"  {report.get('device', {}).get('name')} (smoke: {args.smoke})", flush=True)
        part("throughput", lambda: throughput(args, device, work))
        flow = part("flow_run", lambda: training_run("flow", args, device, work))
        segmentation = part(
            "segmentation_run", lambda: training_run("segmentation", args, device, work)
        )
        if flow:
            part("flow_evaluation", lambda: flow_evaluation(flow["checkpoint"], args, device))
        if segmentation:
            part(
                "segmentation_evaluation",
                lambda: segmentation_evaluation(
                    segmentation["checkpoint"], segmentation["data"], device
                ),
            )
    report["wall_s"] = time.perf_counter() - began
    report["ok"] = not report["failures"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    print(f"wrote {args.out} in {report['wall_s']:.0f} s; failures: {len(report['failures'])}")
    for failure in report["failures"]:
        print(f"FAILED {failure}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
