"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)`` only.

A checkpoint is a dict of tensors and plain values (no pickled classes)::

    format: "flowsynth-checkpoint", version: 1, step: int,
    model: state_dict, model_spec: {"name", "options"},
    optimizer: state_dict, scheduler: state_dict,
    config: TrainConfig.to_dict(), info: {version, recipe hash, ...},
    rng: {"torch": ByteTensor, "cuda": [ByteTensor, ...]},
    ema: state_dict, ema_count: int   (only for runs with a weight average, ``--ema``)
    checksum: "sha256:<hex>"

A checkpoint is untrusted input. Anything else in the file (a pickle that would build objects or
run code) is refused with :class:`CheckpointError` before a single object is built; so are an
empty file, a file that is not a torch checkpoint at all, a checkpoint missing a key or holding
one of the wrong type (:func:`check_schema`), and one whose content no longer matches its
``checksum`` (a flipped byte). ``checksum`` is a sha256 over every value of the checkpoint but
itself, tensors' bytes included (:func:`state_checksum`); checkpoints written before it existed
have none and load unchecked.
"""

from __future__ import annotations

import hashlib
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
#: Keys every checkpoint holds (``format`` and ``version`` are checked first).
REQUIRED_KEYS = ("step", "model", "model_spec", "optimizer", "scheduler", "config", "info", "rng")
#: How the files that ``torch.save`` writes begin: a zip archive, or (torch < 1.6) a protocol-2
#: pickle.
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80\x02")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, not a flowsynth checkpoint, or holds more than plain data."""


def evaluation_weights(checkpoint: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The weights to evaluate and their name: the weight average (``ema``) when the run kept
    one, else the trained weights (``model``)."""
    if "ema" in checkpoint:
        return checkpoint["ema"], "ema"
    return checkpoint["model"], "model"


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


def _feed(digest: Any, value: Any) -> None:
    """Add ``value`` to ``digest`` in a canonical form: type tags, lengths, sorted dict keys and
    tensors' dtypes, shapes and bytes (lists and tuples, dicts and OrderedDicts alike)."""
    if isinstance(value, dict):
        digest.update(b"d%d;" % len(value))
        for key in sorted(value, key=lambda k: (type(k).__name__, str(k))):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(b"l%d;" % len(value))
        for item in value:
            _feed(digest, item)
    elif isinstance(value, torch.Tensor):
        data = value.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8)
        digest.update(f"T{value.dtype}{tuple(value.shape)};".encode())
        digest.update(data.numpy().tobytes())
    elif isinstance(value, str):
        encoded = value.encode("utf-8", "surrogatepass")
        digest.update(b"s%d;" % len(encoded) + encoded)
    elif isinstance(value, bool) or value is None:
        digest.update(f"c{value};".encode())
    elif isinstance(value, int):
        digest.update(f"i{value};".encode())
    elif isinstance(value, float):
        digest.update(f"f{value.hex()};".encode())
    else:
        raise TypeError(f"cannot checksum a {type(value).__qualname__}")


def state_checksum(checkpoint: dict[str, Any]) -> str:
    """``"sha256:<hex>"`` of every entry of ``checkpoint`` but ``checksum`` (tensors' bytes, plain
    values and the structure holding them)."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in checkpoint.items() if k != "checksum"})
    return "sha256:" + digest.hexdigest()


def _kind(value: Any) -> str:
    return "a tensor" if isinstance(value, torch.Tensor) else f"a {type(value).__name__}"


def _expect(ok: bool, where: str, wanted: str, value: Any) -> None:
    if not ok:
        raise CheckpointError(f"{where} should be {wanted}, not {_kind(value)}")


def check_schema(checkpoint: dict[str, Any], name: str = "checkpoint") -> None:
    """:class:`CheckpointError` naming the first key that a flowsynth checkpoint lacks or holds
    with the wrong type (what :func:`save_checkpoint` writes for a training run)."""
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"{name} is incomplete: it lacks {', '.join(repr(k) for k in missing)} "
            f"(a flowsynth checkpoint holds {', '.join(REQUIRED_KEYS)})"
        )
    step = checkpoint["step"]
    _expect(type(step) is int and step >= 0, f"{name}: 'step'", "an int >= 0", step)
    for key in ("model", "model_spec", "optimizer", "scheduler", "config", "info", "rng"):
        _expect(isinstance(checkpoint[key], dict), f"{name}: {key!r}", "a dict", checkpoint[key])
    for weights in ("model", "ema"):
        state = checkpoint.get(weights, {})
        _expect(isinstance(state, dict), f"{name}: {weights!r}", "a dict", state)
        for key, value in state.items():
            _expect(isinstance(key, str), f"{name}: a key of {weights!r}", "a str", key)
            _expect(
                isinstance(value, torch.Tensor), f"{name}: {weights!r}[{key!r}]", "a tensor", value
            )
    if "ema" in checkpoint:
        count = checkpoint.get("ema_count")
        _expect(type(count) is int and count >= 0, f"{name}: 'ema_count'", "an int >= 0", count)
    spec = checkpoint["model_spec"]
    _expect(
        isinstance(spec.get("name"), str), f"{name}: 'model_spec'.name", "a str", spec.get("name")
    )
    options = spec.get("options", {})
    _expect(isinstance(options, dict), f"{name}: 'model_spec'.options", "a dict", options)
    optimizer = checkpoint["optimizer"]
    for key, wanted in (("state", dict), ("param_groups", list)):
        value = optimizer.get(key)
        _expect(
            isinstance(value, wanted), f"{name}: 'optimizer'.{key}", f"a {wanted.__name__}", value
        )
    config = checkpoint["config"]
    for key in config:
        _expect(isinstance(key, str), f"{name}: a key of 'config'", "a str", key)
    if "task" in config:
        _expect(isinstance(config["task"], str), f"{name}: 'config'.task", "a str", config["task"])
    rng = checkpoint["rng"]
    torch_state = rng.get("torch")
    _expect(
        isinstance(torch_state, torch.Tensor) and torch_state.dtype == torch.uint8,
        f"{name}: 'rng'.torch",
        "a uint8 tensor",
        torch_state,
    )
    cuda = rng.get("cuda", [])
    _expect(isinstance(cuda, (list, tuple)), f"{name}: 'rng'.cuda", "a list", cuda)
    for index, state in enumerate(cuda):
        _expect(
            isinstance(state, torch.Tensor) and state.dtype == torch.uint8,
            f"{name}: 'rng'.cuda[{index}]",
            "a uint8 tensor",
            state,
        )
    checksum = checkpoint.get("checksum")
    if checksum is not None:
        _expect(
            isinstance(checksum, str) and checksum.startswith("sha256:"),
            f"{name}: 'checksum'",
            "a 'sha256:...' str",
            checksum,
        )


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
    """Write ``checkpoint`` (plain values and tensors, :func:`check_plain`) atomically, with its
    ``checksum`` (:func:`state_checksum`).

    Returns the path.
    """
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **checkpoint}
    payload.pop("checksum", None)
    check_plain(payload)
    payload["checksum"] = state_checksum(payload)
    with atomic_path(path) as temp:
        torch.save(payload, temp)
    return path


def _read(path: Path, map_location: str | torch.device) -> Any:
    """``torch.load(weights_only=True)`` of ``path``, every failure a :class:`CheckpointError`
    that says which: empty, not a torch checkpoint, corrupt, or refused for holding objects."""
    name = repr(os.fspath(path))
    with path.open("rb") as file:
        head = file.read(4)
    if not head:
        raise CheckpointError(f"{name} is empty (0 bytes): not a checkpoint (an interrupted copy?)")
    if not head.startswith(_TORCH_MAGIC):
        raise CheckpointError(
            f"{name} is not a torch checkpoint: it is neither the zip archive that torch.save "
            f"writes nor a legacy torch pickle (it begins with {head!r})"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        if any(line.startswith("Unsupported operand") for line in lines):
            detail = next(line for line in lines if line.startswith("Unsupported operand"))
            raise CheckpointError(
                f"{name} is corrupt or not a torch checkpoint: its pickle could not be read "
                f"({detail})"
            ) from None
        found = [line for line in lines if "GLOBAL" in line or "WeightsUnpickler error" in line]
        first = (found or lines[2:3] or lines or [type(error).__name__])[0]
        raise CheckpointError(
            f"refusing to load {name}: it holds objects other than tensors and plain "
            "containers (a pickle that could run code); only checkpoints written by "
            f"'flowsynth train' are read, with torch.load(weights_only=True). ({first})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(
            f"cannot read checkpoint {name}: corrupt or truncated ({detail})"
        ) from error


def load_checkpoint(
    path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, checking its schema
    (:func:`check_schema`) and, when it has one, its checksum.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    CheckpointError
        The file is empty, not a torch checkpoint, corrupt (its checksum differs), holds objects
        other than tensors and plain containers (possibly code), is not a flowsynth checkpoint,
        or lacks a key or holds one of the wrong type. The message says which.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {os.fspath(path)!r}")
    name = repr(os.fspath(path))
    checkpoint = _read(path, map_location)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a flowsynth checkpoint")
    if checkpoint.get("version") != VERSION:
        raise CheckpointError(
            f"{name} has checkpoint version {checkpoint.get('version')}, "
            f"this flowsynth reads version {VERSION}"
        )
    check_schema(checkpoint, name)
    stored = checkpoint.get("checksum")
    if stored is not None:
        try:
            actual = state_checksum(checkpoint)
        except TypeError as error:
            raise CheckpointError(f"{name}: {error}") from None
        if actual != stored:
            raise CheckpointError(
                f"{name} is corrupt: its content does not match its checksum (stored {stored}, "
                f"computed {actual}); a byte changed after it was written"
            )
    return checkpoint
