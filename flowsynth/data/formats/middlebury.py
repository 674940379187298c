"""Middlebury optical flow (Baker et al. 2011): the "other" sequences with public ground truth."""

from __future__ import annotations

from pathlib import Path

from flowsynth.data.flowpair import PairFiles, layout_of, require_dir, require_pairs


def list_middlebury(root: str | Path, *, grey: bool = False) -> list[PairFiles]:
    """Middlebury "other" training pairs: frames 10 and 11 and the flow between them.

    Expected tree::

        ROOT/
          other-data/<Sequence>/frame10.png, frame11.png       colour frames
          other-data-gray/<Sequence>/frame10.png, frame11.png  grey frames (grey=True)
          other-gt-flow/<Sequence>/flow10.flo                  flow, > 1e9 = unknown

    Only sequences with ``flow10.flo`` are listed, sorted by name (``middlebury/Grove2``).
    Grey frames are read as three equal channels.
    """
    root, layout = Path(root), layout_of(list_middlebury)
    frames = require_dir("Middlebury", root, layout, "other-data-gray" if grey else "other-data")
    flows = require_dir("Middlebury", root, layout, "other-gt-flow")
    sequences = sorted(p.parent.name for p in flows.glob("*/flow10.flo"))
    pairs = [
        PairFiles(
            f"middlebury/{name}",
            frames / name / "frame10.png",
            frames / name / "frame11.png",
            flow=flows / name / "flow10.flo",
        )
        for name in sequences
    ]
    return require_pairs("Middlebury", root, layout, pairs)
