"""KITTI 2012 and 2015 flow, and HD1K: frames with sparse 16-bit KITTI flow PNGs."""

from __future__ import annotations

from pathlib import Path

from flowsynth.data.flowpair import (
    PairFiles,
    check_choice,
    layout_of,
    require_dir,
    require_pairs,
)

#: The frame folder of each KITTI benchmark: grey left camera (2012), colour left camera (2015).
KITTI_IMAGE_FOLDER = {2012: "image_0", 2015: "image_2"}


def list_kitti(
    root: str | Path, *, year: int = 2012, split: str = "training", flow: str = "auto"
) -> list[PairFiles]:
    """KITTI flow 2012 (grey ``image_0``) or 2015 (colour ``image_2``): sparse ground truth.

    Expected tree::

        ROOT/                                      (2015: image_2/ in place of image_0/)
          training/
            image_0/000000_10.png, 000000_11.png   frames 1 and 2 (2012: grey, read as RGB)
            flow_occ/000000_10.png                 flow at all pixels with ground truth
            flow_noc/000000_10.png                 flow at non-occluded pixels only
          testing/
            image_0/000000_10.png, 000000_11.png   no flow: every pixel invalid

    Parameters
    ----------
    year : {2012, 2015}
    split : {"training", "testing"}
    flow : {"auto", "occ", "noc"}
        Which ground truth to read; ``auto`` takes ``flow_occ`` if present, else ``flow_noc``.
        With ``occ`` and ``flow_noc`` both present, occlusion is known: pixels valid in
        ``flow_occ`` but not in ``flow_noc`` (``has_occlusion`` True).
    """
    check_choice("year", year, tuple(KITTI_IMAGE_FOLDER))
    check_choice("split", split, ("training", "testing"))
    check_choice("flow", flow, ("auto", "occ", "noc"))
    root, layout = Path(root), layout_of(list_kitti)
    dataset = f"KITTI {year}"
    images = require_dir(dataset, root, layout, split, KITTI_IMAGE_FOLDER[year])
    ids = sorted(p.name[: -len("_10.png")] for p in images.glob("*_10.png"))
    occ_dir, noc_dir = root / split / "flow_occ", root / split / "flow_noc"
    if split == "testing":
        flow_dir = None
    elif flow == "auto":
        flow_dir = occ_dir if occ_dir.is_dir() else noc_dir
    else:
        flow_dir = occ_dir if flow == "occ" else noc_dir
    if flow_dir is not None:
        require_dir(dataset, root, layout, split, flow_dir.name)
    with_occlusion = flow_dir == occ_dir and noc_dir.is_dir()
    pairs = [
        PairFiles(
            f"kitti{year}/{split}/{id_}",
            images / f"{id_}_10.png",
            images / f"{id_}_11.png",
            flow=None if flow_dir is None else flow_dir / f"{id_}_10.png",
            flow_noc=noc_dir / f"{id_}_10.png" if with_occlusion else None,
        )
        for id_ in ids
    ]
    return require_pairs(dataset, root, layout, pairs)


def list_hd1k(root: str | Path) -> list[PairFiles]:
    """HD1K (Kondermann et al. 2016): sequences of colour frames, sparse KITTI-format flow.

    Expected tree::

        ROOT/
          hd1k_input/image_2/000000_0000.png, 000000_0001.png, ...   <sequence>_<frame>.png
          hd1k_flow_gt/flow_occ/000000_0000.png, ...                 frame k -> frame k + 1

    One pair per flow file: frames ``k`` and ``k + 1`` of its sequence.
    """
    root, layout = Path(root), layout_of(list_hd1k)
    images = require_dir("HD1K", root, layout, "hd1k_input", "image_2")
    flows = require_dir("HD1K", root, layout, "hd1k_flow_gt", "flow_occ")
    pairs = []
    for path in sorted(flows.glob("*_*.png")):
        sequence, _, frame = path.stem.rpartition("_")
        if not frame.isdigit():
            continue
        following = f"{sequence}_{int(frame) + 1:0{len(frame)}d}.png"
        pairs.append(
            PairFiles(f"hd1k/{path.stem}", images / path.name, images / following, flow=path)
        )
    return require_pairs("HD1K", root, layout, pairs)
