"""MPI Sintel (Butler et al. 2012): clean and final passes, flow, occlusions, invalid masks."""

from __future__ import annotations

from pathlib import Path

from flowsynth.data.flowpair import PairFiles, check_choice, layout_of, require_dir, require_pairs


def list_sintel(
    root: str | Path, *, split: str = "training", pass_name: str = "clean"
) -> list[PairFiles]:
    """MPI Sintel pairs: consecutive frames of each scene and the flow between them.

    Expected tree::

        ROOT/
          training/
            clean/<scene>/frame_0001.png, frame_0002.png, ...   pass_name="clean"
            final/<scene>/frame_0001.png, ...                   pass_name="final"
            flow/<scene>/frame_0001.flo, ...                    frame k -> frame k + 1
            occlusions/<scene>/frame_0001.png, ...              255 = occluded (optional)
            invalid/<scene>/frame_0001.png, ...                 255 = flow invalid (optional)
          test/
            clean/<scene>/..., final/<scene>/...                no flow: every pixel invalid

    Names are ``sintel/<pass>/<scene>/frame_0001``. Occlusion and invalid masks are used when
    their folders exist (the official training set has both).
    """
    check_choice("split", split, ("training", "test"))
    check_choice("pass_name", pass_name, ("clean", "final"))
    root, layout = Path(root), layout_of(list_sintel)
    frames = require_dir("MPI Sintel", root, layout, split, pass_name)
    flows = None if split == "test" else require_dir("MPI Sintel", root, layout, split, "flow")
    occlusions, invalids = root / split / "occlusions", root / split / "invalid"
    pairs = []
    for scene in sorted(p.name for p in frames.iterdir() if p.is_dir()):
        images = sorted((frames / scene).glob("frame_*.png"))
        for first, second in zip(images[:-1], images[1:], strict=True):
            stem = first.stem
            pairs.append(
                PairFiles(
                    f"sintel/{pass_name}/{scene}/{stem}",
                    first,
                    second,
                    flow=None if flows is None else flows / scene / f"{stem}.flo",
                    occlusion=_optional(occlusions, flows, scene, stem),
                    invalid=_optional(invalids, flows, scene, stem),
                )
            )
    return require_pairs("MPI Sintel", root, layout, pairs)


def _optional(folder: Path, flows: Path | None, scene: str, stem: str) -> Path | None:
    """``folder/scene/stem.png`` when the split has flow and the mask folder exists."""
    return folder / scene / f"{stem}.png" if flows is not None and folder.is_dir() else None
