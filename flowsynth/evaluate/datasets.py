"""Evaluation dataset specs -> datasets (an adapter over :func:`flowsynth.data.resolve_dataset`).

Flow specs: everything ``resolve_dataset`` takes (``middlebury``, ``kitti2012=ROOT``,
``recipe:NAME``, and the aliases of ``flowsynth.data.resolve.ALIASES`` such as ``chairs`` or
``sintel-clean``). A recipe is rendered for
``recipe_count`` samples with ``recipe_seed`` (by default not the training seed 0). Datasets are
read whole, without augmentation. ``scale < 1`` wraps the dataset in :class:`RescaledDataset`:
every pair is downsampled by :func:`flowsynth.data.rescale.rescale_pair` before it becomes
tensors.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flowsynth.data.rescale import check_scale, rescale_pair

if TYPE_CHECKING:  # torch loads only when a dataset is resolved
    from torch.utils.data import Dataset

    from flowsynth.data.datasets import EpochDataset
    from flowsynth.data.example import FlowExample

DEFAULT_RECIPE_SEED = 1_000_003
DEFAULT_RECIPE_COUNT = 32


def resolve_flow_dataset(
    spec: str,
    data_root: str | os.PathLike[str] | None = None,
    *,
    recipe_seed: int = DEFAULT_RECIPE_SEED,
    recipe_count: int = DEFAULT_RECIPE_COUNT,
    scale: float = 1.0,
) -> Dataset[Any]:
    """The flow dataset a spec names (see the module docstring), resized by ``scale``.

    ``0 < scale <= 1``; ``1`` returns the dataset itself, smaller values a
    :class:`RescaledDataset` over it. ``ValueError`` for any other ``scale``.
    """
    # data.resolve loads torch: this module stays light until a dataset is resolved.
    from flowsynth.data.resolve import RECIPE_PREFIX, resolve_dataset

    scale = check_scale(scale)
    if spec.startswith(RECIPE_PREFIX):
        dataset = resolve_dataset(spec, data_root, seed=recipe_seed, length=recipe_count)
    else:
        dataset = resolve_dataset(spec, data_root)
    return dataset if scale == 1.0 else RescaledDataset(dataset, scale)  # type: ignore[return-value]


class RescaledDataset:
    """``dataset`` with every pair downsampled by ``scale`` (map-style: ``len`` and items).

    Item ``i`` is item ``i`` of ``dataset`` (same ``sample_index`` and name), its
    :class:`~flowsynth.data.flowpair.FlowPair` passed through
    :func:`~flowsynth.data.rescale.rescale_pair` before augmentation (if the dataset has any)
    and conversion to tensors. A plain class (torch's ``DataLoader`` takes any object with
    ``__len__`` and ``__getitem__``), so this module imports without torch.
    """

    def __init__(self, dataset: EpochDataset, scale: float) -> None:
        # data.datasets loads torch: this module stays light until a dataset is made.
        from flowsynth.data.datasets import FileFlowDataset, ProceduralFlowDataset

        if not isinstance(dataset, FileFlowDataset | ProceduralFlowDataset):
            raise TypeError(f"cannot rescale a {type(dataset).__name__}")
        self.dataset = dataset
        self.scale = check_scale(scale)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: int) -> FlowExample:
        from flowsynth.data.datasets import ProceduralFlowDataset  # loads torch: kept lazy

        base = self.dataset
        item = base.position(item)
        # File datasets read pair ``item``; recipes render sample ``epoch * len + item``, as
        # their own ``__getitem__`` does.
        index = base.global_index(item) if isinstance(base, ProceduralFlowDataset) else item
        return base.finish(rescale_pair(base.pair(index), self.scale), item, index)
