"""Run a segmentation model over a dataset of image/label pairs and accumulate the metrics
(whole images, padded to the model's stride and cut back)."""

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
    """``{"model": SegmentationMetrics.summary()}`` over whole images (padded, then cut).

    Two-class models also pass the softmax probability of class 1, for the AUC. The model runs
    in eval mode and is left in the mode it came in, so a trainer may call this between steps.
    """
    metrics = SegmentationMetrics(classes)
    stride = int(getattr(model, "stride", 16))
    training = model.training
    model.eval()
    try:
        for batch in tqdm(batches(dataset, max_images, default_collate), disable=not progress):
            image, padding = pad_to_multiple(batch.image.to(device), stride)
            logits = unpad(model(image), padding)
            probability = None
            if classes == 2:
                probability = logits.float().softmax(dim=1)[0, 1].cpu().numpy()
            prediction = logits.argmax(dim=1)[0].cpu().numpy()
            metrics.add(prediction, batch.label[0].numpy(), probability)
    finally:
        model.train(training)
    return {"model": metrics.summary()}
