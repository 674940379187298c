"""``evaluate(checkpoint, datasets)``: the results document that ``flowsynth evaluate`` writes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from flowsynth import __version__
from flowsynth.data.rescale import check_scale
from flowsynth.evaluate.datasets import (
    DEFAULT_RECIPE_COUNT,
    DEFAULT_RECIPE_SEED,
    resolve_flow_dataset,
)
from flowsynth.evaluate.flow import evaluate_flow, load_model
from flowsynth.evaluate.report import POOLING, scale_note
from flowsynth.evaluate.segmentation import evaluate_segmentation
from flowsynth.evaluate.stereo import evaluate_stereo, resolve_stereo_eval_dataset
from flowsynth.train.build import resolve_device


def evaluate(
    checkpoint: str | os.PathLike[str] | None,
    datasets: Sequence[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    device: str = "auto",
    max_images: int | None = None,
    recipe_seed: int = DEFAULT_RECIPE_SEED,
    recipe_count: int = DEFAULT_RECIPE_COUNT,
    progress: bool = False,
    scale: float = 1.0,
    baseline_task: str = "flow",
) -> dict[str, Any]:
    """Evaluate a checkpoint (or, with ``checkpoint=None``, only the baseline of
    ``baseline_task``: zero flow for ``"flow"``, the constant disparity for ``"stereo"``) on
    ``datasets``.

    Flow checkpoints get a model row and a zero-flow row per dataset
    (:func:`~flowsynth.evaluate.flow.evaluate_flow`); segmentation checkpoints take
    segmentation specs (:func:`flowsynth.data.segmentation.parse_segmentation_spec`); stereo
    checkpoints take stereo specs (``middlebury_stereo``, ``kitti_stereo=PATH``,
    ``flowsynth_stereo=PATH``, a stereo recipe) and get a model row and a constant-disparity
    row (:func:`~flowsynth.evaluate.stereo.evaluate_stereo`).

    ``scale`` (``0 < scale <= 1``) downsamples every flow pair before evaluation
    (:func:`flowsynth.data.rescale.rescale_pair`: area-averaged images, valid-weighted flow times
    the scale); metrics are then in pixels of the downsampled images. Segmentation takes only 1.

    Returns
    -------
    dict
        ``checkpoint``, ``task``, ``step``, ``model_spec``, ``train_config``, ``scale``,
        ``scale_note``, ``pooling`` and
        ``datasets: {spec: {"model": summary, "zero_flow": summary}}`` (JSON-ready; stereo:
        ``{"model", "constant"}``).

    Raises
    ------
    ValueError
        No datasets, ``scale`` outside ``(0, 1]``, ``scale != 1`` for segmentation or
        stereo, or a ``baseline_task`` without a baseline.
    """
    if not datasets:
        raise ValueError("no datasets to evaluate: give at least one --dataset")
    if baseline_task not in ("flow", "stereo"):
        raise ValueError(f"baseline_task is flow or stereo, got {baseline_task!r}")
    scale = check_scale(scale)
    torch_device = resolve_device(device)
    model, state = (None, {}) if checkpoint is None else load_model(checkpoint, torch_device)
    task = state.get("config", {}).get("task", "flow") if state else baseline_task
    if task in ("segmentation", "stereo") and scale != 1.0:
        raise ValueError(f"--scale applies to flow datasets only; got {scale:g} for {task}")
    document = _header(checkpoint, state, task, torch_device, scale)
    for spec in datasets:
        if task == "segmentation":
            assert model is not None
            values = state["info"]["label_values"]
            result = _evaluate_segmentation(
                model, spec, data_root, values, torch_device, max_images, progress
            )
        elif task == "stereo":
            stereo = resolve_stereo_eval_dataset(
                spec, data_root, recipe_seed=recipe_seed, recipe_count=recipe_count
            )
            result = evaluate_stereo(
                model, stereo, device=torch_device, max_images=max_images, progress=progress
            )
        else:
            dataset = resolve_flow_dataset(
                spec, data_root, recipe_seed=recipe_seed, recipe_count=recipe_count, scale=scale
            )
            result = evaluate_flow(
                model, dataset, device=torch_device, max_images=max_images, progress=progress
            )
        document["datasets"][spec] = result
    return document


def _header(
    checkpoint: str | os.PathLike[str] | None,
    state: dict[str, Any],
    task: str,
    torch_device: torch.device,
    scale: float,
) -> dict[str, Any]:
    """The results document before any dataset: what was evaluated, where and how."""
    return {
        "checkpoint": None if checkpoint is None else os.fspath(checkpoint),
        "task": task,
        "step": state.get("step"),
        "model_spec": state.get("model_spec"),
        "train_config": state.get("config"),
        "flowsynth_version": __version__,
        "device": str(torch_device),
        "scale": scale,
        "scale_note": scale_note(scale),
        "pooling": POOLING,
        "datasets": {},
    }


def _evaluate_segmentation(
    model: nn.Module,
    spec: str,
    data_root: str | os.PathLike[str] | None,
    values: list[int],
    torch_device: torch.device,
    max_images: int | None,
    progress: bool,
) -> dict[str, dict[str, Any]]:
    """A segmentation checkpoint's summary on the pairs ``spec`` names."""
    # data.segmentation loads the deform kernels (numba): only segmentation checkpoints need them.
    from flowsynth.data.segmentation import SegmentationDataset, load_segmentation_pairs

    dataset = SegmentationDataset(load_segmentation_pairs(spec, data_root), values=values)
    return evaluate_segmentation(
        model,
        dataset,
        classes=len(values),
        device=torch_device,
        max_images=max_images,
        progress=progress,
    )
