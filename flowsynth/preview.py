"""Contact sheets of rendered samples, for a person to look at."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from flowsynth.render.sample import Sample
from flowsynth.viz import contact_sheet, flow_to_color, label_to_color, mask_to_image

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
