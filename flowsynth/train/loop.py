"""The training loop: one optimiser step per batch, logs, atomic checkpoints, exact resume.

Resuming (``resume=True``) loads ``OUT/checkpoint.pt`` (model, optimiser, scheduler, step,
RNG states) and continues with the batches of the following steps, which depend only on
``(data_seed, step)``: on the CPU a resumed run reproduces the uninterrupted one bit for bit.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from flowsynth.base.notes import note_once
from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.train.build import (
    check_crop,
    cpu_threads,
    make_training_loader,
    resolve_device,
    run_folder,
    training_data,
)
from flowsynth.train.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    evaluation_weights,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from flowsynth.train.config import TrainConfig, config_differences
from flowsynth.train.logs import RunLog, write_curves
from flowsynth.train.losses import multiscale_epe, segmentation_loss, stereo_loss
from flowsynth.train.models import build_model
from flowsynth.train.schedule import make_optimizer, make_scheduler

FLOW_COLUMNS = ("loss", "epe", "lr", "samples_per_s", "data_wait_s", "step_s", "grad_norm")
SEGMENTATION_COLUMNS = (
    "loss",
    "pixel_error",
    "dice",
    "lr",
    "samples_per_s",
    "data_wait_s",
    "step_s",
    "grad_norm",
)
STEREO_COLUMNS = ("loss", "epe", "d1", "lr", "samples_per_s", "data_wait_s", "step_s", "grad_norm")


@dataclass(frozen=True)
class HeldOut:
    """A measurement of the model on held-out data during training, for learning curves.

    ``measure(model)`` runs every ``every`` steps and after the last one, on the weights that
    evaluation would see (the weight average where the run keeps one, ``TrainConfig.ema``) in
    eval mode (their mode is restored after); its values go to ``log.csv`` as ``heldout_<name>``
    columns, one per name in ``columns`` (empty where it did not run). It must not update the
    model or draw from torch's random generators, so a run measured this way trains exactly as
    one that is not.
    """

    every: int
    columns: tuple[str, ...]
    measure: Callable[[nn.Module], Mapping[str, float | None]]

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"held-out measurements need every >= 1, got {self.every}")

    def log_columns(self) -> tuple[str, ...]:
        return tuple(f"heldout_{name}" for name in self.columns)

    def run(self, model: nn.Module) -> dict[str, float | None]:
        """``{heldout_<name>: value}`` of one measurement."""
        training = model.training
        model.eval()
        try:
            with torch.no_grad():
                values = self.measure(model)
        finally:
            model.train(training)
        return {f"heldout_{name}": _number(values.get(name)) for name in self.columns}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class TrainResult:
    """What a call to :func:`train` did.

    Attributes
    ----------
    out : the run folder; ``checkpoint`` its checkpoint.
    start_step, step : steps done before and after this call.
    history : one record per step of this call (``step``, ``loss``, metrics, ``lr``,
        ``data_wait_s``, ``step_s``); empty unless asked for.
    last : the record of the last step.
    held_out : ``{"step", "heldout_<name>": value}`` of each held-out measurement of this call.
    """

    out: Path
    checkpoint: Path
    start_step: int
    step: int
    history: list[dict[str, float]] = field(default_factory=list)
    last: dict[str, float] = field(default_factory=dict)
    held_out: list[dict[str, float | None]] = field(default_factory=list)


def flow_step(
    model: nn.Module, batch: Any, device: torch.device, config: TrainConfig, amp: bool
) -> tuple[torch.Tensor, dict[str, float]]:
    """Forward pass and multi-scale EPE of one ``FlowExample`` batch."""
    image1 = batch.image1.to(device, non_blocking=True)
    image2 = batch.image2.to(device, non_blocking=True)
    flow = batch.flow.to(device, non_blocking=True)
    valid = batch.valid.to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        predictions = model(image1, image2)
    return multiscale_epe(
        [p.float() for p in predictions], flow, valid, reduction=config.loss_reduction
    )


def segmentation_step(
    model: nn.Module, batch: Any, device: torch.device, config: TrainConfig, amp: bool
) -> tuple[torch.Tensor, dict[str, float]]:
    """Forward pass and weighted cross-entropy (+ Dice) of one segmentation batch."""
    image = batch.image.to(device, non_blocking=True)
    label = batch.label.to(device, non_blocking=True)
    weight = batch.weight.to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        logits = model(image)
    return segmentation_loss(logits.float(), label, weight, dice=config.dice)


def stereo_step(
    model: nn.Module, batch: Any, device: torch.device, config: TrainConfig, amp: bool
) -> tuple[torch.Tensor, dict[str, float]]:
    """Forward pass and loss (smooth L1 + candidate cross-entropy,
    :func:`~flowsynth.train.losses.stereo_loss`) of one ``StereoExample`` batch."""
    left = batch.left.to(device, non_blocking=True)
    right = batch.right.to(device, non_blocking=True)
    disparity = batch.disparity.to(device, non_blocking=True)
    valid = batch.valid.to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        predictions = model(left, right)
    return stereo_loss(
        [p.float() for p in predictions], disparity, valid, max_disparity=config.max_disparity
    )


#: The log columns of each task.
COLUMNS = {"flow": FLOW_COLUMNS, "segmentation": SEGMENTATION_COLUMNS, "stereo": STEREO_COLUMNS}


def step_function(task: str) -> Callable[..., tuple[torch.Tensor, dict[str, float]]]:
    """The forward-and-loss function of ``task`` (looked up when called, so a test may wrap the
    module's ``flow_step``)."""
    if task == "stereo":
        return stereo_step
    return flow_step if task == "flow" else segmentation_step


def tensorboard_available() -> bool:
    """True if TensorBoard imports; says once per process when it does not."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        note_once("tensorboard", "TensorBoard logging off (pip install tensorboard)")
        return False
    return True


def _resume_state(
    path: Path, config: TrainConfig, resume: bool, *, fresh: bool = False
) -> dict[str, Any] | None:
    """The checkpoint to resume from, or None for a new run; ``fresh``: the run folder was
    new or empty (nothing to resume is then no news)."""
    if not resume:
        if path.exists():
            raise ValueError(
                f"{path.parent} already holds a run ({CHECKPOINT_NAME}); pass --resume to "
                "continue it or choose another --out"
            )
        return None
    if not path.exists():
        if not fresh:
            note_once("resume:no-checkpoint", f"no {path} to resume; starting a new run")
        return None
    checkpoint = load_checkpoint(path)
    differences = config_differences(checkpoint["config"], config.to_dict())
    if differences:
        raise CheckpointError(
            f"cannot resume {path}: the run was started with other settings: "
            + "; ".join(differences)
        )
    return checkpoint


def _write_config(out: Path, config: TrainConfig, spec: dict[str, Any], info: dict[str, Any]):
    document = {"config": config.to_dict(), "model_spec": spec, "info": info}
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(out / "config.json", text.encode())


def _window_record(window: list[dict[str, float]], batch: int) -> dict[str, float]:
    """Means over the logging window; samples/s from the window's total time."""
    keys = [k for k in window[-1] if k not in ("step", "lr")]
    record = {k: sum(r[k] for r in window) / len(window) for k in keys}
    total = sum(r["data_wait_s"] + r["step_s"] for r in window)
    record["samples_per_s"] = batch * len(window) / max(total, 1e-9)
    record["lr"] = window[-1]["lr"]
    return record


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
    stop_at: int | None = None,
    keep_history: bool = True,
    held_out: HeldOut | None = None,
) -> TrainResult:
    """Train as ``config`` says, writing ``config.out``; see the module docstring.

    Parameters
    ----------
    resume : continue from ``OUT/checkpoint.pt`` (a new run if there is none). Without it,
        an existing checkpoint in ``OUT`` is an error.
    progress : show a tqdm bar.
    stop_at : stop after this step without a final checkpoint, as a killed run would (tests).
    keep_history : keep every step's record in ``TrainResult.history`` (off for long runs).
    held_out : measure the model on held-out data every few steps (learning curves).

    Raises
    ------
    CheckpointError
        The checkpoint is hostile or corrupt, or was written with other settings.
    RuntimeError
        The loss became NaN or infinite.
    """
    fresh = not Path(config.out).is_dir() or not any(Path(config.out).iterdir())
    out = run_folder(config.out)
    path = out / CHECKPOINT_NAME
    checkpoint = _resume_state(path, config, resume, fresh=fresh)
    device = resolve_device(config.device)
    _configure_torch(device, config)
    dataset, spec, info = training_data(config)
    run = _build(config, path, device, spec, info)
    start = _restore(run, checkpoint)
    info["device"] = str(device)
    _write_config(out, config, spec, info)
    result = TrainResult(out, path, start, start)
    if start >= config.steps:
        return result
    loader = make_training_loader(dataset, config, start_step=start, device=device)
    forward: nn.Module = (
        torch.compile(run.model, backend=config.compile_backend)  # type: ignore[assignment]
        if config.compile
        else run.model
    )
    columns = COLUMNS[config.task]
    if held_out is not None:
        columns = (*columns, *held_out.log_columns())
    log = RunLog(
        out,
        columns,
        start_step=start,
        steps=config.steps,
        progress=progress,
        tensorboard=tensorboard_available(),
    )
    run.model.train()
    try:
        _run_steps(run, forward, loader, log, result, stop_at, keep_history, held_out)
    finally:
        log.close()
    write_curves(out)
    return result


@dataclass
class _Run:
    """What the steps and checkpoints of one run share: its settings, checkpoint path, device,
    model (with its spec and the data's info) and optimiser with its learning-rate schedule."""

    config: TrainConfig
    path: Path
    device: torch.device
    spec: dict[str, Any]
    info: dict[str, Any]
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LambdaLR
    ema: AveragedModel | None = None

    @property
    def evaluated(self) -> nn.Module:
        """The weights that evaluation sees: the average where the run keeps one."""
        return self.ema.module if self.ema is not None else self.model

    def save(self, step: int) -> None:
        """Write the checkpoint after ``step``: everything an exact resume needs."""
        state = {
            "step": step,
            "model": self.model.state_dict(),
            "model_spec": self.spec,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "config": self.config.to_dict(),
            "info": self.info,
            "rng": rng_state(),
        }
        if self.ema is not None:
            state["ema"] = self.ema.module.state_dict()
            state["ema_count"] = int(self.ema.n_averaged)
        save_checkpoint(self.path, state)


def _configure_torch(device: torch.device, config: TrainConfig) -> None:
    """Let cuDNN and matmuls pick fast kernels on a GPU; cap the CPU threads otherwise."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
    else:
        torch.set_num_threads(cpu_threads(config))


def _build(
    config: TrainConfig,
    path: Path,
    device: torch.device,
    spec: dict[str, Any],
    info: dict[str, Any],
) -> _Run:
    """A fresh model (seeded by ``config.seed``), checked against the crop, and its optimiser and
    schedule."""
    model = build_model(spec, generator=torch.Generator().manual_seed(config.seed), device=device)
    check_crop(config.crop, int(model.stride))  # type: ignore[arg-type]
    optimizer = make_optimizer(model, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = make_scheduler(
        optimizer,
        steps=config.steps,
        warmup=config.warmup,
        schedule=config.schedule,
        min_lr=config.min_lr,
    )
    ema = None
    if config.ema > 0:
        # torch's own weight average; batch-norm statistics are averaged with the weights.
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
    return _Run(config, path, device, spec, info, model, optimizer, scheduler, ema)


def _restore(run: _Run, checkpoint: dict[str, Any] | None) -> int:
    """Load the run's state from ``checkpoint`` (resume), else the initial weights that
    ``config.init`` names, if any; returns the steps already done."""
    config = run.config
    if checkpoint is None and config.init is not None:
        from flowsynth.train.checkpoint import load_checkpoint

        initial = load_checkpoint(config.init)
        if initial.get("model_spec") != run.spec:
            raise CheckpointError(
                f"{config.init} holds a {initial.get('model_spec')} model, not {run.spec}"
            )
        run.model.load_state_dict(evaluation_weights(initial)[0])
    if checkpoint is None:
        return 0
    run.model.load_state_dict(checkpoint["model"])
    if run.ema is not None:
        if "ema" not in checkpoint:
            raise CheckpointError(f"{run.path} holds no weight average to resume (--ema)")
        run.ema.module.load_state_dict(checkpoint["ema"])
        run.ema.n_averaged.fill_(int(checkpoint["ema_count"]))
    run.optimizer.load_state_dict(checkpoint["optimizer"])
    run.scheduler.load_state_dict(checkpoint["scheduler"])
    set_rng_state(checkpoint["rng"])
    return int(checkpoint["step"])


def _run_steps(
    run: _Run,
    forward: nn.Module,
    loader: Any,
    log: RunLog,
    result: TrainResult,
    stop_at: int | None,
    keep_history: bool,
    held_out: HeldOut | None = None,
) -> None:
    """The steps after ``result.step`` up to ``config.steps`` (or ``stop_at``), one batch each,
    recording them in ``result``, logging each window (and each held-out measurement, which
    closes a window early) and checkpointing as ``config`` says."""
    config = run.config
    window: list[dict[str, float]] = []
    batches = iter(loader)
    for step in range(result.step + 1, config.steps + 1):
        began = time.perf_counter()
        batch = next(batches)
        fetched = time.perf_counter()
        record = _optimise(run, forward, batch, step)
        record["data_wait_s"] = fetched - began
        record["step_s"] = time.perf_counter() - fetched
        if keep_history:
            result.history.append(record)
        result.step, result.last = step, record
        window.append(record)
        measured: dict[str, float | None] = {}
        if held_out is not None and (step % held_out.every == 0 or step == config.steps):
            measured = held_out.run(run.evaluated)
            result.held_out.append({"step": float(step), **measured})
        if measured or step % config.log_every == 0 or step == config.steps:
            log.write(step, {**_window_record(window, config.batch), **measured})
            window = []
        log.advance()
        if step % config.checkpoint_every == 0 or step == config.steps:
            run.save(step)
        if stop_at is not None and step >= stop_at:
            break


def _optimise(run: _Run, forward: nn.Module, batch: Any, step: int) -> dict[str, float]:
    """One optimiser step on ``batch`` (gradients clipped to ``config.clip``); returns the step's
    record: ``step``, the loss and metrics, the learning rate it used and the gradient norm.

    Raises ``RuntimeError`` when the loss is not finite, before the weights change.
    """
    config, optimizer = run.config, run.optimizer
    step_fn = step_function(config.task)
    amp = config.amp and (run.device.type == "cuda" or config.cpu_amp)
    lr = float(optimizer.param_groups[0]["lr"])
    optimizer.zero_grad(set_to_none=True)
    loss, metrics = step_fn(forward, batch, run.device, config, amp)
    if not math.isfinite(metrics["loss"]):
        raise RuntimeError(f"the loss became {metrics['loss']} at step {step}; try a lower --lr")
    loss.backward()
    norm = nn.utils.clip_grad_norm_(run.model.parameters(), config.clip or math.inf)
    optimizer.step()
    run.scheduler.step()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    return {"step": float(step), **metrics, "lr": lr, "grad_norm": float(norm)}
