"""Held-out measurements during segmentation training: a :class:`~flowsynth.train.loop.HeldOut`
that evaluates whole held-out images (IoU, Rand error, AUC) every few steps, for the learning
curves in ``log.csv``."""

from __future__ import annotations

import os
from collections.abc import Sequence

from torch import nn

from flowsynth.evaluate.segmentation import evaluate_segmentation
from flowsynth.train.build import resolve_device
from flowsynth.train.loop import HeldOut

#: What a segmentation run logs of its held-out images (``heldout_<name>`` columns).
HELD_OUT_METRICS = ("iou", "rand_error", "auc")


def segmentation_held_out(
    spec: str,
    *,
    train_spec: str,
    every: int,
    data_root: str | os.PathLike[str] | None = None,
    device: str = "auto",
    max_images: int | None = None,
    metrics: Sequence[str] = HELD_OUT_METRICS,
) -> HeldOut:
    """Measure the pairs ``spec`` names every ``every`` steps, with the classes of the training
    pairs ``train_spec`` names (the order the model predicts them in).

    Raises ``ValueError`` when the held-out labels hold values the training labels do not.
    """
    # data.segmentation loads the deform kernels (numba): only segmentation runs need them.
    from flowsynth.data.segmentation import (
        SegmentationDataset,
        label_values,
        load_segmentation_pairs,
    )

    values = label_values(load_segmentation_pairs(train_spec, data_root))
    pairs = load_segmentation_pairs(spec, data_root)
    unknown = sorted(set(label_values(pairs)) - set(values))
    if unknown:
        raise ValueError(
            f"the held-out labels of {spec!r} hold values {unknown} that the training labels of "
            f"{train_spec!r} do not ({values})"
        )
    dataset = SegmentationDataset(pairs, values=values)
    torch_device = resolve_device(device)
    columns = tuple(metrics)

    def measure(model: nn.Module) -> dict[str, float | None]:
        summary = evaluate_segmentation(
            model, dataset, classes=len(values), device=torch_device, max_images=max_images
        )["model"]
        return {name: summary.get(name) for name in columns}

    return HeldOut(every, columns, measure)


__all__ = ["HELD_OUT_METRICS", "segmentation_held_out"]
