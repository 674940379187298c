"""Run a trained model (or zero flow) over datasets and accumulate the metrics.

Every input is padded to a multiple of the model's stride by replicating edge pixels, the
finest prediction is upsampled to the padded size (bilinear, times 20) and the padding cut off,
so the flow is compared at the dataset's own resolution.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from flowsynth.data.example import collate_flow
from flowsynth.evaluate.metrics import FlowMetrics
from flowsynth.evaluate.padding import pad_to_multiple, unpad
from flowsynth.train.checkpoint import evaluation_weights, load_checkpoint
from flowsynth.train.layers import full_resolution_flow
from flowsynth.train.models import build_model


def load_model(
    path: str | os.PathLike[str], device: torch.device
) -> tuple[nn.Module, dict[str, Any]]:
    """Model (eval mode, on ``device``) and checkpoint from a ``flowsynth train`` checkpoint; the
    weight average where the run kept one (:func:`~flowsynth.train.checkpoint.evaluation_weights`).
    """
    checkpoint = load_checkpoint(path)
    model = build_model(checkpoint["model_spec"])
    weights, _ = evaluation_weights(checkpoint)
    model.load_state_dict(weights)
    return model.to(device).eval(), checkpoint


@torch.no_grad()
def predict_flow(model: nn.Module, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
    """``[B,3,H,W] x 2 in [0,1] -> [B,2,H,W]`` flow in pixels (any ``H``, ``W``)."""
    stride = int(getattr(model, "stride", 64))
    padded1, padding = pad_to_multiple(image1, stride)
    padded2, _ = pad_to_multiple(image2, stride)
    finest = model(padded1, padded2)[0]
    return unpad(
        full_resolution_flow(finest.float(), (padded1.shape[-2], padded1.shape[-1])), padding
    )


def batches(dataset: Dataset[Any], max_images: int | None, collate: Any) -> DataLoader[Any]:
    if max_images is not None:
        dataset = Subset(dataset, range(min(max_images, len(dataset))))  # type: ignore[arg-type]
    return DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0, collate_fn=collate)


def evaluate_flow(
    model: nn.Module | None,
    dataset: Dataset[Any],
    *,
    device: torch.device,
    max_images: int | None = None,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """``{"model": summary, "zero_flow": summary}`` (no ``model`` key when ``model`` is None).

    Summaries are :meth:`FlowMetrics.summary` dicts, pooled per pixel over the dataset.
    """
    metrics = {"zero_flow": FlowMetrics()}
    if model is not None:
        metrics["model"] = FlowMetrics()
    for batch in tqdm(batches(dataset, max_images, collate_flow), disable=not progress):
        flow = batch.flow[0].permute(1, 2, 0).numpy()
        valid = batch.valid[0].numpy()
        occlusion = batch.occlusion[0].numpy() if bool(batch.has_occlusion[0]) else None
        metrics["zero_flow"].add(np.zeros_like(flow), flow, valid, occlusion)
        if model is not None:
            image1, image2 = batch.image1.to(device), batch.image2.to(device)
            prediction = predict_flow(model, image1, image2)[0].permute(1, 2, 0).cpu().numpy()
            metrics["model"].add(prediction, flow, valid, occlusion)
    return {name: accumulator.summary() for name, accumulator in metrics.items()}
