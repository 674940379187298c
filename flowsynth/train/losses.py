"""Training losses as plain functions returning ``(loss, metrics)``.

- :func:`multiscale_epe`: FlowNet's multi-scale endpoint error, ground truth scaled by 1/20 and
  downsampled (masked area mean) to every prediction's size, masked by ``valid``.
- :func:`segmentation_loss`: U-Net's pixel-weighted cross-entropy (weights from
  :func:`flowsynth.deform.unet_weight_map`), optionally plus a soft Dice term.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from flowsynth.train.layers import FLOW_SCALE, full_resolution_flow

#: FlowNet's loss weights, finest (stride 4) to coarsest (stride 64).
FLOWNET_WEIGHTS = (0.005, 0.01, 0.02, 0.08, 0.32)


def downsample_flow(
    flow: torch.Tensor, valid: torch.Tensor, factor: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked block mean: ``[B,2,H,W], [B,H,W] -> [B,2,H/f,W/f], [B,H/f,W/f]`` (``f = factor``).

    A block is valid where any of its pixels is; its flow is the mean over its valid pixels
    (so sparse ground truth such as KITTI's is not diluted by zeros). Magnitudes are not
    rescaled (FlowNet's convention).
    """
    if factor == 1:
        return flow, valid
    weight = valid.to(flow.dtype).unsqueeze(1)
    total = F.avg_pool2d(flow * weight, factor)
    count = F.avg_pool2d(weight, factor)
    small = total / count.clamp_min(1e-12)
    return small, count.squeeze(1) > 0


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp_min(1)


def multiscale_epe(
    predictions: Sequence[torch.Tensor],
    flow: torch.Tensor,
    valid: torch.Tensor,
    *,
    weights: Sequence[float] = FLOWNET_WEIGHTS,
    reduction: str = "mean",
) -> tuple[torch.Tensor, dict[str, float]]:
    """FlowNet's multi-scale EPE loss: ``[B,2,H/s,W/s] x L, [B,2,H,W], [B,H,W] -> (loss, metrics)``.

    Parameters
    ----------
    predictions : finest first, in FLOW_SCALE units (see :mod:`flowsynth.train.layers`); the
        stride of each is inferred from its size and must divide ``H`` and ``W``.
    flow : ground truth in pixels; scaled by ``1 / FLOW_SCALE`` here.
    valid : where the ground truth counts.
    weights : one per prediction (FlowNet: 0.005 ... 0.32, finest to coarsest).
    reduction : ``'mean'``: each level's EPE averaged over its valid pixels (FlowNet);
        ``'sum'``: summed over valid pixels and averaged over the batch (PWC-Net), which weights
        fine levels by their pixel count.

    Returns
    -------
    loss : scalar tensor
    metrics : ``loss``, ``epe`` (full-resolution EPE of the finest prediction, pixels, over valid
        pixels of the batch), ``1px``/``3px``/``5px`` (share of valid pixels with EPE below).
    """
    if len(predictions) != len(weights):
        raise ValueError(f"{len(predictions)} predictions but {len(weights)} weights")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    height, width = flow.shape[-2:]
    target = flow / FLOW_SCALE
    loss = flow.new_zeros(())
    for prediction, weight in zip(predictions, weights, strict=True):
        factor = height // prediction.shape[-2]
        if factor * prediction.shape[-2] != height or factor * prediction.shape[-1] != width:
            raise ValueError(
                f"prediction {tuple(prediction.shape)} does not divide {height}x{width}"
            )
        small, small_valid = downsample_flow(target, valid, factor)
        epe = torch.linalg.vector_norm(prediction.float() - small, dim=1)
        mask = small_valid.to(epe.dtype)
        if reduction == "mean":
            level = _masked_mean(epe, mask)
        else:
            level = (epe * mask).sum() / flow.shape[0]
        loss = loss + weight * level
    return loss, flow_metrics(predictions[0], flow, valid, loss)


@torch.no_grad()
def flow_metrics(
    prediction: torch.Tensor, flow: torch.Tensor, valid: torch.Tensor, loss: torch.Tensor
) -> dict[str, float]:
    """Batch metrics of the finest prediction at full resolution (pixels, valid pixels only)."""
    full = full_resolution_flow(prediction.float(), (flow.shape[-2], flow.shape[-1]))
    epe = torch.linalg.vector_norm(full - flow, dim=1)[valid]
    count = max(int(epe.numel()), 1)
    return {
        "loss": float(loss.detach()),
        "epe": float(epe.sum()) / count,
        "1px": float((epe < 1).sum()) / count,
        "3px": float((epe < 3).sum()) / count,
        "5px": float((epe < 5).sum()) / count,
    }


def soft_dice(
    probabilities: torch.Tensor, label: torch.Tensor, known: torch.Tensor
) -> torch.Tensor:
    """Mean soft Dice over the foreground classes 1..K-1: ``[B,K,H,W], [B,H,W], [B,H,W] -> ()``."""
    classes = probabilities.shape[1]
    one_hot = F.one_hot(label.clamp_min(0), classes).permute(0, 3, 1, 2).to(probabilities.dtype)
    mask = known.unsqueeze(1).to(probabilities.dtype)
    p, t = probabilities[:, 1:] * mask, one_hot[:, 1:] * mask
    dims = (0, 2, 3)
    dice = (2 * (p * t).sum(dims) + 1) / (p.sum(dims) + t.sum(dims) + 1)
    return dice.mean()


def segmentation_loss(
    logits: torch.Tensor,
    label: torch.Tensor,
    weight: torch.Tensor | None = None,
    *,
    dice: float = 0.0,
    ignore_index: int = -1,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted cross-entropy (+ ``dice`` x (1 - soft Dice)): ``[B,K,H,W], [B,H,W] -> (loss, m)``.

    Parameters
    ----------
    logits : float [B,K,H,W]
    label : int64 [B,H,W], class indices; ``ignore_index`` where unknown.
    weight : float [B,H,W] per-pixel weights (U-Net weight map), or None for 1.
    dice : weight of the Dice term (0: cross-entropy only).

    The cross-entropy is ``sum(w * ce) / (number of known pixels)`` (the U-Net energy, averaged).
    Metrics: ``loss``, ``ce``, ``dice`` (soft, foreground classes), ``pixel_error``.
    """
    logits = logits.float()
    known = label != ignore_index
    ce = F.cross_entropy(logits, label.clamp_min(0), reduction="none")
    if weight is not None:
        ce = ce * weight
    ce = _masked_mean(ce, known.to(ce.dtype))
    probabilities = logits.softmax(dim=1)
    dice_value = soft_dice(probabilities, label, known)
    loss = ce + dice * (1 - dice_value) if dice > 0 else ce
    with torch.no_grad():
        wrong = (logits.argmax(dim=1) != label) & known
        pixel_error = float(wrong.sum()) / max(int(known.sum()), 1)
    metrics = {
        "loss": float(loss.detach()),
        "ce": float(ce.detach()),
        "dice": float(dice_value.detach()),
        "pixel_error": pixel_error,
    }
    return loss, metrics
