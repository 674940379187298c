"""Evaluation dataset specs -> datasets (an adapter over :func:`flowsynth.data.resolve_dataset`).

Flow specs: everything ``resolve_dataset`` takes (``middlebury``, ``kitti2012=ROOT``,
``recipe:NAME``, ...) plus the aliases ``chairs`` (FlyingChairs), ``sintel-clean``,
``sintel-final`` (Sintel training passes) and ``kitti`` (KITTI 2015). A recipe is rendered for
``recipe_count`` samples with ``recipe_seed`` (by default not the training seed 0). Datasets are
read whole, without augmentation.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads only when a dataset is resolved
    from torch.utils.data import Dataset

#: alias -> (resolve_dataset name, options)
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "chairs": ("flyingchairs", {}),
    "sintel-clean": ("sintel", {"pass_name": "clean"}),
    "sintel-final": ("sintel", {"pass_name": "final"}),
    "kitti": ("kitti2015", {}),
}
DEFAULT_RECIPE_SEED = 1_000_003
DEFAULT_RECIPE_COUNT = 32


def resolve_flow_dataset(
    spec: str,
    data_root: str | os.PathLike[str] | None = None,
    *,
    recipe_seed: int = DEFAULT_RECIPE_SEED,
    recipe_count: int = DEFAULT_RECIPE_COUNT,
) -> Dataset[Any]:
    """The flow dataset a spec names (see the module docstring)."""
    from flowsynth.data.resolve import RECIPE_PREFIX, resolve_dataset

    if spec.startswith(RECIPE_PREFIX):
        return resolve_dataset(spec, data_root, seed=recipe_seed, length=recipe_count)
    name, separator, path = spec.partition("=")
    key = name.strip().lower()
    if key in ALIASES:
        real, options = ALIASES[key]
        return resolve_dataset(f"{real}{separator}{path}", data_root, **options)
    return resolve_dataset(spec, data_root)
