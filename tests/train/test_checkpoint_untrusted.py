"""Checkpoints as untrusted input: each malformed file gets a CheckpointError saying what is
wrong (empty, not a torch checkpoint, code, a missing or mistyped key, a changed byte)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from flowsynth.train.checkpoint import (
    FORMAT,
    VERSION,
    CheckpointError,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    state_checksum,
)
from flowsynth.train.config import TrainConfig
from flowsynth.train.models import build_model, model_spec
from flowsynth.train.schedule import make_optimizer, make_scheduler


def _state() -> dict[str, Any]:
    spec = model_spec("flownets", width=0.125)
    model = build_model(spec)
    optimizer = make_optimizer(model, lr=1e-3, weight_decay=1e-4)
    scheduler = make_scheduler(optimizer, steps=10, warmup=2, schedule="cosine", min_lr=0.1)
    return {
        "step": 3,
        "model": model.state_dict(),
        "model_spec": spec,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "config": TrainConfig(data="recipe:ablation/boxes", out="run").to_dict(),
        "info": {},
        "rng": rng_state(),
    }


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    return _state()


def _raw(path: Path, payload: dict[str, Any]) -> Path:
    """``payload`` saved as is (no checksum), as a hand-made or older checkpoint would be."""
    torch.save({"format": FORMAT, "version": VERSION, **payload}, path)
    return path


def test_saved_checkpoint_carries_a_checksum_that_verifies(tmp_path: Path, state) -> None:
    path = save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(path)
    assert loaded["checksum"].startswith("sha256:")
    assert loaded["checksum"] == state_checksum(loaded)


def test_old_checkpoint_without_checksum_loads(tmp_path: Path, state) -> None:
    loaded = load_checkpoint(_raw(tmp_path / "old.pt", state))
    assert "checksum" not in loaded and loaded["step"] == 3


def test_flipped_byte_in_a_tensor_is_caught(tmp_path: Path, state) -> None:
    path = save_checkpoint(tmp_path / "c.pt", state)
    data = bytearray(path.read_bytes())
    weight = next(iter(state["model"].values()))
    needle = weight.contiguous().numpy().tobytes()[:64]
    at = data.find(needle)
    assert at > 0, "the tensor's bytes are stored uncompressed"
    data[at + 5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its checksum"):
        load_checkpoint(path)


def test_changed_plain_value_is_caught(tmp_path: Path, state) -> None:
    path = save_checkpoint(tmp_path / "c.pt", state)
    checkpoint = load_checkpoint(path)
    checkpoint["step"] = 4  # rewritten with the old checksum: a forged or damaged value
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"is empty \(0 bytes\)"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [os.urandom(300), b"not a checkpoint", b"\x00" * 10])
def test_not_a_torch_checkpoint(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"\x01" + content)  # never a zip or pickle header
    with pytest.raises(CheckpointError, match="is not a torch checkpoint") as caught:
        load_checkpoint(path)
    assert "could run code" not in str(caught.value)


def test_corrupt_pickle_is_not_called_code(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"\x80\x02" + bytes(range(200, 256)) * 3)
    with pytest.raises(CheckpointError, match="corrupt or not a torch checkpoint") as caught:
        load_checkpoint(path)
    assert "could run code" not in str(caught.value)


def test_truncated_checkpoint(tmp_path: Path, state) -> None:
    path = save_checkpoint(tmp_path / "c.pt", state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(path)


class _Code:
    def __reduce__(self):  # noqa: ANN204
        return (os.getcwd, ())


def test_pickle_with_code_is_refused_as_code(tmp_path: Path) -> None:
    path = tmp_path / "code.pt"
    torch.save({"format": FORMAT, "version": VERSION, "model": _Code()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(path)


@pytest.mark.parametrize("key", ["model", "model_spec", "config", "rng", "step", "optimizer"])
def test_missing_key_is_named(tmp_path: Path, state, key: str) -> None:
    payload = {k: v for k, v in state.items() if k != key}
    with pytest.raises(CheckpointError, match=f"lacks '{key}'"):
        load_checkpoint(_raw(tmp_path / "c.pt", payload))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model", [1, 2], r"'model' should be a dict, not a list"),
        ("model", {"w": 1.0}, r"'model'\['w'\] should be a tensor, not a float"),
        ("model_spec", "pwc", r"'model_spec' should be a dict, not a str"),
        ("model_spec", {"options": {}}, r"'model_spec'.name should be a str, not a NoneType"),
        ("config", None, r"'config' should be a dict, not a NoneType"),
        ("config", {"task": 3}, r"'config'.task should be a str, not a int"),
        ("rng", {"torch": [1]}, r"'rng'.torch should be a uint8 tensor, not a list"),
        ("rng", {"torch": torch.zeros(3)}, r"'rng'.torch should be a uint8 tensor, not a tensor"),
        ("step", "3", r"'step' should be an int >= 0, not a str"),
        ("optimizer", {"state": {}}, r"'optimizer'.param_groups should be a list"),
    ],
)
def test_wrong_type_is_named(tmp_path: Path, state, key: str, value: Any, message: str) -> None:
    payload = {**state, key: value}
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_raw(tmp_path / "c.pt", payload))
