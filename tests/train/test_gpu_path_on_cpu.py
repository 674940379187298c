"""The branches the GPU run takes, taken on the CPU: ``torch.compile`` of each model (compiled
= eager within tolerance), bf16 autocast (``cpu_amp``), checkpoints with and without CUDA RNG
states, and a checkpoint written on ``cuda`` resumed and evaluated on the CPU.

Inductor compiles (the GPU's backend) take minutes per model on 2 shared CPU cores (pwc at width
0.25: ~8 min; unet ~1 min), so they are ``slow``; the fast tests compile with ``aot_eager`` (the
same dynamo graph capture and AOT autograd, run by eager kernels) where that takes seconds
(unet, flownets) and with the ``eager`` backend (dynamo's graph capture alone) for pwc.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from flowsynth.evaluate.flow import load_model, predict_flow
from flowsynth.io.images import write_png
from flowsynth.train import loop
from flowsynth.train.checkpoint import load_checkpoint, save_checkpoint
from flowsynth.train.config import TrainConfig
from flowsynth.train.losses import segmentation_loss
from flowsynth.train.models import build_model, model_spec
from flowsynth.train.schedule import make_optimizer

from .helpers import TINY_OVERRIDES, tiny_recipe_batch


def _flow_config(out: Path, **changes: Any) -> TrainConfig:
    values: dict[str, Any] = dict(
        data="recipe:ablation/boxes",
        out=str(out),
        model="pwc",
        width=0.25,
        steps=3,
        batch=2,
        crop=(64, 64),
        overrides=tuple(TINY_OVERRIDES),
        lr=1e-3,
        warmup=1,
        device="cpu",
        threads=1,
        log_every=1,
        checkpoint_every=2,
        epoch_length=4,
    )
    values.update(changes)
    return TrainConfig(**values)


def _write_pairs(root: Path, count: int = 2, size: int = 32) -> str:
    for k in range(count):
        label = np.full((size, size), 255, np.uint8)
        label[:, 10 + k] = 0
        label[12 + k, :] = 0
        image = np.where(label == 0, 40, 200).astype(np.uint8)
        write_png(root / "train/image" / f"{k}.png", image)
        write_png(root / "train/label" / f"{k}.png", label)
    return f"isbi2012_em={root}"


def _seg_config(out: Path, data: str, **changes: Any) -> TrainConfig:
    values: dict[str, Any] = dict(
        data=data,
        out=str(out),
        task="segmentation",
        model="unet",
        width=0.125,
        steps=3,
        batch=2,
        crop=(32, 32),
        lr=1e-3,
        warmup=1,
        device="cpu",
        threads=1,
        log_every=1,
        checkpoint_every=2,
        seg_augment="none",
    )
    values.update(changes)
    return TrainConfig(**values)


def _compile_works(backend: str) -> str | None:
    """None when a tiny function compiles with ``backend`` here, else why not."""
    if backend == "inductor" and shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler (cc/gcc) for inductor's CPU kernels"
    try:
        compiled = torch.compile(lambda x: torch.sin(x) * 2 + 1, backend=backend)
        x = torch.arange(4.0)
        if not torch.allclose(compiled(x), torch.sin(x) * 2 + 1):
            return f"torch.compile({backend}) gave wrong values"
    except Exception as error:  # noqa: BLE001 - any failure means: cannot test compile here
        return f"torch.compile(backend={backend!r}) fails here: {type(error).__name__}: {error}"
    return None


def _skip_without_compile(backend: str) -> None:
    reason = _compile_works(backend)
    if reason:
        pytest.skip(reason)


# -- bf16 autocast on the CPU --------------------------------------------------------------


def _bf16_outputs(model: torch.nn.Module, *inputs: torch.Tensor) -> list[torch.dtype]:
    dtypes: list[torch.dtype] = []
    hook = model.register_forward_hook(
        lambda _m, _i, out: dtypes.extend(
            o.dtype for o in (out if isinstance(out, (list, tuple)) else [out])
        )
    )
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        model(*inputs)
    hook.remove()
    return dtypes


@pytest.mark.parametrize("name", ["pwc", "flownets"])
def test_bf16_flow_steps_are_finite_and_lower_the_loss(name: str) -> None:
    batch = tiny_recipe_batch(count=2)
    model = build_model(model_spec(name, width=0.25), generator=torch.Generator().manual_seed(0))
    assert torch.bfloat16 in _bf16_outputs(model, batch.image1, batch.image2)
    optimizer = make_optimizer(model, lr=1e-3, weight_decay=0.0)
    config = _flow_config(Path("unused"), model=name)
    losses = []
    for _ in range(6):
        optimizer.zero_grad(set_to_none=True)
        loss, metrics = loop.flow_step(model, batch, torch.device("cpu"), config, amp=True)
        assert math.isfinite(metrics["loss"])
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
        optimizer.step()
        losses.append(metrics["loss"])
    assert min(losses[-2:]) < losses[0], losses


def test_bf16_segmentation_steps_are_finite_and_lower_the_loss() -> None:
    generator = torch.Generator().manual_seed(0)
    model = build_model(
        model_spec("unet", width=0.125, in_channels=1, classes=2), generator=generator
    )
    image = torch.rand(2, 1, 32, 32, generator=generator)
    label = (image[:, 0] > 0.5).long()
    weight = torch.ones(2, 32, 32)
    assert _bf16_outputs(model, image) == [torch.bfloat16]
    optimizer = make_optimizer(model, lr=3e-3, weight_decay=0.0)
    losses = []
    for _ in range(6):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            logits = model(image)
        loss, metrics = segmentation_loss(logits.float(), label, weight, dice=0.5)
        assert math.isfinite(metrics["loss"])
        loss.backward()
        assert all(
            bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.grad is not None
        )
        optimizer.step()
        losses.append(metrics["loss"])
    assert min(losses[-2:]) < losses[0], losses


def test_cpu_amp_switch_drives_the_autocast_branch_of_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    original = loop.flow_step

    def spy(model, batch, device, config, amp):  # noqa: ANN001, ANN202
        seen.append(amp)
        return original(model, batch, device, config, amp)

    monkeypatch.setattr(loop, "flow_step", spy)
    default = loop.train(_flow_config(tmp_path / "fp32", steps=1), progress=False)
    assert seen == [False], "the CPU default stays fp32"
    seen.clear()
    result = loop.train(_flow_config(tmp_path / "bf16", cpu_amp=True), progress=False)
    assert seen == [True] * 3
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"]) for r in result.history)
    assert default.history[0]["loss"] != result.history[0]["loss"]  # bf16 did change the sums


def test_bf16_segmentation_training_in_the_loop(tmp_path: Path) -> None:
    data = _write_pairs(tmp_path / "isbi")
    result = loop.train(_seg_config(tmp_path / "run", data, cpu_amp=True), progress=False)
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["grad_norm"]) for r in result.history)


# -- checkpoints: CUDA RNG states and devices -----------------------------------------------


def _fake_cuda(path: Path, *, device_states: int, device: str = "cuda") -> None:
    """Rewrite a CPU run's checkpoint as a CUDA run would have written it: CUDA RNG states,
    ``cuda`` as the device in its config and info."""
    checkpoint = load_checkpoint(path)
    states = [torch.randint(0, 256, (16,), dtype=torch.uint8) for _ in range(device_states)]
    checkpoint["rng"] = {"torch": checkpoint["rng"]["torch"], "cuda": states}
    checkpoint["config"] = {**checkpoint["config"], "device": device}
    checkpoint["info"] = {**checkpoint["info"], "device": device}
    save_checkpoint(path, {k: v for k, v in checkpoint.items() if k not in ("format", "version")})


@pytest.mark.parametrize("device_states", [0, 1, 2])
def test_checkpoint_from_cuda_resumes_and_evaluates_on_cpu(
    tmp_path: Path, device_states: int
) -> None:
    whole = loop.train(_flow_config(tmp_path / "whole", steps=4), progress=False)
    run = tmp_path / "split"
    loop.train(_flow_config(run, steps=4), progress=False, stop_at=2)
    _fake_cuda(run / "checkpoint.pt", device_states=device_states)
    stored = load_checkpoint(run)
    assert stored["info"]["device"] == "cuda" and len(stored["rng"]["cuda"]) == device_states
    resumed = loop.train(_flow_config(run, steps=4), resume=True, progress=False)
    assert resumed.start_step == 2 and resumed.step == 4
    # the CPU RNG and data order are restored exactly; CUDA states are skipped without CUDA
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history[2:]]
    network, _ = load_model(run / "checkpoint.pt", torch.device("cpu"))
    image = torch.rand(1, 3, 40, 50)
    assert predict_flow(network, image, image).shape == (1, 2, 40, 50)


# -- torch.compile --------------------------------------------------------------------------


def _compiled_matches_eager(tmp_path: Path, config_of: Any, backend: str, atol: float) -> None:
    eager = loop.train(config_of(tmp_path / "eager"), progress=False)
    compiled = loop.train(
        config_of(tmp_path / "compiled", compile=True, compile_backend=backend), progress=False
    )
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-3, abs=atol)
    # AdamW moves a weight by about lr per step whatever its gradient's size, so a parameter with
    # a near-zero gradient (a bias before a normalisation) may move differently by rounding
    # alone: weights agree to 2 x lr x steps.
    config = config_of(tmp_path / "unused")
    bound = 2 * config.lr * len(eager.history)
    a, b = load_checkpoint(eager.checkpoint)["model"], load_checkpoint(compiled.checkpoint)["model"]
    for key, value in a.items():
        assert torch.allclose(value, b[key], rtol=1e-3, atol=bound), key


def _evaluation_matches(checkpoint: Path, backend: str) -> None:
    network, _ = load_model(checkpoint, torch.device("cpu"))
    image1, image2 = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    eager = predict_flow(network, image1, image2)
    compiled = predict_flow(torch.compile(network, backend=backend), image1, image2)
    assert torch.allclose(eager, compiled, rtol=1e-3, atol=1e-3)


def _compile_case(tmp_path: Path, model: str, backend: str) -> None:
    _skip_without_compile(backend)
    torch._dynamo.reset()
    if model == "unet":
        data = _write_pairs(tmp_path / "isbi")
        _compiled_matches_eager(
            tmp_path, lambda out, **c: _seg_config(out, data, steps=2, **c), backend, 1e-4
        )
    else:
        _compiled_matches_eager(
            tmp_path,
            lambda out, **c: _flow_config(out, model=model, steps=2, **c),
            backend,
            1e-3,
        )
        _evaluation_matches(tmp_path / "compiled" / "checkpoint.pt", backend)


@pytest.mark.parametrize("model", ["unet", "flownets"])
def test_compiled_model_matches_eager_aot_eager(tmp_path: Path, model: str) -> None:
    _compile_case(tmp_path, model, "aot_eager")


def test_compiled_pwc_matches_eager_dynamo_capture(tmp_path: Path) -> None:
    """pwc's graph capture (dynamo, backend ``eager``): seconds; aot_eager and inductor: slow."""
    _compile_case(tmp_path, "pwc", "eager")


@pytest.mark.slow
def test_compiled_pwc_matches_eager_aot_eager(tmp_path: Path) -> None:
    _compile_case(tmp_path, "pwc", "aot_eager")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["pwc", "flownets", "unet"])
def test_compiled_model_matches_eager_inductor(tmp_path: Path, model: str) -> None:
    """The GPU's backend; minutes per model on a small CPU."""
    _compile_case(tmp_path, model, "inductor")


def test_checkpoint_config_without_the_new_switches_resumes() -> None:
    """Checkpoints written before ``cpu_amp`` and ``compile_backend`` existed: their defaults."""
    from flowsynth.train.config import config_differences

    config = _flow_config(Path("run"))
    old = {k: v for k, v in config.to_dict().items() if k not in ("cpu_amp", "compile_backend")}
    assert config_differences(old, config.to_dict()) == []
    changed = {**config.to_dict(), "cpu_amp": True, "compile_backend": "aot_eager"}
    assert config_differences(old, changed) == ["cpu_amp: False -> True"]
