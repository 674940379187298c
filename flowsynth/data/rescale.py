"""Resize a :class:`~flowsynth.data.flowpair.FlowPair` by a factor ``0 < scale <= 1`` (numpy + cv2).

Used by ``flowsynth evaluate --scale S`` to evaluate at a lower resolution. No torch.

Rule
----
The output is ``(round(H * scale), round(W * scale))`` (half up, at least 1 x 1). Every field
is area-resampled with ``cv2.INTER_AREA`` (each output pixel covers a ``1/scale`` x ``1/scale``
window of input pixels, partly covered pixels weighted by their covered area):

- images: area average (``cv2.INTER_AREA``), same dtype.
- ``valid``: an output pixel is valid where **at least half** of the input area it covers is
  valid (``valid_weight >= 0.5``).
- ``flow``: the valid-weighted area average ``sum(flow * valid) / sum(valid)`` over the covered
  input area (invalid pixels never contribute, whatever they hold, NaN included), then
  multiplied by the size ratio of its axis: ``u * W_out / W``, ``v * H_out / H`` (both equal
  ``scale`` up to the rounding of the output size). 0 where not valid.
- ``occlusion``: the same valid-weighted area average of the occlusion mask; occluded where at
  least half of the covered *valid* area is occluded, and only at valid output pixels. Kept all
  False when the pair has no occlusion.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from flowsynth.data.flowpair import FlowPair

#: Share of an output pixel's input area that must be valid (occluded) for it to be valid
#: (occluded).
VALID_SHARE = 0.5
OCCLUDED_SHARE = 0.5


def check_scale(scale: float) -> float:
    """``scale`` as a float if ``0 < scale <= 1``, else ``ValueError``."""
    value = float(scale)
    if not 0.0 < value <= 1.0:  # NaN fails too
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    return value


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """``(round(height * scale), round(width * scale))``, rounded half up, at least 1 each."""
    scale = check_scale(scale)
    return (
        max(1, math.floor(height * scale + 0.5)),
        max(1, math.floor(width * scale + 0.5)),
    )


def _area(array: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """``(H, W[, C]) -> (h, w[, C])`` by ``cv2.INTER_AREA`` (channels kept even when 1)."""
    height, width = size
    resized = cv2.resize(array, (width, height), interpolation=cv2.INTER_AREA)
    if array.ndim == 3 and resized.ndim == 2:
        resized = resized[..., None]
    return resized


def rescale_pair(pair: FlowPair, scale: float) -> FlowPair:
    """Downsample ``pair`` by ``scale`` (``0 < scale <= 1``) with the rule of the module docstring.

    Parameters
    ----------
    pair : FlowPair
        Images ``uint8`` or ``float32 (H, W, 3)``, flow ``float32 (H, W, 2)`` ``(u, v)`` =
        (x right, y down) in pixels, ``valid`` and ``occlusion`` ``bool (H, W)``.
    scale : float
        ``0 < scale <= 1``. ``1`` returns ``pair`` itself (the same arrays).

    Returns
    -------
    FlowPair
        Images of the input dtype ``(h, w, 3)``, flow ``float32 (h, w, 2)`` in output pixels
        (0 where not valid), ``bool (h, w)`` masks, with ``(h, w) = scaled_size(H, W, scale)``;
        ``has_occlusion`` and ``name`` unchanged.

    Raises
    ------
    ValueError
        ``scale`` outside ``(0, 1]``.
    """
    scale = check_scale(scale)
    if scale == 1.0:
        return pair
    height, width = pair.shape
    size = scaled_size(height, width, scale)
    valid = np.asarray(pair.valid, bool)
    weight = valid.astype(np.float64)
    flow = np.where(valid[..., None], pair.flow.astype(np.float64), 0.0)
    occluded = (np.asarray(pair.occlusion, bool) & valid).astype(np.float64)
    # One resize of (flow * valid, valid, occluded & valid): the same weights for every field.
    stacked = np.concatenate([flow, weight[..., None], occluded[..., None]], axis=-1)
    resized = _area(np.ascontiguousarray(stacked), size)
    valid_weight = resized[..., 2]
    out_valid = valid_weight >= VALID_SHARE - 1e-9  # float error of the area weights
    safe = np.where(out_valid, valid_weight, 1.0)
    mean_flow = resized[..., :2] / safe[..., None]
    mean_flow[..., 0] *= size[1] / width
    mean_flow[..., 1] *= size[0] / height
    out_flow = np.where(out_valid[..., None], mean_flow, 0.0).astype(np.float32)
    out_occlusion = out_valid & (resized[..., 3] / safe >= OCCLUDED_SHARE - 1e-9)
    return replace(
        pair,
        image1=_area(pair.image1, size),
        image2=_area(pair.image2, size),
        flow=out_flow,
        valid=out_valid,
        occlusion=out_occlusion if pair.has_occlusion else np.zeros(size, bool),
    )
