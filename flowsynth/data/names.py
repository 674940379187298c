"""The one table of dataset names: each dataset's folder under the data root, the aliases of
its variants, and the real benchmarks an evaluation looks for. numpy- and torch-free, so the
command line can name them in its help without importing a dataset.
"""

from __future__ import annotations

from typing import Any

#: Dataset name -> its folder under the data root (None: it has none, a path is required).
FOLDERS: dict[str, str | None] = {
    "middlebury": "middlebury",
    "sintel": "sintel",
    "kitti2012": "kitti2012",
    "kitti2015": "kitti2015",
    "flyingchairs": "flyingchairs",
    "flyingchairs2": "flyingchairs2",
    "hd1k": "hd1k",
    "flowsynth": None,
}

#: Other names of a dataset, or of one of its variants: alias -> (dataset name, options).
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "chairs": ("flyingchairs", {}),
    "sintel-clean": ("sintel", {"pass_name": "clean"}),
    "sintel-final": ("sintel", {"pass_name": "final"}),
    "kitti": ("kitti2015", {}),
}

#: The real benchmarks an evaluation looks for under the data root, each by the name its column
#: of a results table carries.
BENCHMARKS = ("middlebury", "kitti2012", "kitti2015", "sintel-clean", "flyingchairs")

RECIPE_PREFIX = "recipe:"

FORMS = (
    "NAME (a folder under the data root), NAME=PATH, or recipe:RECIPE (a recipe name or file); "
    f"names: {', '.join([*FOLDERS, *ALIASES])}"
)


def canonical(name: str) -> tuple[str, dict[str, Any]]:
    """``(dataset name, options)`` of a name or alias (``chairs`` -> ``flyingchairs``)."""
    key = name.strip().lower()
    real, options = ALIASES.get(key, (key, {}))
    return real, dict(options)


def dataset_folder(name: str) -> str | None:
    """The folder a dataset name or alias reads under the data root (None: it needs a path)."""
    real, _ = canonical(name)
    if real not in FOLDERS:
        raise ValueError(f"unknown dataset {name!r}; give {FORMS}")
    return FOLDERS[real]
