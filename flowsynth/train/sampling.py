"""The training order as a pure function of ``(data_seed, step)``: resuming needs no loader state.

Position ``p = step * batch + b`` of the run falls in epoch ``e = p // len`` at slot
``j = p % len`` and reads item ``order(data_seed, e)[j]`` of the dataset at epoch ``e``
(procedural datasets render new samples every epoch, file datasets draw new augmentations).
The permutation comes from a ``torch.Generator`` seeded from ``SeedSequence(data_seed,
spawn_key=(e,))``; nothing global is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def epoch_order(data_seed: int, epoch: int, length: int) -> torch.Tensor:
    """``int64 (length,)``: the permutation of items in epoch ``epoch``."""
    state = np.random.SeedSequence(int(data_seed), spawn_key=(int(epoch),)).generate_state(2)
    seed = int(state[0]) << 32 | int(state[1])
    return torch.randperm(length, generator=torch.Generator().manual_seed(seed & (2**63 - 1)))


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of ``(epoch, item)`` for steps ``start_step .. steps - 1``.

    Parameters
    ----------
    length : items per epoch of the dataset.
    batch : items per step.
    data_seed : seed of the order.
    start_step, steps : the half-open range of steps to yield.
    """

    def __init__(
        self, length: int, *, batch: int, data_seed: int, start_step: int, steps: int
    ) -> None:
        if length < 1:
            raise ValueError("cannot train on an empty dataset")
        self.length = length
        self.batch = batch
        self.data_seed = data_seed
        self.start_step = start_step
        self.steps = steps
        self._orders: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return max(self.steps - self.start_step, 0)

    def item_at(self, position: int) -> tuple[int, int]:
        """``(epoch, item)`` read at run position ``position``."""
        epoch, slot = divmod(position, self.length)
        if epoch not in self._orders:
            self._orders = {epoch: epoch_order(self.data_seed, epoch, self.length)}
        return epoch, int(self._orders[epoch][slot])

    def batch_at(self, step: int) -> list[tuple[int, int]]:
        """The ``(epoch, item)`` pairs of step ``step``."""
        return [self.item_at(step * self.batch + b) for b in range(self.batch)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.steps):
            yield self.batch_at(step)


class EpochItems(Dataset[Any]):
    """``dataset[(epoch, item)]``: sets the epoch (when the dataset has one), then reads.

    Each DataLoader worker holds its own copy of the dataset, and a worker reads one index at a
    time, so setting the epoch per read is safe and no state outlives the read.
    """

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: tuple[int, int]) -> Any:
        epoch, item = index
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        return self.dataset[item]
