"""Training: models (``flownets``, ``pwc``, ``unet``, ``cvnet``), losses, the loop, checkpoints.

Sees batches (:class:`flowsynth.data.FlowExample`), never scenes. Names load lazily, so
``import flowsynth.train`` (and the CLI's :mod:`flowsynth.cli.train`) does not import torch
until a torch-backed name is used.
"""

from __future__ import annotations

from flowsynth.base.lazy import lazy_exports

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
    "CostVolumeStereo": "stereo_net",
    "stereo_loss": "losses",
}

__all__ = sorted(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
