"""Contact sheets of rendered samples, for a person to look at."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from flowsynth.render.sample import Sample
from flowsynth.viz.pictures import contact_sheet, flow_to_color, label_to_color, mask_to_image

ELASTIC_COLUMNS = ("example", "deformed", "example label", "deformed label", "weight map", "flow")

COLUMNS = ("frame 1", "frame 2", "flow 1->2", "occlusion 1->2", "segmentation 1", "flow 2->1")


def preview_row(sample: Sample, max_magnitude: float | None = None) -> list[npt.NDArray[np.uint8]]:
    """Frame 1, frame 2, flow (Middlebury colours), occlusion, segmentation, backward flow."""
    return [
        sample.image1,
        sample.image2,
        flow_to_color(sample.flow, max_magnitude),
        mask_to_image(sample.occlusion),
        label_to_color(sample.segmentation1),
        flow_to_color(sample.flow_backward, max_magnitude),
    ]


def preview_sheet(samples: Sequence[Sample], *, scale: float = 0.5) -> npt.NDArray[np.uint8]:
    """``uint8 (h, w, 3)``: one row per sample, columns as in ``COLUMNS``."""
    return contact_sheet([preview_row(s) for s in samples], titles=list(COLUMNS), scale=scale)


def _weight_image(
    weight: npt.NDArray[np.float32] | None, shape: tuple[int, ...]
) -> npt.NDArray[np.uint8]:
    """A weight map scaled to ``uint8`` grey (its maximum white); black when there is none."""
    if weight is None:
        return np.zeros(shape[:2], np.uint8)
    top = max(float(weight.max()), 1e-6)
    return np.clip(weight / top * 255.0 + 0.5, 0, 255).astype(np.uint8)


def elastic_preview_sheet(
    examples: Sequence, samples: Sequence, *, scale: float = 0.5
) -> npt.NDArray[np.uint8]:
    """One row per deformed 2D pair: source, deformed image, both labels, weight map, flow."""
    rows = []
    for example, sample in zip(examples, samples, strict=True):
        rows.append(
            [
                _grey8(example.image),
                _grey8(sample.image),
                label_to_color(example.label),
                label_to_color(sample.label),
                _weight_image(sample.weight, sample.label.shape),
                flow_to_color(sample.flow),
            ]
        )
    return contact_sheet(rows, titles=list(ELASTIC_COLUMNS), scale=scale)


def _grey8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    if image.dtype == np.uint8:
        return image.astype(np.uint8, copy=False)
    top = max(float(image.max()), 1e-6)
    return np.clip(image.astype(np.float32) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
