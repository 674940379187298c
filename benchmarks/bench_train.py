"""Training speed per model, and how much of a step waits for procedural data.

Run ``python benchmarks/bench_train.py`` (``--quick``: fewer steps and models). Printed as
Markdown; no assertions. The machine is shared: trust ratios within one run, not absolute times.

1. Model steps on synthetic tensors (no data loading): forward, multi-scale loss, backward,
   AdamW step; batch 4 at 192x256 (U-Net: 1 channel, 256x256, batch 4). Seconds per step
   (median after one warm-up step) and samples/s, on the CPU with 1 and with all torch threads,
   and on CUDA when present (the device is named; bf16 autocast as the trainer uses it).
2. The trainer on procedural data (``recipe:ablation/deformations`` rendered on the fly,
   384x512 cropped to 192x256, batch 4, ``pwc`` at width 0.5) with 0 and 1 loader workers:
   samples/s and the share of each step spent waiting for the next batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from flowsynth.train.config import TrainConfig
from flowsynth.train.loop import train
from flowsynth.train.losses import multiscale_epe, segmentation_loss
from flowsynth.train.models import build_model, model_spec, parameter_count
from flowsynth.train.schedule import make_optimizer

MODELS = [
    ("flownets", {"width": 1.0}),
    ("flownets", {"width": 0.375}),
    ("pwc", {"width": 1.0}),
    ("pwc", {"width": 0.5}),
    ("unet", {"width": 0.25, "in_channels": 1}),
]
QUICK_MODELS = [MODELS[1], MODELS[3], MODELS[4]]


def time_model(
    name: str, options: dict, device: torch.device, steps: int, batch: int = 4
) -> tuple[float, int]:
    """Median seconds per optimiser step on synthetic tensors, and the parameter count."""
    generator = torch.Generator().manual_seed(0)
    model = build_model(model_spec(name, **options), generator=generator, device=device)
    optimizer = make_optimizer(model, lr=1e-4, weight_decay=1e-4)
    amp = device.type == "cuda"
    if name == "unet":
        image = torch.rand(batch, 1, 256, 256, generator=generator).to(device)
        label = torch.randint(0, 2, (batch, 256, 256), generator=generator).to(device)
        weight = torch.ones(batch, 256, 256, device=device)
    else:
        image1 = torch.rand(batch, 3, 192, 256, generator=generator).to(device)
        image2 = torch.rand(batch, 3, 192, 256, generator=generator).to(device)
        flow = (10 * torch.randn(batch, 2, 192, 256, generator=generator)).to(device)
        valid = torch.ones(batch, 192, 256, dtype=torch.bool, device=device)
    times = []
    for _ in range(steps + 1):
        began = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            if name == "unet":
                loss, _ = segmentation_loss(model(image).float(), label, weight)
            else:
                predictions = [p.float() for p in model(image1, image2)]
                loss, _ = multiscale_epe(predictions, flow, valid, reduction="sum")
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - began)
    return statistics.median(times[1:]), parameter_count(model)


def model_table(models: list[tuple[str, dict]], steps: int) -> None:
    rows = []
    cores = torch.get_num_threads()
    targets = [("cpu", 1), ("cpu", cores)] if cores > 1 else [("cpu", 1)]
    if torch.cuda.is_available():
        targets.append(("cuda", 0))
    for name, options in models:
        for device_name, threads in targets:
            if device_name == "cpu":
                torch.set_num_threads(threads)
                where = f"CPU, {threads} thread{'s' if threads > 1 else ''}"
            else:
                where = f"CUDA {torch.cuda.get_device_name(0)} (bf16)"
            seconds, params = time_model(name, options, torch.device(device_name), steps)
            label = f"{name} width {options['width']:g}"
            rows.append(
                f"| {label} | {params / 1e6:.2f} M | {where} | {seconds:.3f} | {4 / seconds:.1f} |"
            )
        torch.set_num_threads(cores)
    print("| model | params | device | s/step | samples/s |\n|---|---:|---|---:|---:|")
    print("\n".join(rows))


def data_table(steps: int) -> None:
    rows = []
    for workers in (0, 1):
        with tempfile.TemporaryDirectory() as folder:
            config = TrainConfig(
                data="recipe:ablation/deformations",
                out=str(Path(folder) / "run"),
                model="pwc",
                width=0.5,
                steps=steps,
                batch=4,
                crop=(192, 256),
                workers=workers,
                device="cpu",
                warmup=5,
                checkpoint_every=10**6,
                log_every=10**6,
            )
            history = train(config, progress=False).history[2:]  # skip worker start-up
        wait = sum(r["data_wait_s"] for r in history)
        compute = sum(r["step_s"] for r in history)
        rows.append(
            f"| {workers} | {torch.get_num_threads()} | {compute / len(history):.3f} | "
            f"{wait / len(history):.3f} | {100 * wait / (wait + compute):.0f} % | "
            f"{4 * len(history) / (wait + compute):.1f} |"
        )
    print(
        "| workers | torch threads | compute s/step | data wait s/step | wait share | "
        "samples/s |\n|---:|---:|---:|---:|---:|---:|"
    )
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 models, fewer steps")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model")
    parser.add_argument("--data-steps", type=int, default=None, help="trainer steps per setting")
    args = parser.parse_args()
    steps = args.steps or (3 if args.quick else 6)
    data_steps = args.data_steps or (12 if args.quick else 40)
    cores = torch.get_num_threads()
    print(f"torch {torch.__version__}, {cores} CPU threads, python {sys.version.split()[0]}\n")
    model_table(QUICK_MODELS if args.quick else MODELS, steps)
    print()
    data_table(data_steps)


if __name__ == "__main__":
    main()
