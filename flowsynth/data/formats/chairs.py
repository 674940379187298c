"""FlyingChairs, FlyingChairs2 and flowsynth's own per-file layout (FlyingChairs2-style)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowsynth.data.flowpair import (
    PairFiles,
    check_choice,
    layout_of,
    missing_layout,
    require_dir,
    require_pairs,
)
from flowsynth.io import FileFormatError


def list_flying_chairs(root: str | Path, *, split: str = "all") -> list[PairFiles]:
    """FlyingChairs (Dosovitskiy et al. 2015): ``.ppm`` frames and ``.flo`` flow, no occlusion.

    Expected tree::

        ROOT/
          data/
            00001_img1.ppm, 00001_img2.ppm, 00001_flow.flo
            00002_img1.ppm, ...
          FlyingChairs_train_val.txt   only for split "train"/"val": 1 train, 2 val per line

    Parameters
    ----------
    root : str | Path
        The folder holding ``data/``.
    split : {"all", "train", "val"}
    """
    check_choice("split", split, ("all", "train", "val"))
    root, layout = Path(root), layout_of(list_flying_chairs)
    data = require_dir("FlyingChairs", root, layout, "data")
    stems = sorted(p.name[: -len("_img1.ppm")] for p in data.glob("*_img1.ppm"))
    pairs = [
        PairFiles(
            f"flyingchairs/{stem}",
            data / f"{stem}_img1.ppm",
            data / f"{stem}_img2.ppm",
            flow=data / f"{stem}_flow.flo",
        )
        for stem in stems
    ]
    if split != "all":
        split_file = root / "FlyingChairs_train_val.txt"
        if not split_file.is_file():
            raise missing_layout(
                "FlyingChairs", root, layout, f"split {split!r} needs {split_file}"
            )
        labels = split_file.read_text().split()
        if len(labels) != len(pairs):
            raise FileFormatError(
                split_file, f"{len(labels)} lines, but {data} holds {len(pairs)} pairs"
            )
        wanted = "1" if split == "train" else "2"
        pairs = [pair for pair, label in zip(pairs, labels, strict=True) if label == wanted]
    return require_pairs("FlyingChairs", root, layout, pairs)


def _per_file_pairs(
    dataset: str, folder: Path, root: Path, layout: str, prefix: str, backward: bool
) -> list[PairFiles]:
    """Pairs of the ``{i:07d}-img_0.png`` layout in ``folder``."""
    first, second, direction = ("img_1", "img_0", "10") if backward else ("img_0", "img_1", "01")
    indices = sorted(p.name[: -len("-img_0.png")] for p in folder.glob("*-img_0.png"))
    pairs = [
        PairFiles(
            f"{prefix}/{index}",
            folder / f"{index}-{first}.png",
            folder / f"{index}-{second}.png",
            flow=folder / f"{index}-flow_{direction}.flo",
            occlusion=folder / f"{index}-occ_{direction}.png",
        )
        for index in indices
    ]
    return require_pairs(dataset, root, layout, pairs)


def list_flying_chairs2(
    root: str | Path, *, split: str = "train", backward: bool = False
) -> list[PairFiles]:
    """FlyingChairs2 (Ilg et al. 2018): PNG frames, ``.flo`` flow, occlusion masks.

    Expected tree::

        ROOT/
          train/
            0000000-img_0.png, 0000000-img_1.png      frames 1 and 2
            0000000-flow_01.flo, 0000000-occ_01.png   forward flow, occlusion (255 = occluded)
            0000000-flow_10.flo, 0000000-occ_10.png   backward (backward=True)
          val/
            ...

    A folder written by ``flowsynth generate`` (flat: ``ROOT/flowsynth.json`` beside the
    files, no ``train/``) is read as split ``"train"``.

    Parameters
    ----------
    split : {"train", "val"}
    backward : bool
        Read the pair the other way round: frame 2 -> frame 1 with ``flow_10`` and ``occ_10``.
    """
    check_choice("split", split, ("train", "val"))
    root = Path(root)
    if split == "train" and _is_flat_flowsynth(root):
        folder = root
    else:
        folder = require_dir("FlyingChairs2", root, layout_of(list_flying_chairs2), split)
    prefix = f"flyingchairs2/{split}" + ("/backward" if backward else "")
    return _per_file_pairs(
        "FlyingChairs2", folder, root, layout_of(list_flying_chairs2), prefix, backward
    )


def _is_flat_flowsynth(root: Path) -> bool:
    """True for a folder ``flowsynth generate`` wrote: ``flowsynth.json`` and its sample files
    side by side, no ``train/`` folder."""
    return (
        (root / "flowsynth.json").is_file()
        and not (root / "train").is_dir()
        and any(root.glob("*-img_0.png"))
    )


def list_flowsynth(root: str | Path, *, backward: bool = False) -> list[PairFiles]:
    """A dataset written by ``flowsynth generate`` (:mod:`flowsynth.io.layout`).

    Expected tree::

        ROOT/
          flowsynth.json                              recipe, seed, versions (optional here)
          0000000-img_0.png, 0000000-img_1.png        frames 1 and 2
          0000000-flow_01.flo, 0000000-occ_01.png     forward flow, occlusion (255 = occluded)
          0000000-flow_10.flo, 0000000-occ_10.png     backward (backward=True)

    Names are ``flowsynth/<index>``; :func:`read_flowsynth_metadata` gives the recipe and seed.
    """
    root = Path(root)
    folder = require_dir("flowsynth", root, layout_of(list_flowsynth))
    prefix = "flowsynth" + ("/backward" if backward else "")
    return _per_file_pairs("flowsynth", folder, root, layout_of(list_flowsynth), prefix, backward)


def read_flowsynth_metadata(root: str | Path) -> dict[str, Any] | None:
    """The contents of ``ROOT/flowsynth.json`` (recipe, seed, versions), or None if absent.

    Raises
    ------
    FileFormatError
        The file exists but is not a JSON object; names the file.
    """
    path = Path(root) / "flowsynth.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FileFormatError(path, f"not valid JSON: {error}") from None
    if not isinstance(meta, dict):
        raise FileFormatError(path, f"expected a JSON object, got {type(meta).__name__}")
    return meta
