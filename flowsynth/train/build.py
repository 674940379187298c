"""What a run trains on and with: the device, the dataset, the model spec, the loader."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from flowsynth import __version__
from flowsynth.data.names import FOLDERS, RECIPE_PREFIX, canonical
from flowsynth.train.config import TrainConfig
from flowsynth.train.models import model_spec, model_task
from flowsynth.train.sampling import EpochItems, StepBatchSampler


def resolve_device(name: str) -> torch.device:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cuda`` without CUDA raises."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch finds no CUDA device")
    return device


def cpu_threads(config: TrainConfig) -> int:
    """Torch threads for a CPU run: ``config.threads``, or the cores left to the workers."""
    if config.threads:
        return config.threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - config.workers)


def flow_spec(spec: str) -> str:
    """A training data spec for :func:`flowsynth.data.resolve_dataset`: a bare recipe name
    (``ablation/boxes``, a ``.yaml`` file) gets the ``recipe:`` prefix; dataset names and
    ``NAME=PATH`` stay."""
    if spec.startswith(RECIPE_PREFIX):
        return spec
    name, _ = canonical(spec.partition("=")[0])
    return spec if name in FOLDERS else RECIPE_PREFIX + spec


def flow_dataset(config: TrainConfig) -> tuple[Dataset[Any], dict[str, Any]]:
    """The training flow dataset (random crops of ``config.crop``) and what to record of it."""
    from flowsynth.data.augment import AugmentConfig
    from flowsynth.data.resolve import RECIPE_PREFIX, resolve_dataset

    crop = (int(config.crop[0]), int(config.crop[1]))
    augment = AugmentConfig(crop=crop) if config.augment else AugmentConfig.crop_only(crop)
    spec = flow_spec(config.data)
    options: dict[str, Any] = {"augment": augment, "seed": config.recipe_seed}
    if spec.startswith(RECIPE_PREFIX):
        options.update(length=config.epoch_length, overrides=list(config.overrides))
    elif config.overrides:
        raise ValueError("recipe overrides (--set) apply only to recipe data")
    dataset = resolve_dataset(spec, config.data_root, **options)
    info: dict[str, Any] = {"data_spec": spec}
    recipe = getattr(dataset, "recipe", None)
    if recipe is not None:
        from flowsynth.recipe.fields import recipe_hash, to_dict

        info.update(recipe=to_dict(recipe), recipe_hash=recipe_hash(recipe))
    return dataset, info


def segmentation_dataset(config: TrainConfig) -> tuple[Dataset[Any], dict[str, Any], int]:
    """The training segmentation dataset, its record (label values) and its image channels."""
    from flowsynth.data.segmentation import (
        SegmentationDataset,
        image_channels,
        label_values,
        load_segmentation_pairs,
    )

    pairs = load_segmentation_pairs(config.data, config.data_root)
    values = label_values(pairs)
    if len(values) < 2:
        raise ValueError(f"{config.data}: the labels hold one value only ({values})")
    dataset = SegmentationDataset(
        pairs,
        values=values,
        crop=(config.crop[0], config.crop[1]),
        seed=config.recipe_seed,
        sigma=config.elastic_sigma,
        augment=config.seg_augment,
        weights=config.seg_weights,
    )
    info = {"data_spec": config.data, "label_values": values, "pairs": [p.name for p in pairs]}
    return dataset, info, image_channels(pairs[0])


def stereo_dataset(config: TrainConfig) -> tuple[Dataset[Any], dict[str, Any]]:
    """The training stereo dataset (random crops of ``config.crop``; recipes also colour jitter
    unless ``augment`` is off) and what to record of it."""
    from flowsynth.data.stereo_stream import STEREO_COLOUR, resolve_stereo_data

    dataset = resolve_stereo_data(
        config.data,
        config.data_root,
        crop=(int(config.crop[0]), int(config.crop[1])),
        seed=config.recipe_seed,
        length=config.epoch_length,
        overrides=list(config.overrides),
        colour=STEREO_COLOUR if config.augment else None,
    )
    info: dict[str, Any] = {"data_spec": config.data}
    recipe = getattr(dataset, "recipe", None)
    if recipe is not None:
        from flowsynth.recipe.fields import recipe_hash, to_dict

        info.update(recipe=to_dict(recipe), recipe_hash=recipe_hash(recipe))
    return dataset, info


def training_data(config: TrainConfig) -> tuple[Dataset[Any], dict[str, Any], dict[str, Any]]:
    """``(dataset, model spec, info)`` for ``config``; info is stored in the checkpoint."""
    if model_task(config.model) != config.task:
        raise ValueError(
            f"model {config.model!r} is a {model_task(config.model)} model, but the task is "
            f"{config.task!r} (use --task {model_task(config.model)} or another --model)"
        )
    if config.task == "flow":
        dataset, info = flow_dataset(config)
        spec = model_spec(config.model, width=config.width)
    elif config.task == "stereo":
        dataset, info = stereo_dataset(config)
        spec = model_spec(config.model, width=config.width, max_disparity=config.max_disparity)
    else:
        dataset, info, channels = segmentation_dataset(config)
        classes = len(info["label_values"])
        spec = model_spec(config.model, width=config.width, in_channels=channels, classes=classes)
    info.update(
        task=config.task, flowsynth_version=__version__, torch_version=str(torch.__version__)
    )
    return dataset, spec, info


def make_training_loader(
    dataset: Dataset[Any], config: TrainConfig, *, start_step: int, device: torch.device
) -> DataLoader[Any]:
    """Batches for steps ``start_step .. config.steps - 1`` in the order of
    :class:`~flowsynth.train.sampling.StepBatchSampler` (no state to restore on resume)."""
    sampler = StepBatchSampler(
        len(dataset),  # type: ignore[arg-type]
        batch=config.batch,
        data_seed=config.data_seed,
        start_step=start_step,
        steps=config.steps,
    )
    if config.task == "flow":
        from flowsynth.data.example import collate_flow

        collate: Any = collate_flow
    else:
        collate = default_collate
    return DataLoader(
        EpochItems(dataset),
        batch_sampler=sampler,
        num_workers=config.workers,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
        # DataLoader draws its workers' base seed from this, not from torch's global RNG.
        generator=torch.Generator().manual_seed(config.data_seed),
    )


def check_crop(crop: tuple[int, int] | list[int], stride: int) -> None:
    """``ValueError`` unless both crop sides are multiples of the model's stride."""
    if crop[0] % stride or crop[1] % stride:
        raise ValueError(
            f"crop {crop[0]}x{crop[1]} is not a multiple of the model's stride {stride}; "
            f"e.g. --crop {max(stride, crop[0] // stride * stride)} "
            f"{max(stride, crop[1] // stride * stride)}"
        )


def run_folder(out: str | Path) -> Path:
    """The run folder, created."""
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path
