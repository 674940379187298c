"""``flowsynth train``: arguments and handler (torch is imported only when it runs).

Options left out come from the preset (``--preset cpu|gpu``, default: ``gpu`` when CUDA is the
device, else ``cpu``), then from :class:`~flowsynth.train.config.TrainConfig`'s defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowsynth.train.config import PRESETS

_FIELDS = (
    "task",
    "model",
    "width",
    "steps",
    "batch",
    "lr",
    "min_lr",
    "weight_decay",
    "warmup",
    "schedule",
    "clip",
    "loss_reduction",
    "device",
    "seed",
    "data_seed",
    "recipe_seed",
    "epoch_length",
    "workers",
    "log_every",
    "checkpoint_every",
    "dice",
    "elastic_sigma",
    "seg_augment",
    "seg_weights",
    "ema",
    "init",
    "compile_backend",
    "max_disparity",
)


def _preset_summary(values: dict[str, Any]) -> str:
    """One preset's main values, as ``--help`` lists them."""
    crop = values.get("crop")
    size = f" at {crop[0]}x{crop[1]} crops" if crop else ""
    return (
        f"{values.get('model')} x{values.get('width')}, {values.get('steps')} steps of batch "
        f"{values.get('batch')}{size}, lr {values.get('lr')}"
    )


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to ``commands``: its options group by group, in the order
    ``--help`` lists them."""
    p = commands.add_parser(
        "train",
        help="train a flow model (a U-Net, a stereo model) on a recipe or a dataset; --resume "
        "continues",
        description="Train a flow model on procedural or on-disk data, a U-Net on "
        "image/label folders (--task segmentation), or a cost-volume stereo model on a stereo "
        "recipe or stereo pairs (--task stereo). Writes RUN_DIR/checkpoint.pt, "
        "config.json, log.csv (and tensorboard/ when TensorBoard is installed).",
    )
    for add_arguments in (
        _add_run_arguments,
        _add_model_arguments,
        _add_optimisation_arguments,
        _add_device_and_seed_arguments,
        _add_loading_arguments,
        _add_runtime_arguments,
        _add_segmentation_arguments,
        _add_stereo_arguments,
        _add_start_arguments,
    ):
        add_arguments(p)
    return p


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    """What to train on, where the run is written, the task and the preset of defaults."""
    p.add_argument(
        "--data",
        required=True,
        metavar="SPEC",
        help="recipe:NAME or a recipe name/file (rendered on the fly), a dataset "
        "(middlebury, flyingchairs=PATH, ...); segmentation: isbi2012_em[:25], "
        "IMAGES_DIR,LABELS_DIR; stereo: a stereo recipe (stereo/default), middlebury_stereo, "
        "kitti_stereo=PATH, flowsynth_stereo=PATH",
    )
    p.add_argument("--out", required=True, type=Path, help="run folder")
    p.add_argument(
        "--task",
        choices=("flow", "segmentation", "stereo"),
        default=None,
        help="default: the model's task (flow)",
    )
    p.add_argument(
        "--preset",
        choices=("auto", "cpu", "gpu"),
        default="auto",
        help="defaults for model, width, batch, crop, steps, lr, workers (auto: gpu on CUDA, "
        "else cpu); "
        + "; ".join(
            f"{preset} {task}: {_preset_summary(values)}"
            for (preset, task), values in PRESETS.items()
        ),
    )


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Which model, and how wide."""
    p.add_argument("--model", default=None, help="pwc (alias corr), flownets, unet, cvnet (stereo)")
    p.add_argument("--width", type=float, default=None, help="channel width multiplier")


def _add_optimisation_arguments(p: argparse.ArgumentParser) -> None:
    """Steps, batches and crops, the learning-rate schedule, clipping and the loss."""
    p.add_argument("--steps", type=int, default=None, help="optimiser steps in all")
    p.add_argument("--batch", type=int, default=None, help="samples per step")
    p.add_argument(
        "--crop",
        type=int,
        nargs=2,
        default=None,
        metavar=("H", "W"),
        help="training crop, multiples of the model stride (64 flow, 16 U-Net, 8 stereo)",
    )
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr", type=float, default=None, help="final lr as a share of --lr")
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--warmup", type=int, default=None, help="linear warm-up steps")
    p.add_argument("--schedule", choices=("cosine", "step", "constant"), default=None)
    p.add_argument("--clip", type=float, default=None, help="gradient norm clip (0: off)")
    p.add_argument(
        "--ema",
        type=float,
        default=None,
        metavar="DECAY",
        help="keep an exponential moving average of the weights with this decay (e.g. 0.99) "
        "and evaluate it instead of the last weights (default 0: off)",
    )
    p.add_argument(
        "--loss-reduction",
        choices=("mean", "sum"),
        default=None,
        help="multi-scale EPE per level: mean (FlowNet) or sum (PWC-Net)",
    )


def _add_device_and_seed_arguments(p: argparse.ArgumentParser) -> None:
    """The device, and the seeds of the model, the data order and the dataset."""
    p.add_argument("--device", default=None, help="auto, cpu or cuda[:N] (default auto)")
    p.add_argument("--seed", type=int, default=None, help="model initialisation seed")
    p.add_argument("--data-seed", type=int, default=None, help="seed of the data order")
    p.add_argument(
        "--recipe-seed",
        type=int,
        default=None,
        help="the dataset's seed: recipe samples and augmentation draws",
    )


def _add_loading_arguments(p: argparse.ArgumentParser) -> None:
    """How training data is made and loaded: recipe overrides, epoch length, augmentation, loader
    workers and CPU threads."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="recipe override, e.g. size=[192,256]; repeatable",
    )
    p.add_argument("--epoch-length", type=int, default=None, help="recipe items per epoch")
    p.add_argument("--no-augment", action="store_true", help="crops only: no flips or colour")
    p.add_argument("--workers", type=int, default=None, help="data loader worker processes")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads on the CPU (default: cores minus workers)",
    )


def _add_runtime_arguments(p: argparse.ArgumentParser) -> None:
    """How the run executes (compilation, autocast), how often it logs and checkpoints, and where
    on-disk datasets live."""
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument(
        "--compile-backend",
        default=None,
        help="torch.compile backend (default inductor; aot_eager compiles fast on a CPU)",
    )
    p.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    p.add_argument(
        "--cpu-amp", action="store_true", help="bf16 autocast on the CPU too (tests, smoke runs)"
    )
    p.add_argument("--log-every", type=int, default=None)
    p.add_argument("--checkpoint-every", type=int, default=None)
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder of datasets (default $FLOWSYNTH_DATA_ROOT)",
    )


def _add_segmentation_arguments(p: argparse.ArgumentParser) -> None:
    """The segmentation loss and augmentation (U-Net)."""
    p.add_argument("--dice", type=float, default=None, help="segmentation: Dice loss weight")
    p.add_argument(
        "--elastic-sigma",
        type=float,
        default=None,
        help="segmentation: elastic grid sigma in pixels (U-Net: 10)",
    )
    p.add_argument(
        "--seg-augment",
        choices=("none", "affine", "elastic"),
        default=None,
        help="segmentation augmentation (default elastic: the U-Net's)",
    )
    p.add_argument(
        "--seg-weights",
        choices=("unet", "none"),
        default=None,
        help="segmentation loss weights: unet (the U-Net's border weight map, the default) or "
        "none (plain cross-entropy)",
    )
    p.add_argument(
        "--held-out",
        default=None,
        metavar="SPEC",
        help="segmentation: held-out images to measure during training (e.g. isbi2012_em[20:], "
        "retina_drive_test): IoU, Rand error and AUC as heldout_* columns of log.csv",
    )
    p.add_argument(
        "--held-out-every",
        type=int,
        default=None,
        metavar="N",
        help="measure --held-out every N steps and after the last (default: 10 times a run)",
    )


def _add_stereo_arguments(p: argparse.ArgumentParser) -> None:
    """The stereo model's disparity range."""
    p.add_argument(
        "--max-disparity",
        type=int,
        default=None,
        metavar="PX",
        help="stereo: largest disparity the cost volume holds, full-resolution pixels, a "
        "multiple of 8 (default 192: 48 candidates at 1/4 resolution)",
    )


def _add_start_arguments(p: argparse.ArgumentParser) -> None:
    """Where the run starts (initial weights, or resuming its checkpoint) and whether it shows
    progress."""
    p.add_argument(
        "--init",
        default=None,
        metavar="CHECKPOINT",
        help="start from this checkpoint's weights (a curriculum's second stage)",
    )
    p.add_argument("--resume", action="store_true", help="continue RUN_DIR/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace):  # -> TrainConfig
    """The resolved :class:`~flowsynth.train.config.TrainConfig` of parsed arguments."""
    from flowsynth.train.config import make_config
    from flowsynth.train.models import model_task

    given = {name: getattr(args, name) for name in _FIELDS}
    if given["task"] is None and given["model"] is not None:
        given["task"] = model_task(given["model"])
    given.update(
        data=args.data,
        out=str(args.out),
        crop=tuple(args.crop) if args.crop else None,
        overrides=tuple(args.overrides) if args.overrides else None,
        augment=False if args.no_augment else None,
        compile=True if args.compile else None,
        amp=False if args.no_amp else None,
        cpu_amp=True if args.cpu_amp else None,
        data_root=str(args.data_root) if args.data_root else None,
    )
    return make_config(args.preset, **given)


def _held_out(args: argparse.Namespace, config: Any) -> Any:
    """The held-out measurement ``--held-out`` asks for, or None."""
    if args.held_out is None:
        if args.held_out_every is not None:
            raise ValueError("--held-out-every needs --held-out SPEC")
        return None
    if config.task != "segmentation":
        raise ValueError("--held-out measures segmentation runs only (use --task segmentation)")
    every = args.held_out_every or max(config.steps // 10, 1)
    if every < 1:
        raise ValueError(f"--held-out-every must be >= 1, got {every}")
    from flowsynth.evaluate.held_out import segmentation_held_out

    return segmentation_held_out(
        args.held_out,
        train_spec=config.data,
        every=every,
        data_root=config.data_root,
        device=config.device,
    )


def run(args: argparse.Namespace) -> int:
    """Handle ``flowsynth train``."""
    from flowsynth.train.loop import train

    config = config_from_args(args)
    held_out = _held_out(args, config)
    result = train(
        config,
        resume=args.resume,
        progress=not args.no_progress,
        keep_history=False,
        held_out=held_out,
    )
    last = result.last
    shown = ("loss", "epe", "d1", "pixel_error")
    summary = ", ".join(f"{k} {last[k]:.4g}" for k in shown if k in last)
    print(
        f"trained steps {result.start_step}..{result.step} of {config.steps}"
        f"{'; last step: ' + summary if summary else ''}; checkpoint {result.checkpoint}",
        file=sys.stderr,
    )
    return 0
