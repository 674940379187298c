"""Dataset specs -> datasets: ``middlebury``, ``sintel=/data/Sintel``, ``recipe:ablation/boxes``.

Machine-specific paths come from the ``data_root`` argument or ``$FLOWSYNTH_DATA_ROOT`` (one
folder per dataset, each in its standard layout), or from the spec itself (``name=PATH``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from flowsynth.data.datasets import (
    HD1K,
    EpochDataset,
    FlyingChairs,
    FlyingChairs2,
    Kitti,
    Middlebury,
    ProceduralFlowDataset,
    Sintel,
    open_flowsynth,
)
from flowsynth.data.names import FOLDERS, FORMS, RECIPE_PREFIX, canonical
from flowsynth.recipe.load import load_flow_recipe

DATA_ROOT_VARIABLE = "FLOWSYNTH_DATA_ROOT"

#: Dataset name (of :data:`flowsynth.data.names.FOLDERS`) -> the class that reads it.
READERS: dict[str, Callable[..., EpochDataset]] = {
    "middlebury": Middlebury,
    "sintel": Sintel,
    "kitti2012": partial(Kitti, year=2012),
    "kitti2015": partial(Kitti, year=2015),
    "flyingchairs": FlyingChairs,
    "flyingchairs2": FlyingChairs2,
    "hd1k": HD1K,
    "flowsynth": open_flowsynth,
}


def data_root_path(data_root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``data_root`` if given, else ``$FLOWSYNTH_DATA_ROOT``.

    Raises
    ------
    FileNotFoundError
        Neither is set, or the folder does not exist.
    """
    if data_root is None:
        value = os.environ.get(DATA_ROOT_VARIABLE)
        if not value:
            raise FileNotFoundError(
                "no data root: give --data-root DIR (the data_root argument) or set "
                f"{DATA_ROOT_VARIABLE} to the folder holding one subfolder per dataset, or give "
                "the dataset's path as NAME=PATH"
            )
        data_root = value
    root = Path(data_root)
    if not root.is_dir():
        raise FileNotFoundError(f"the data root {os.fspath(root)!r} is not a folder")
    return root


def spec_root(
    spec: str, name: str, folder: str | None, data_root: str | os.PathLike[str] | None = None
) -> tuple[Path, bool]:
    """``(root, under the data root)`` of a dataset spec ``NAME`` or ``NAME=PATH`` of the
    dataset ``name``, whose folder under the data root is ``folder`` (None: it has none, a path
    must be given).

    Raises
    ------
    ValueError
        An empty path after ``=``, or no path for a name without a folder.
    FileNotFoundError
        No data root (:func:`data_root_path`).
    """
    _, separator, path = spec.partition("=")
    if separator:
        if not path:
            raise ValueError(f"dataset spec {spec!r} has an empty path after '='")
        return Path(path).expanduser(), False
    if folder is None:
        raise ValueError(f"dataset {name!r} has no folder under the data root; give {name}=PATH")
    return data_root_path(data_root) / folder, True


def resolve_dataset(
    spec: str, data_root: str | os.PathLike[str] | None = None, **options: Any
) -> EpochDataset:
    """The dataset a spec names (every one has ``set_epoch`` and ``len``).

    Parameters
    ----------
    spec : str
        ``NAME`` (``<data_root>/<folder>``, folders: ``middlebury/``, ``sintel/``,
        ``kitti2012/``, ``kitti2015/``, ``flyingchairs/``, ``flyingchairs2/``, ``hd1k/``; or an
        alias of :data:`ALIASES`: ``chairs``, ``sintel-clean``, ``sintel-final``, ``kitti``),
        ``NAME=PATH`` (its own folder; ``flowsynth=PATH`` for a generated dataset, files or
        shards), or
        ``recipe:RECIPE`` (a built-in recipe name such as ``ablation/boxes``, or a recipe file)
        for samples rendered on the fly.
    data_root : path | None
        Folder with one subfolder per dataset; default ``$FLOWSYNTH_DATA_ROOT``.
    **options
        Passed to the dataset's class: ``augment``, ``seed`` and reader options (``split``,
        ``pass_name``, ...); for recipes also ``length``, ``overrides`` (``["size=[96,128]"]``)
        and ``texture_images``. Unknown options raise ``TypeError``.

    Raises
    ------
    ValueError
        An unknown name or a malformed spec.
    FileNotFoundError
        No data root, or the folder does not hold the expected layout (the message shows it).
    """
    if spec.startswith(RECIPE_PREFIX):
        return _recipe_dataset(spec[len(RECIPE_PREFIX) :], **options)
    name, variant = canonical(spec.partition("=")[0])
    if name not in READERS:
        raise ValueError(f"unknown dataset {spec!r}; give {FORMS}")
    options = {**variant, **options}
    folder, factory = FOLDERS[name], READERS[name]
    root, in_data_root = spec_root(spec, name, folder, data_root)
    if in_data_root:
        if not root.is_dir():
            raise FileNotFoundError(
                f"{name}: no folder {os.fspath(root)!r} in the data root; put the dataset there "
                f"in its standard layout, or give its path as {name}=PATH"
            )
    return factory(root, **options)


def _recipe_dataset(
    recipe_name: str, *, overrides: tuple[str, ...] | list[str] = (), **options: Any
) -> ProceduralFlowDataset:
    if not recipe_name:
        raise ValueError(f"empty recipe in spec {RECIPE_PREFIX!r}; e.g. recipe:ablation/boxes")
    options.setdefault("name", f"{RECIPE_PREFIX}{recipe_name}")
    return ProceduralFlowDataset(load_flow_recipe(recipe_name, overrides), **options)
