"""Training: models (``flownets``, ``pwc``, ``unet``), losses, the loop, checkpoints.

Sees batches (:class:`flowsynth.data.FlowExample`), never scenes. Names load lazily, so
``import flowsynth.train`` (and the CLI's :mod:`flowsynth.train.command`) does not import torch
until a torch-backed name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "TrainConfig": "config",
    "make_config": "config",
    "PRESETS": "config",
    "train": "loop",
    "TrainResult": "loop",
    "build_model": "models",
    "model_spec": "models",
    "MODELS": "models",
    "multiscale_epe": "losses",
    "segmentation_loss": "losses",
    "FLOWNET_WEIGHTS": "losses",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "CheckpointError": "checkpoint",
    "local_correlation": "correlation",
    "warp": "correlation",
    "FlowNetS": "flownets",
    "PWCNet": "pwc",
    "UNet": "unet",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'flowsynth.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"flowsynth.train.{_MODULES[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
