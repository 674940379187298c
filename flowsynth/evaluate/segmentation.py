"""Run a trained segmentation model over a dataset of image/label pairs and accumulate the
metrics (whole images, padded to the model's stride and cut back)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, default_collate
from tqdm import tqdm

from flowsynth.evaluate.flow import batches
from flowsynth.evaluate.padding import pad_to_multiple, unpad
from flowsynth.evaluate.segmetrics import SegmentationMetrics


@torch.no_grad()
def evaluate_segmentation(
    model: nn.Module,
    dataset: Dataset[Any],
    *,
    classes: int,
    device: torch.device,
    max_images: int | None = None,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """``{"model": SegmentationMetrics.summary()}`` over whole images (padded, then cut)."""
    metrics = SegmentationMetrics(classes)
    stride = int(getattr(model, "stride", 16))
    for batch in tqdm(batches(dataset, max_images, default_collate), disable=not progress):
        image, padding = pad_to_multiple(batch.image.to(device), stride)
        prediction = unpad(model(image).argmax(dim=1), padding)
        metrics.add(prediction[0].cpu().numpy(), batch.label[0].numpy())
    return {"model": metrics.summary()}
