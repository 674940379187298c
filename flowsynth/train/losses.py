"""Training losses as plain functions returning ``(loss, metrics)``.

- :func:`multiscale_epe`: FlowNet's multi-scale endpoint error, ground truth scaled by 1/20 and
  downsampled (masked area mean) to every prediction's size, masked by ``valid``.
- :func:`segmentation_loss`: U-Net's pixel-weighted cross-entropy (weights from
  :func:`flowsynth.deform.unet_weight_map`), optionally plus a soft Dice term.
- :func:`stereo_loss`: smooth L1 of full-resolution disparities on valid pixels (PSMNet's),
  plus a cross-entropy of the cost volume's candidates.
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


#: Weights of a stereo model's predictions, refined first (PSMNet weighs its outputs alike).
STEREO_WEIGHTS = (1.0, 0.5)
#: KITTI's D1 outliers: error above 3 px and above 5 % of the true disparity.
D1_PIXELS = 3.0
D1_RELATIVE = 0.05


def candidate_cross_entropy(
    cost: torch.Tensor, disparity: torch.Tensor, valid: torch.Tensor, *, max_disparity: float
) -> torch.Tensor:
    """Cross-entropy of ``softmax(-cost)`` over the candidates against the true disparity:
    ``[B,D,h,w], [B,H,W], [B,H,W] -> ()``; candidate ``k`` is disparity ``k H / h`` pixels.

    The truth is block-averaged over its valid pixels to ``h x w`` (as
    :func:`downsample_flow`), divided by the stride, and split between its two neighbouring
    candidates by linear weights; blocks without valid pixels, or at or beyond
    ``max_disparity``, are left out. It points the matching scores at the right candidate
    directly, which the soft-argmin's regression does only through an expectation.
    """
    factor = disparity.shape[-2] // cost.shape[-2]
    small, small_valid = downsample_flow(disparity.unsqueeze(1), valid, factor)
    index = small.squeeze(1) / factor
    keep = small_valid & (small.squeeze(1) < max_disparity) & (index <= cost.shape[1] - 1)
    index = index.clamp(0, cost.shape[1] - 1)
    low = index.floor().long()
    high = (low + 1).clamp_max(cost.shape[1] - 1)
    upper = index - low.to(index.dtype)
    log_p = F.log_softmax(-cost.float(), dim=1)
    picked = (1 - upper) * log_p.gather(1, low.unsqueeze(1)).squeeze(1)
    picked = picked + upper * log_p.gather(1, high.unsqueeze(1)).squeeze(1)
    return _masked_mean(-picked, keep.to(picked.dtype))


def stereo_loss(
    predictions: Sequence[torch.Tensor],
    disparity: torch.Tensor,
    valid: torch.Tensor,
    *,
    max_disparity: float,
    weights: Sequence[float] = STEREO_WEIGHTS,
    cross_entropy: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted smooth L1 (``beta = 1`` px) plus a candidate cross-entropy:
    ``([B,H,W] x L, [B,D,h,w]), [B,H,W], [B,H,W] -> (loss, metrics)``.

    ``predictions``: the disparities (refined first, one weight each in ``weights``), then the
    cost volume (:class:`~flowsynth.train.stereo_net.StereoOutput`). Each disparity's mean smooth
    L1 over the pixels that are ``valid`` with a true disparity below ``max_disparity`` (beyond it
    the model has no candidate), weighted; plus ``cross_entropy`` times
    :func:`candidate_cross_entropy` of the cost volume.

    Metrics (first prediction, same pixels): ``loss``, ``ce``, ``epe`` (mean absolute error,
    px), ``d1`` (share of pixels with error > 3 px and > 5 % of the truth), ``bad1`` / ``bad3``
    (shares with error > 1 / 3 px).
    """
    *disparities, cost = predictions
    if len(disparities) != len(weights):
        raise ValueError(f"{len(disparities)} disparities but {len(weights)} weights")
    mask = valid & (disparity < max_disparity)
    loss = disparity.new_zeros(())
    for prediction, weight in zip(disparities, weights, strict=True):
        error = F.smooth_l1_loss(prediction.float(), disparity, reduction="none", beta=1.0)
        loss = loss + weight * _masked_mean(error, mask.to(error.dtype))
    ce = candidate_cross_entropy(cost, disparity, valid, max_disparity=max_disparity)
    loss = loss + cross_entropy * ce
    with torch.no_grad():
        error = (disparities[0].float() - disparity).abs()[mask]
        truth = disparity[mask]
        count = max(int(error.numel()), 1)
        outliers = (error > D1_PIXELS) & (error > D1_RELATIVE * truth)
        metrics = {
            "loss": float(loss.detach()),
            "ce": float(ce.detach()),
            "epe": float(error.sum()) / count,
            "d1": float(outliers.sum()) / count,
            "bad1": float((error > 1).sum()) / count,
            "bad3": float((error > 3).sum()) / count,
        }
    return loss, metrics
