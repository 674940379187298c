"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)`` only.

A checkpoint is a dict of tensors and plain values (no pickled classes)::

    format: "flowsynth-checkpoint", version: 1, step: int,
    model: state_dict, model_spec: {"name", "options"},
    optimizer: state_dict, scheduler: state_dict,
    config: TrainConfig.to_dict(), info: {version, recipe hash, ...},
    rng: {"torch": ByteTensor, "cuda": [ByteTensor, ...]}

Anything else in the file (a pickle that would build objects or run code) is refused with
:class:`CheckpointError` before a single object is built.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from flowsynth.io.atomic import atomic_path

FORMAT = "flowsynth-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, not a flowsynth checkpoint, or holds more than plain data."""


def rng_state() -> dict[str, Any]:
    """torch's global CPU and CUDA generator states (restored on resume for completeness)."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch": torch.get_rng_state(), "cuda": list(cuda)}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state` (CUDA states only where the devices exist)."""
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


_PLAIN = (str, int, float, bool, type(None), torch.Tensor)


def check_plain(value: Any, where: str = "checkpoint") -> None:
    """``TypeError`` naming the first value that ``weights_only`` loading would refuse.

    Allowed: ``dict`` and ``OrderedDict`` (str or int keys), ``list``, ``tuple``, ``str``,
    ``int``, ``float``, ``bool``, ``None`` and tensors (subclasses such as ``TorchVersion`` are
    not).
    """
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where}: key {key!r} is not a str or int")
            check_plain(item, f"{where}.{key}")
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            check_plain(item, f"{where}[{index}]")
    elif type(value) not in _PLAIN and not isinstance(value, torch.Tensor):
        raise TypeError(f"{where} is a {type(value).__qualname__}: store plain values only")


def save_checkpoint(path: str | os.PathLike[str], checkpoint: dict[str, Any]) -> Path:
    """Write ``checkpoint`` (plain values and tensors, :func:`check_plain`) atomically.

    Returns the path.
    """
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **checkpoint}
    check_plain(payload)
    with atomic_path(path) as temp:
        torch.save(payload, temp)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CheckpointError
        The file holds objects other than tensors and plain containers (possibly code), is
        corrupt, or is not a flowsynth checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        found = [line for line in lines if "WeightsUnpickler error" in line]
        first = (found or lines or [type(error).__name__])[0]
        raise CheckpointError(
            f"refusing to load {os.fspath(path)!r}: it holds objects other than tensors and plain "
            "containers (a pickle that could run code); only checkpoints written by "
            f"'flowsynth train' are read, with torch.load(weights_only=True). ({first})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read checkpoint {os.fspath(path)!r}: {error}") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{os.fspath(path)!r} is not a flowsynth checkpoint")
    if checkpoint.get("version") != VERSION:
        raise CheckpointError(
            f"{os.fspath(path)!r} has checkpoint version {checkpoint.get('version')}, "
            f"this flowsynth reads version {VERSION}"
        )
    return checkpoint
