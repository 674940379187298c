"""Rectified stereo pairs: Middlebury 2014, KITTI stereo 2012/2015, FlyingThings3D (SceneFlow)
and flowsynth's own layouts.

Each lister turns a root folder into a list of :class:`StereoFiles`; :func:`read_stereo` reads
one into a :class:`StereoPair` through the guarded readers of :mod:`flowsynth.io` (a truncated
or corrupt file raises ``FileFormatError`` naming it). numpy-only, like the flow formats.

Convention: ``disparity`` is the left view's, ``>= 0``, and left pixel ``x`` is seen at
``x - disparity`` in the right view; it is 0 wherever ``valid`` is False.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from flowsynth.data.flowpair import layout_of, missing_layout, require_dir, require_files
from flowsynth.io import FileFormatError, read_image, read_label, read_pfm, read_png

#: KITTI stereo: (left, right) image folders tried in order, and disparity folders (all
#: pixels with ground truth, non-occluded only) of each benchmark.
KITTI_STEREO_IMAGES = (("image_2", "image_3"), ("colored_0", "colored_1"), ("image_0", "image_1"))
KITTI_STEREO_DISPARITY = {2015: ("disp_occ_0", "disp_noc_0"), 2012: ("disp_occ", "disp_noc")}
#: FlyingThings3D's image passes and splits, in listing order.
FLYINGTHINGS3D_PASSES = ("frames_cleanpass", "frames_finalpass")
FLYINGTHINGS3D_SPLITS = ("TRAIN", "TEST")


@dataclass(frozen=True)
class StereoFiles:
    """The files of one stereo pair; ``kind`` says how to read them.

    ``kind``: ``"middlebury"`` (PFM disparity, inf = unknown; ``mask`` 255 non-occluded,
    128 occluded, 0 no ground truth), ``"kitti"`` (16-bit PNG disparity / 256, 0 = invalid;
    ``mask`` the non-occluded disparity PNG, or None), ``"flowsynth"`` or
    ``"flyingthings3d"`` (PFM disparity, dense; ``mask`` the 0/255 occlusion PNG, 255 = not
    visible in the right view, or None where the dataset has none).
    """

    name: str
    left: Path
    right: Path
    disparity: Path | None
    mask: Path | None
    kind: str
    calib: Path | None = None


@dataclass(frozen=True, eq=False)
class StereoPair:
    """One rectified pair, numpy.

    Attributes
    ----------
    left, right : uint8 (H, W, 3)
    disparity : float32 (H, W)
        Left-view disparity, ``>= 0``; 0 where not valid.
    valid : bool (H, W)
    occlusion : bool (H, W) | None
        True where the left pixel is not visible in the right view; None where unknown.
    name : str
    """

    left: npt.NDArray[np.uint8]
    right: npt.NDArray[np.uint8]
    disparity: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]
    occlusion: npt.NDArray[np.bool_] | None
    name: str = ""


def _require_stereo(
    dataset: str, root: Path, layout: str, pairs: list[StereoFiles]
) -> list[StereoFiles]:
    if not pairs:
        raise missing_layout(dataset, root, layout, "no stereo pairs found")
    for pair in pairs:
        require_files(dataset, root, layout, [pair.left, pair.right, pair.disparity, pair.mask])
    return pairs


def list_middlebury_stereo(root: str | Path) -> list[StereoFiles]:
    """Middlebury 2014 stereo (MiddEval3 training): one folder per scene.

    Expected tree::

        ROOT/
          <Scene>/im0.png, im1.png    left and right views
          <Scene>/disp0GT.pfm         left disparity, inf = unknown
          <Scene>/mask0nocc.png       255 non-occluded, 128 occluded, 0 no ground truth
          <Scene>/calib.txt           camera parameters (path kept, not read)

    Scenes with ``disp0GT.pfm`` are listed, sorted by name (``middlebury_stereo/Adirondack``).
    """
    root, layout = Path(root), layout_of(list_middlebury_stereo)
    if not root.is_dir():
        raise missing_layout("Middlebury stereo", root, layout, "no folder")
    scenes = sorted(p.parent for p in root.glob("*/disp0GT.pfm"))
    pairs = [
        StereoFiles(
            f"middlebury_stereo/{scene.name}",
            scene / "im0.png",
            scene / "im1.png",
            scene / "disp0GT.pfm",
            scene / "mask0nocc.png",
            "middlebury",
            calib=scene / "calib.txt" if (scene / "calib.txt").is_file() else None,
        )
        for scene in scenes
    ]
    return _require_stereo("Middlebury stereo", root, layout, pairs)


def list_kitti_stereo(
    root: str | Path, *, year: int = 2015, split: str = "training"
) -> list[StereoFiles]:
    """KITTI stereo 2012 or 2015: frame ``_10`` of each pair, sparse 16-bit disparity.

    Expected tree::

        ROOT/
          training/
            image_2/000000_10.png      left (2012: colored_0/ or grey image_0/)
            image_3/000000_10.png      right (2012: colored_1/ or image_1/)
            disp_occ_0/000000_10.png   uint16 disparity * 256, 0 = invalid (2012: disp_occ/)
            disp_noc_0/000000_10.png   optional, non-occluded only (2012: disp_noc/)
          testing/ ...                 images only: every pixel invalid

    With both disparity folders, occlusion = valid in ``disp_occ`` but not in ``disp_noc``.
    """
    if year not in KITTI_STEREO_DISPARITY:
        raise ValueError(f"year must be one of {list(KITTI_STEREO_DISPARITY)}, got {year!r}")
    if split not in ("training", "testing"):
        raise ValueError(f"split must be one of ['training', 'testing'], got {split!r}")
    root, layout = Path(root), layout_of(list_kitti_stereo)
    dataset = f"KITTI stereo {year}"
    base = require_dir(dataset, root, layout, split)
    folders = [(base / a, base / b) for a, b in KITTI_STEREO_IMAGES if (base / a).is_dir()]
    if not folders:
        raise missing_layout(dataset, root, layout, f"no image_2/ folder in {str(base)!r}")
    left_dir, right_dir = folders[0]
    occ_name, noc_name = KITTI_STEREO_DISPARITY[year]
    disp_dir = None if split == "testing" else require_dir(dataset, root, layout, split, occ_name)
    noc_dir = base / noc_name if disp_dir is not None and (base / noc_name).is_dir() else None
    ids = sorted(p.name[: -len("_10.png")] for p in left_dir.glob("*_10.png"))
    pairs = [
        StereoFiles(
            f"kitti_stereo{year}/{split}/{id_}",
            left_dir / f"{id_}_10.png",
            right_dir / f"{id_}_10.png",
            None if disp_dir is None else disp_dir / f"{id_}_10.png",
            None if noc_dir is None else noc_dir / f"{id_}_10.png",
            "kitti",
        )
        for id_ in ids
    ]
    return _require_stereo(dataset, root, layout, pairs)


def list_flowsynth_stereo(root: str | Path) -> list[StereoFiles]:
    """A stereo dataset written by ``flowsynth generate`` (a stereo recipe).

    Expected tree::

        ROOT/
          flowsynth.json
          0000000-left.png, 0000000-right.png   rectified RGB views
          0000000-disp_left.pfm                 left disparity, float32 >= 0
          0000000-occ_left.png                  255 = not visible in the right view

    One pair per ``*-left.png``, sorted by index (``flowsynth_stereo/0000000``).
    """
    root, layout = Path(root), layout_of(list_flowsynth_stereo)
    if not root.is_dir():
        raise missing_layout("flowsynth stereo", root, layout, "no folder")
    stems = sorted(p.name[: -len("-left.png")] for p in root.glob("*-left.png"))
    pairs = [
        StereoFiles(
            f"flowsynth_stereo/{stem}",
            root / f"{stem}-left.png",
            root / f"{stem}-right.png",
            root / f"{stem}-disp_left.pfm",
            root / f"{stem}-occ_left.png",
            "flowsynth",
        )
        for stem in stems
    ]
    return _require_stereo("flowsynth stereo", root, layout, pairs)


def list_flyingthings3d_stereo(
    root: str | Path,
    *,
    passes: tuple[str, ...] = FLYINGTHINGS3D_PASSES,
    splits: tuple[str, ...] = FLYINGTHINGS3D_SPLITS,
) -> list[StereoFiles]:
    """FlyingThings3D (SceneFlow) stereo, or a flowsynth dataset written in its tree
    (``flowsynth generate --format flyingthings3d``): every frame of every scene.

    Expected tree::

        ROOT/FlyingThings3D/         (or ROOT itself)
          frames_cleanpass/TRAIN/A/0000/left/0006.png    left view (and TEST/, B/, C/ ...)
          frames_cleanpass/TRAIN/A/0000/right/0006.png   right view
          frames_finalpass/...                            the same frames, rendered more
          disparity/TRAIN/A/0000/left/0006.pfm            left disparity, float32 >= 0
          occlusion/TRAIN/A/0000/left/0006.png            optional (flowsynth's): 255 = not
                                                          visible in the right view

    Each pass and split present is listed (``passes``, ``splits`` choose among them), sorted
    by pass, split, subset, scene and frame (``flyingthings3d_stereo/frames_cleanpass/TRAIN/
    A/0000/0006``). Occlusion is None where ``occlusion/`` has no file for the frame.
    """
    for name, chosen, known in (
        ("passes", passes, FLYINGTHINGS3D_PASSES),
        ("splits", splits, FLYINGTHINGS3D_SPLITS),
    ):
        unknown = [item for item in chosen if item not in known]
        if unknown or not chosen:
            raise ValueError(f"{name} must be some of {list(known)}, got {list(chosen)!r}")
    root, layout = Path(root), layout_of(list_flyingthings3d_stereo)
    dataset = "FlyingThings3D stereo"
    base = root / "FlyingThings3D" if (root / "FlyingThings3D").is_dir() else root
    if not base.is_dir():
        raise missing_layout(dataset, root, layout, "no folder")
    pairs = []
    for pass_ in passes:
        for split in splits:
            for left in sorted((base / pass_ / split).glob("*/*/left/*.png")):
                subset, scene, frame = left.parts[-4], left.parts[-3], left.stem
                where = (split, subset, scene)
                occlusion = base.joinpath("occlusion", *where, "left", f"{frame}.png")
                pairs.append(
                    StereoFiles(
                        f"flyingthings3d_stereo/{pass_}/{split}/{subset}/{scene}/{frame}",
                        left,
                        base.joinpath(pass_, *where, "right", left.name),
                        base.joinpath("disparity", *where, "left", f"{frame}.pfm"),
                        occlusion if occlusion.is_file() else None,
                        "flyingthings3d",
                    )
                )
    return _require_stereo(dataset, root, layout, pairs)


def _check_size(path: Path, shape: tuple[int, ...], expected: tuple[int, ...], first: Path) -> None:
    if tuple(shape[:2]) != tuple(expected[:2]):
        raise FileFormatError(
            path, f"size {shape[1]}x{shape[0]} does not match {first} ({expected[1]}x{expected[0]})"
        )


def _read_disparity_pfm(path: Path) -> npt.NDArray[np.float32]:
    disparity = read_pfm(path)
    if disparity.ndim != 2:
        raise FileFormatError(path, f"disparity must be one channel, got shape {disparity.shape}")
    return np.ascontiguousarray(disparity, np.float32)


def _read_kitti_disparity(path: Path) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    raw = read_png(path)
    if raw.ndim != 2 or raw.dtype != np.uint16:
        raise FileFormatError(
            path, f"KITTI disparity must be 16-bit grey, got {raw.dtype} {raw.shape}"
        )
    return (raw.astype(np.float32) / np.float32(256.0)), raw > 0


def read_stereo(files: StereoFiles) -> StereoPair:
    """Read one stereo pair: images, disparity, valid and (where known) occlusion.

    Raises
    ------
    FileFormatError
        A corrupt or truncated file, or files of one pair that disagree in size; names it.
    FileNotFoundError
        A file of the pair is missing.
    """
    left = read_image(files.left)
    right = read_image(files.right)
    _check_size(files.right, right.shape, left.shape, files.left)
    shape = left.shape[:2]
    occlusion: npt.NDArray[np.bool_] | None = None
    if files.disparity is None:
        disparity = np.zeros(shape, np.float32)
        valid = np.zeros(shape, bool)
    elif files.kind == "kitti":
        disparity, valid = _read_kitti_disparity(files.disparity)
        _check_size(files.disparity, disparity.shape, shape, files.left)
        if files.mask is not None:
            _, visible = _read_kitti_disparity(files.mask)
            _check_size(files.mask, visible.shape, shape, files.left)
            occlusion = valid & ~visible
    elif files.kind in ("middlebury", "flowsynth", "flyingthings3d"):
        disparity = _read_disparity_pfm(files.disparity)
        _check_size(files.disparity, disparity.shape, shape, files.left)
        valid = np.isfinite(disparity) & (disparity >= 0)
        if files.mask is not None:
            mask = read_label(files.mask)
            _check_size(files.mask, mask.shape, shape, files.left)
            if files.kind == "middlebury":
                valid &= mask != 0
                occlusion = mask == 128
            else:
                occlusion = mask > 127
    else:
        raise ValueError(f"unknown stereo kind {files.kind!r}")
    disparity = np.where(valid, disparity, np.float32(0.0)).astype(np.float32)
    if occlusion is not None:
        occlusion = np.asarray(occlusion, bool)
    return StereoPair(left, right, disparity, np.asarray(valid, bool), occlusion, files.name)
