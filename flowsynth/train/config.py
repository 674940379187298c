"""The resolved configuration of a training run, and the CPU / GPU presets that fill it.

A :class:`TrainConfig` is frozen and converts to a plain dict (lists, str, numbers, None), so it
is stored in every checkpoint (readable with ``torch.load(weights_only=True)``) and written as
``config.json`` beside it. Three seeds are kept apart:

- ``seed``: model initialisation (an explicit ``torch.Generator``);
- ``data_seed``: the order of the training items, a function of ``(data_seed, step)``;
- ``recipe_seed``: the dataset's own seed (which samples a recipe renders, and the
  augmentation draws), the same as ``flowsynth generate --seed``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

TASKS = ("flow", "segmentation", "stereo")
SCHEDULES = ("cosine", "step", "constant")
PRESET_NAMES = ("cpu", "gpu")

#: Fields that may differ between a run and its resumption (they change where and how fast a
#: run goes, not what it computes).
SEG_AUGMENTS = ("none", "affine", "elastic")
SEG_WEIGHTS = ("unet", "none")
RESUMABLE_CHANGES = frozenset(
    {
        "device",
        "workers",
        "threads",
        "out",
        "data_root",
        "compile",
        "compile_backend",
        "log_every",
        "checkpoint_every",
    }
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (see the module docstring for the seeds).

    Attributes
    ----------
    data : dataset spec: ``recipe:NAME``, a bare recipe name, ``NAME``, ``NAME=PATH``
        (flow; :func:`flowsynth.data.resolve_dataset`), a segmentation spec
        (:func:`flowsynth.data.segmentation.parse_segmentation_spec`), or a stereo spec
        (a stereo recipe, ``middlebury_stereo``, ``kitti_stereo=PATH``,
        ``flowsynth_stereo=PATH``; :func:`flowsynth.data.stereo_stream.resolve_stereo_data`).
    out : run folder (``checkpoint.pt``, ``config.json``, ``log.csv``, ``tensorboard/``).
    crop : (height, width) of the training crops; multiples of the model's stride.
    schedule : learning-rate decay after a linear warm-up: cosine to ``min_lr`` x ``lr``,
        ``step`` (halved at 1/2, 3/4, 7/8 of the steps, FlowNet's), or constant.
    loss_reduction : multi-scale EPE per level: ``sum`` over pixels (PWC-Net; the default: it
        weights fine levels by their pixel count and learns small motions much faster) or
        ``mean`` (FlowNet).
    overrides : recipe overrides (``size=[192,256]``) for recipe data.
    epoch_length : items per epoch of recipe data (each epoch renders new samples).
    amp : bf16 autocast on CUDA (ignored on the CPU unless ``cpu_amp``).
    cpu_amp : bf16 autocast on the CPU as well (off by default: it drives the GPU's mixed
        precision path in CPU tests and is slower than fp32 on most CPUs).
    compile : ``torch.compile`` the model (on any device).
    compile_backend : the ``torch.compile`` backend: ``inductor`` (the default, generated
        kernels) or a lighter one such as ``aot_eager`` (traced graphs run by eager kernels:
        compiles in seconds on a CPU, for smoke runs and tests).
    threads : torch threads of the training process on the CPU; 0: the available cores minus
        the data workers, at least 1 (two busy processes on two cores wait on each other).
        Bit-exact resumption on the CPU needs the same thread count.
    dice : weight of the soft Dice term of the segmentation loss.
    elastic_sigma : standard deviation in pixels of the U-Net elastic grid (segmentation).
    seg_augment : segmentation augmentation: ``none`` (random crops only), ``affine``
        (crops, mirroring and rotation) or ``elastic`` (the U-Net's: elastic grid and mirroring).
    seg_weights : per-pixel weights of the segmentation cross-entropy: ``unet`` (the U-Net's
        border weight map, which stresses the thin gaps between touching objects) or ``none``
        (plain cross-entropy: weight 1 on every known pixel).
    ema : decay of an exponential moving average of the weights (and batch-norm statistics),
        updated after every step and evaluated instead of the last weights (0: off; e.g. 0.99
        averages over ~100 steps). It smooths the noise of the last steps of a short run.
    max_disparity : stereo: the largest disparity the model considers, full-resolution pixels
        (a multiple of 8); ground truth at or beyond it is left out of the loss.
    init : checkpoint whose model weights start a new run (curricula: simple data, then
        complex); optimizer and schedule start afresh. Ignored when resuming.
    """

    data: str
    out: str
    task: str = "flow"
    model: str = "pwc"
    width: float = 1.0
    steps: int = 1000
    batch: int = 4
    crop: tuple[int, int] = (192, 256)
    lr: float = 3e-4
    min_lr: float = 0.02
    weight_decay: float = 1e-4
    warmup: int = 50
    schedule: str = "cosine"
    clip: float = 1.0
    loss_reduction: str = "sum"
    device: str = "auto"
    seed: int = 0
    data_seed: int = 0
    recipe_seed: int = 0
    overrides: tuple[str, ...] = ()
    epoch_length: int = 10_000
    augment: bool = True
    workers: int = 0
    threads: int = 0
    compile: bool = False
    compile_backend: str = "inductor"
    amp: bool = True
    cpu_amp: bool = False
    log_every: int = 10
    checkpoint_every: int = 100
    data_root: str | None = None
    dice: float = 0.0
    elastic_sigma: float = 10.0
    seg_augment: str = "elastic"
    seg_weights: str = "unet"
    ema: float = 0.0
    init: str | None = None
    max_disparity: int = 192

    def __post_init__(self) -> None:
        _check(self.task in TASKS, f"task must be one of {TASKS}, got {self.task!r}")
        _check(self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}")
        _check(
            self.seg_augment in SEG_AUGMENTS,
            f"seg_augment must be one of {SEG_AUGMENTS}, got {self.seg_augment!r}",
        )
        _check(
            self.seg_weights in SEG_WEIGHTS,
            f"seg_weights must be one of {SEG_WEIGHTS}, got {self.seg_weights!r}",
        )
        _check(self.loss_reduction in ("mean", "sum"), "loss_reduction must be mean or sum")
        _check(bool(self.compile_backend), "compile_backend must name a torch.compile backend")
        _check(
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
            f"device must be auto, cpu or cuda[:N], got {self.device!r}",
        )
        for name in ("steps", "batch", "epoch_length", "log_every", "checkpoint_every"):
            _check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup", "workers", "threads", "seed", "data_seed", "recipe_seed"):
            _check(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        _check(len(self.crop) == 2 and min(self.crop) >= 1, f"crop must be (H, W), got {self.crop}")
        _check(self.lr > 0 and self.width > 0, "lr and width must be > 0")
        _check(0 <= self.min_lr <= 1, f"min_lr is a share of lr in [0, 1], got {self.min_lr}")
        _check(self.clip >= 0 and self.weight_decay >= 0, "clip and weight_decay must be >= 0")
        _check(0 <= self.ema < 1, f"ema is a decay in [0, 1), got {self.ema}")
        _check(
            self.max_disparity >= 8 and self.max_disparity % 8 == 0,
            f"max_disparity must be a positive multiple of 8, got {self.max_disparity}",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain form: tuples become lists (JSON and ``weights_only`` friendly)."""
        plain = dataclasses.asdict(self)
        plain["crop"] = list(self.crop)
        plain["overrides"] = list(self.overrides)
        return plain

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown training config keys {unknown}")
        fixed = dict(values)
        if "crop" in fixed:
            fixed["crop"] = tuple(int(v) for v in fixed["crop"])
        if "overrides" in fixed:
            fixed["overrides"] = tuple(str(v) for v in fixed["overrides"])
        return cls(**fixed)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


#: (preset, task) -> defaults. CPU: minutes on 2 cores (flow: ~7 min, 6000 samples of
#: ablation/deformations took Middlebury EPE from 4.46 (zero flow) to 3.23); GPU: one modern
#: GPU, about a day.
PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("cpu", "flow"): {
        "model": "pwc",
        "width": 0.5,
        "batch": 4,
        "crop": (192, 256),
        "steps": 1500,
        "lr": 8e-4,
        "warmup": 50,
        "workers": 1,
        "checkpoint_every": 100,
        "log_every": 10,
    },
    ("gpu", "flow"): {
        "model": "pwc",
        "width": 1.0,
        "batch": 8,
        "crop": (320, 448),
        "steps": 300_000,
        "lr": 2e-4,
        "warmup": 2000,
        "workers": 8,
        "checkpoint_every": 5000,
        "log_every": 100,
    },
    ("cpu", "segmentation"): {
        "model": "unet",
        "width": 0.25,
        "batch": 2,
        "crop": (192, 192),
        "steps": 300,
        "lr": 1e-3,
        "warmup": 20,
        "workers": 1,
        "checkpoint_every": 100,
        "log_every": 10,
        "dice": 0.5,
    },
    ("gpu", "segmentation"): {
        "model": "unet",
        "width": 1.0,
        "batch": 8,
        "crop": (512, 512),
        "steps": 20_000,
        "lr": 3e-4,
        "warmup": 500,
        "workers": 8,
        "checkpoint_every": 2000,
        "log_every": 50,
        "dice": 0.5,
    },
    ("cpu", "stereo"): {
        "model": "cvnet",
        "width": 1.0,
        "batch": 4,
        "crop": (128, 256),
        "steps": 400,
        "lr": 1e-3,
        "warmup": 30,
        "workers": 0,
        "checkpoint_every": 100,
        "log_every": 10,
    },
    ("gpu", "stereo"): {
        "model": "cvnet",
        "width": 2.0,
        "batch": 8,
        "crop": (256, 512),
        "steps": 100_000,
        "lr": 1e-3,
        "warmup": 1000,
        "workers": 8,
        "checkpoint_every": 5000,
        "log_every": 100,
    },
}


def make_config(preset: str, **given: Any) -> TrainConfig:
    """A config from explicit values, the preset's defaults where a value is None, then the
    dataclass defaults. ``preset`` is ``cpu``, ``gpu`` or ``auto`` (``gpu`` when CUDA is the
    device, asked for or found)."""
    task = given.get("task") or "flow"
    if preset == "auto":
        preset = "gpu" if _cuda_wanted(given.get("device")) else "cpu"
    if preset not in PRESET_NAMES:
        raise ValueError(f"preset must be one of {PRESET_NAMES} or auto, got {preset!r}")
    values = {**PRESETS[(preset, task)], **{k: v for k, v in given.items() if v is not None}}
    return TrainConfig.from_dict(values)


def _cuda_wanted(device: str | None) -> bool:
    if device and device != "auto":
        return device.startswith("cuda")
    import torch

    return torch.cuda.is_available()


def config_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every field that differs and may not change on resume.

    A field missing from one side (a checkpoint written before the field existed) counts as its
    default value."""
    defaults = {
        f.name: list(f.default) if isinstance(f.default, tuple) else f.default
        for f in dataclasses.fields(TrainConfig)
        if f.default is not dataclasses.MISSING
    }
    old = {**{k: v for k, v in defaults.items() if k in new}, **old}
    new = {**{k: v for k, v in defaults.items() if k in old}, **new}
    keys = sorted((set(old) | set(new)) - RESUMABLE_CHANGES)
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
