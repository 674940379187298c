"""Models by name: ``flownets``, ``pwc`` (alias ``corr``), ``unet``, ``cvnet`` (stereo).

A model is described by a plain *spec* ``{"name": str, "options": {...}}`` (stored in every
checkpoint, so evaluation rebuilds the same network). :func:`build_model` builds it on the meta
device and initialises every weight from an explicit ``torch.Generator``: no global RNG draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from flowsynth.train.flownets import FlowNetS
from flowsynth.train.layers import initialize
from flowsynth.train.pwc import PWCNet
from flowsynth.train.stereo_net import CostVolumeStereo
from flowsynth.train.unet import UNet

#: name -> (class, task, allowed options)
MODELS: dict[str, tuple[Callable[..., nn.Module], str, tuple[str, ...]]] = {
    "flownets": (FlowNetS, "flow", ("width",)),
    "pwc": (
        PWCNet,
        "flow",
        ("width", "max_displacement", "context", "cosine"),
    ),
    "unet": (UNet, "segmentation", ("width", "depth", "in_channels", "classes", "norm")),
    "cvnet": (CostVolumeStereo, "stereo", ("width", "max_disparity", "groups", "refine")),
}
ALIASES = {"corr": "pwc", "flownet": "flownets", "flownet-s": "flownets", "costvolume": "cvnet"}


def canonical_name(name: str) -> str:
    """The registry name of ``name`` (aliases resolved); ``ValueError`` if unknown."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in MODELS:
        known = ", ".join([*MODELS, *ALIASES])
        raise ValueError(f"unknown model {name!r}; known models: {known}")
    return key


def model_task(name: str) -> str:
    """``'flow'``, ``'segmentation'`` or ``'stereo'``."""
    return MODELS[canonical_name(name)][1]


def model_spec(name: str, **options: Any) -> dict[str, Any]:
    """A plain spec ``{"name", "options"}``; unknown options raise ``ValueError``."""
    key = canonical_name(name)
    allowed = MODELS[key][2]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"model {key!r} has no options {unknown}; allowed: {list(allowed)}")
    return {"name": key, "options": {k: v for k, v in options.items() if v is not None}}


def build_model(
    spec: Mapping[str, Any],
    *,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Build the model a spec describes, weights drawn from ``generator`` on the CPU.

    ``generator`` None gives a generator seeded with 0. The weights are drawn on the CPU and
    then moved, so the same seed gives the same weights on every device.
    """
    full = model_spec(spec["name"], **dict(spec.get("options", {})))
    factory = MODELS[full["name"]][0]
    with torch.device("meta"):
        model = factory(**full["options"])
    model = model.to_empty(device="cpu")
    initialize(model, generator if generator is not None else torch.Generator().manual_seed(0))
    return model.to(device)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
