"""AdamW and the learning-rate schedule: linear warm-up, then cosine, step or constant decay."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

#: FlowNet's S_short schedule halves the rate at these shares of the run.
STEP_MILESTONES = (0.5, 0.75, 0.875)


def learning_rate_factor(
    step: int, *, steps: int, warmup: int, schedule: str, min_lr: float = 0.0
) -> float:
    """The multiplier of the base learning rate for optimiser step ``step`` (0-based).

    Warm-up: ``(step + 1) / warmup`` for ``step < warmup`` (never 0, so no step is wasted).
    Then ``cosine`` from 1 down to ``min_lr`` at the last step, ``step``: halved at each of
    :data:`STEP_MILESTONES`, or ``constant`` 1.
    """
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(steps - warmup - 1, 1)
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        return min_lr + (1 - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "step":
        return 0.5 ** sum(step >= share * steps for share in STEP_MILESTONES)
    raise ValueError(f"unknown schedule {schedule!r}")


def make_optimizer(model: nn.Module, *, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with weight decay on weights only (not on biases or normalisation parameters)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))


def make_scheduler(
    optimizer: torch.optim.Optimizer, *, steps: int, warmup: int, schedule: str, min_lr: float
) -> LambdaLR:
    """A ``LambdaLR`` following :func:`learning_rate_factor`.

    The factor is a closure, so ``state_dict()`` holds only numbers (``weights_only`` loads it).
    """

    def factor(step: int) -> float:
        return learning_rate_factor(
            step, steps=steps, warmup=warmup, schedule=schedule, min_lr=min_lr
        )

    return LambdaLR(optimizer, factor)
