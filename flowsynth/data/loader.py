"""A DataLoader set up for flow examples: the collate function and a seeded generator."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from flowsynth.data.example import FlowExample, collate_flow


def make_loader(
    dataset: Dataset[FlowExample],
    *,
    batch_size: int,
    num_workers: int = 0,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    **options: Any,
) -> DataLoader[FlowExample]:
    """A DataLoader yielding batched :class:`FlowExample` s, ``(B, C, H, W)``.

    Parameters
    ----------
    shuffle : bool
        Shuffle the order with a torch generator seeded by ``seed`` (the trainer's seed, apart
        from the data's); the items themselves do not depend on the order.
    seed : int
        Seeds the loader's own generator, which DataLoader draws its workers' base seed from at
        every epoch even without shuffling; without it, DataLoader would advance torch's global
        RNG (and so change the model's initialisation in a trainer).
    **options
        Passed to ``DataLoader`` (``pin_memory``, ``prefetch_factor``, ...).

    Workers are not persistent (the default), so ``dataset.set_epoch`` reaches them. No
    ``worker_init_fn``: DataLoader already gives each worker one torch thread, and calling
    ``cv2.setNumThreads`` in a forked worker after the parent used OpenCV's thread pool hangs.
    """
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate_flow,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(seed),
        **options,
    )
