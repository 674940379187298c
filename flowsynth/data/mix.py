"""Weighted mixtures of datasets (3 parts recipe A + 1 part recipe B), deterministic per item.

Item ``i`` at epoch ``e`` draws its source ``k`` (with probability proportional to its weight)
and an item ``j`` of that source from ``sample_rng(seed, e * len + i, Stream.MIX)``: the same for
any number of workers, any order and any machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from torch.utils.data import Dataset

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.data.datasets import EpochDataset
from flowsynth.data.example import FlowExample


def sample_source(
    weights: npt.NDArray[np.float64], sizes: Sequence[int], *, rng: np.random.Generator
) -> tuple[int, int]:
    """Draw ``(source, item)``: a source by weight (``float64 (K,)``, sums to 1), an item of it."""
    source = int(rng.choice(len(weights), p=weights))
    return source, int(rng.integers(0, sizes[source]))


class MixedDataset(EpochDataset):
    """A weighted mixture of flow datasets.

    Parameters
    ----------
    parts : sequence of (Dataset, weight)
        Each a map-style dataset of :class:`FlowExample` with ``len() > 0`` and its weight > 0.
        Weights need not sum to 1: ``[(chairs, 3), (sintel, 1)]``.
    seed : int
        Seed of the source draws (stream ``MIX``).
    length : int | None
        Items per epoch; default the total length of the parts.

    ``set_epoch`` draws new sources and passes the epoch on to every part that has
    ``set_epoch`` (procedural parts render new samples, augmentation draws anew).
    """

    def __init__(
        self,
        parts: Sequence[tuple[Dataset[FlowExample], float]],
        *,
        seed: int = 0,
        length: int | None = None,
    ) -> None:
        if not parts:
            raise ValueError("a mixture needs at least one (dataset, weight) part")
        weights = np.array([float(weight) for _, weight in parts])
        sizes = [len(dataset) for dataset, _ in parts]  # type: ignore[arg-type]
        if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
            raise ValueError(f"mixture weights must be finite and > 0, got {weights.tolist()}")
        if min(sizes) < 1:
            raise ValueError(f"every part of a mixture needs items, got lengths {sizes}")
        super().__init__(sum(sizes) if length is None else int(length), augment=None, seed=seed)
        self.datasets = [dataset for dataset, _ in parts]
        self.weights = weights / weights.sum()
        self.sizes = sizes

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch`` (>= 0) here and in every part that has ``set_epoch``."""
        super().set_epoch(epoch)
        for dataset in self.datasets:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)

    def source_of(self, item: int) -> tuple[int, int]:
        """``(part, item within the part)`` of ``item`` at the current epoch."""
        rng = sample_rng(self.seed, self.global_index(item), Stream.MIX)
        return sample_source(self.weights, self.sizes, rng=rng)

    def __getitem__(self, item: int) -> FlowExample:
        part, inner = self.source_of(item)
        return self.datasets[part][inner]
