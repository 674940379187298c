"""Run a stereo model (and a constant-disparity baseline) over stereo pairs and accumulate the
metrics of :mod:`~flowsynth.evaluate.stereo_metrics`.

Both views are padded to a multiple of the model's stride by replicating edge pixels (the same
padding for both, so disparities do not change), the refined prediction is cut back, and the
disparity is compared at the dataset's own resolution.

The baseline predicts one disparity everywhere: the median of the dataset's own valid true
disparities, pooled over all its images. It is the constant with the least EPE that anyone
could pick (the median minimises the mean absolute error), chosen knowing the ground truth: an
oracle, so a model that beats it has learned more than the dataset's disparity range.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.utils.data import Dataset, default_collate
from tqdm import tqdm

from flowsynth.evaluate.flow import batches
from flowsynth.evaluate.padding import pad_to_multiple, unpad
from flowsynth.evaluate.stereo_metrics import StereoMetrics

#: The name of the baseline row in results.
CONSTANT = "constant"


def resolve_stereo_eval_dataset(
    spec: str,
    data_root: str | os.PathLike[str] | None = None,
    *,
    recipe_seed: int,
    recipe_count: int,
) -> Dataset[Any]:
    """The stereo pairs a spec names, whole (no crop, no colour jitter): ``middlebury_stereo``,
    ``kitti_stereo=PATH``, ``flowsynth_stereo=PATH``, or a stereo recipe (``recipe:NAME`` or
    ``NAME``), rendered for ``recipe_count`` samples with ``recipe_seed``."""
    # data.stereo_stream loads torch and the renderer: only stereo checkpoints need them.
    from flowsynth.data.stereo_stream import resolve_stereo_data

    return resolve_stereo_data(spec, data_root, seed=recipe_seed, length=recipe_count)


@torch.no_grad()
def predict_disparity(model: nn.Module, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """``[B,3,H,W] x 2 in [0,1] -> [B,H,W]`` disparity of the left view in pixels (any ``H``,
    ``W``)."""
    stride = int(getattr(model, "stride", 8))
    padded_left, padding = pad_to_multiple(left, stride)
    padded_right, _ = pad_to_multiple(right, stride)
    return unpad(model(padded_left, padded_right)[0].float(), padding)


def evaluate_stereo(
    model: nn.Module | None,
    dataset: Dataset[Any],
    *,
    device: torch.device,
    max_images: int | None = None,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """``{"model": summary, "constant": summary}`` (no ``model`` key when ``model`` is None).

    Summaries are :meth:`StereoMetrics.summary` dicts, pooled per pixel over the dataset; the
    constant row also holds its ``disparity`` (see the module docstring). The model runs in
    eval mode and is left in the mode it came in.
    """
    metrics: dict[str, StereoMetrics] = {}
    truths: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_] | None]] = []
    training = model.training if model is not None else False
    if model is not None:
        metrics["model"] = StereoMetrics()
        model.eval()
    try:
        for batch in tqdm(batches(dataset, max_images, default_collate), disable=not progress):
            disparity = batch.disparity[0].numpy()
            valid = batch.valid[0].numpy()
            occlusion = batch.occlusion[0].numpy() if bool(batch.has_occlusion[0]) else None
            truths.append((disparity[valid], None if occlusion is None else occlusion[valid]))
            if model is not None:
                left, right = batch.left.to(device), batch.right.to(device)
                prediction = predict_disparity(model, left, right)[0].cpu().numpy()
                metrics["model"].add(prediction, disparity, valid, occlusion)
    finally:
        if model is not None:
            model.train(training)
    results = {name: accumulator.summary() for name, accumulator in metrics.items()}
    results[CONSTANT] = constant_baseline(truths)
    return results


def constant_baseline(
    truths: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_] | None]],
) -> dict[str, Any]:
    """The summary of predicting the pooled median of every image's valid true disparities
    (``(N_i,)`` each, with their occlusion ``bool (N_i,)`` or None) everywhere."""
    pooled = np.concatenate([truth for truth, _ in truths]) if truths else np.zeros(0)
    value = float(np.median(pooled)) if pooled.size else 0.0
    metrics = StereoMetrics()
    for truth, occlusion in truths:
        prediction = np.full(truth.shape, value, np.float64)
        metrics.add(prediction, truth, np.ones(truth.shape, bool), occlusion)
    return {**metrics.summary(), "disparity": value}


__all__ = [
    "CONSTANT",
    "constant_baseline",
    "evaluate_stereo",
    "predict_disparity",
    "resolve_stereo_eval_dataset",
]
