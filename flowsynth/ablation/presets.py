"""The flow ablation's presets: model, training budget and evaluation size, one per machine.

A preset is the same for every row of the ablation, so rows differ only in their data. This
module is plain data (no torch, no joblib), so the command line can list the presets in its
``--help`` without loading the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowPreset:
    """Model, budget and evaluation size of one preset (the same for every row)."""

    name: str
    model: str
    width: float
    steps: int
    batch: int
    crop: tuple[int, int]
    scale: float  # recipes rendered at this recipe scale; every dataset evaluated at it
    lr: float
    warmup: int
    synthetic_count: int
    max_images: int | None  # per real dataset; None = all
    threads: int  # torch threads per run
    parallel: int  # runs at once
    workers: int  # data-loader workers per run
    description: str = ""  # what it trains and how long it takes where (for --help)
    ema: float = 0.0  # decay of the evaluated weight average (0: the last weights)


PRESETS = {
    "smoke": FlowPreset(
        description="seconds: 3 steps per run, checks that everything runs end to end",
        name="smoke",
        model="pwc",
        width=0.25,
        steps=3,
        batch=2,
        crop=(64, 64),
        scale=0.25,
        lr=2e-4,
        warmup=1,
        synthetic_count=2,
        max_images=2,
        threads=1,
        parallel=1,
        workers=0,
    ),
    "cpu": FlowPreset(
        description="pwc x0.5, 1200 steps of batch 4, 128x192 crops, recipes and evaluation at "
        "scale 0.5; ~5 min per run on one core, two runs at once on 2 cores",
        name="cpu",
        model="pwc",
        width=0.5,
        steps=1200,
        batch=4,
        crop=(128, 192),
        scale=0.5,
        lr=8e-4,
        warmup=50,
        synthetic_count=16,
        max_images=None,
        threads=1,
        parallel=2,
        workers=0,
    ),
    "cpu-long": FlowPreset(
        description="the cpu preset trained 3x longer (3600 steps): ~15 min per run on one "
        "core, a few hours for 9 rows x 3 seeds on 2 cores",
        name="cpu-long",
        model="pwc",
        width=0.5,
        steps=3600,
        batch=4,
        crop=(128, 192),
        scale=0.5,
        lr=8e-4,
        warmup=150,
        synthetic_count=16,
        max_images=None,
        threads=1,
        parallel=2,
        workers=0,
    ),
    "gpu": FlowPreset(
        description="pwc at full width, 60k steps of batch 8 at full size: about an hour per "
        "run on one modern GPU (not yet measured)",
        name="gpu",
        model="pwc",
        width=1.0,
        steps=60_000,
        batch=8,
        crop=(320, 448),
        scale=1.0,
        lr=2e-4,
        warmup=1000,
        synthetic_count=64,
        max_images=None,
        threads=8,
        parallel=1,
        workers=8,
    ),
}
