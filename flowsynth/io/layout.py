"""The on-disk layout of flow datasets: one set of files per sample.

Pairs, FlyingChairs2-style: ``DIR/{i:07d}-img_0.png``, ``-img_1.png`` (RGB), ``-flow_01.flo``,
``-flow_10.flo`` (Middlebury), ``-occ_01.png``, ``-occ_10.png``, ``-mb_01.png``, ``-mb_10.png``
(0/255 masks, 255 = occluded or boundary), ``-seg_0.png``, ``-seg_1.png`` (16-bit instance ids,
0 = background), so that FlyingChairs2 loaders read them unchanged.

Sequences of ``T`` frames, MPI Sintel's training tree with sample ``i`` as scene ``{i:07d}``
(:func:`sequence_files`): ``DIR/training/clean/{i:07d}/frame_0001.png`` ... ``frame_000T.png``,
``flow/`` (frame t -> t + 1, ``frame_0001.flo`` ... ``frame_000{T-1}.flo``), ``occlusions/``
(t -> t + 1, 255 = occluded) and ``invalid/`` (one per frame, 255 = invalid) as Sintel has them,
and beside them what Sintel lacks: ``flow_backward/`` (t + 1 -> t, named by t),
``occlusions_backward/``, ``motion_boundaries/``, ``motion_boundaries_backward/``,
``segmentation/`` (one per frame), ``flow_from_first/`` and ``visible_from_first/``
(frame 1 -> t, ``frame_0002`` ... ``frame_000T``; 255 = visible).

Rectified stereo pairs (:data:`STEREO_FILES`): ``DIR/{i:07d}-left.png``, ``-right.png`` (RGB),
``-disp_left.pfm``, ``-disp_right.pfm`` (float32 disparity >= 0, PFM as FlyingThings3D writes
it; left pixel ``x`` is at ``x - disp_left`` in the right view), ``-occ_left.png``,
``-occ_right.png`` (255 = not visible in the other view), ``-seg_left.png``, ``-seg_right.png``
(16-bit instance ids).

The same stereo pairs in FlyingThings3D's tree (:func:`flyingthings3d_files`, ``generate
--format flyingthings3d``), sample ``i`` as the scene folder ``{i:07d}`` of subset ``A`` of
``TRAIN``, each view's one frame ``0000``::

    DIR/FlyingThings3D/frames_cleanpass/TRAIN/A/{i:07d}/left/0000.png, right/0000.png
    DIR/FlyingThings3D/disparity/TRAIN/A/{i:07d}/left/0000.pfm, right/0000.pfm
    DIR/FlyingThings3D/occlusion/TRAIN/A/{i:07d}/left/0000.png, right/0000.png
    DIR/FlyingThings3D/segmentation/TRAIN/A/{i:07d}/left/0000.png, right/0000.png

The stereo loaders (RAFT-Stereo, IGEV, torchvision's ``SceneFlowStereo``) glob
``frames_cleanpass/TRAIN/*/*/left/*.png`` and find the right view and the disparity by replacing
``left`` and ``frames_cleanpass`` in that path, so no folder of the tree but the view's is named
``left``; ``occlusion/`` and ``segmentation/`` (what FlyingThings3D lacks in this form) lie
beside the loaders' folders, where no glob of theirs reaches.

A sample's files are named by *entries*: a pair entry is a suffix (``img_0.png`` ->
``{i:07d}-img_0.png``); a tree entry is a path below one of the roots of :data:`SAMPLE_DEPTH`,
without the sample's folder, which goes in at that root's depth
(``training/flow/frame_0001.flo`` -> ``training/flow/{i:07d}/frame_0001.flo``,
``FlyingThings3D/disparity/TRAIN/A/left/0000.pfm`` ->
``FlyingThings3D/disparity/TRAIN/A/{i:07d}/left/0000.pfm``). ``DIR/flowsynth.json`` describes
the dataset (for the FlyingThings3D tree: ``"tree": "flyingthings3d"`` beside ``"layout":
"files"``, and the entries in ``files``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from flowsynth.io.atomic import atomic_write_bytes
from flowsynth.io.flo import encode_flo
from flowsynth.io.images import encode_png
from flowsynth.io.pagecache import DropBehind
from flowsynth.io.pfm import encode_pfm

#: File suffix -> (sample field, kind of encoding), in writing order.
FLOW_FILES: dict[str, tuple[str, str]] = {
    "img_0.png": ("image1", "png"),
    "img_1.png": ("image2", "png"),
    "flow_01.flo": ("flow", "flo"),
    "flow_10.flo": ("flow_backward", "flo"),
    "occ_01.png": ("occlusion", "png"),
    "occ_10.png": ("occlusion_backward", "png"),
    "mb_01.png": ("motion_boundary", "png"),
    "mb_10.png": ("motion_boundary_backward", "png"),
    "seg_0.png": ("segmentation1", "png"),
    "seg_1.png": ("segmentation2", "png"),
}

#: A stereo sample's file suffix -> (field of ``StereoSample``, kind of encoding), in writing
#: order.
STEREO_FILES: dict[str, tuple[str, str]] = {
    "left.png": ("left", "png"),
    "right.png": ("right", "png"),
    "disp_left.pfm": ("disp_left", "pfm"),
    "disp_right.pfm": ("disp_right", "pfm"),
    "occ_left.png": ("occ_left", "png"),
    "occ_right.png": ("occ_right", "png"),
    "seg_left.png": ("seg_left", "png"),
    "seg_right.png": ("seg_right", "png"),
}

#: A scene-flow sample's file suffix -> (field of ``SceneFlowSample``, kind of encoding), in
#: writing order: the stereo pair at ``t`` (:data:`STEREO_FILES`), the pair at ``t + 1``
#: (``left_next.png``, ...), then per view (left, right) its flow both ways, their occlusion
#: and the disparity change.
SCENE_FLOW_FILES: dict[str, tuple[str, str]] = {
    **STEREO_FILES,
    **{
        suffix.replace(".", "_next."): (field + "_next", kind)
        for suffix, (field, kind) in STEREO_FILES.items()
    },
    **{
        f"{name}.{kind}": (name, kind)
        for view in ("left", "right")
        for name, kind in (
            (f"flow_{view}", "flo"),
            (f"flow_{view}_backward", "flo"),
            (f"occ_flow_{view}", "png"),
            (f"occ_flow_{view}_backward", "png"),
            (f"disp_change_{view}", "pfm"),
        )
    },
}
#: Fields of nothing but NaN that a scene-flow sample's FlyingThings3D tree writes where that
#: tree has a file and the sample has no value (:func:`flyingthings3d_files`).
UNKNOWN_FIELDS = {"unknown_flow": 2, "unknown": 0}

METADATA_NAME = "flowsynth.json"

#: The folder holding a sequence dataset's sample folders (Sintel's training split).
SEQUENCE_ROOT = "training"
#: The folder holding a FlyingThings3D-style stereo dataset (:func:`flyingthings3d_files`).
FLYINGTHINGS3D_ROOT = "FlyingThings3D"
#: Root folder of a tree of sample folders -> the depth below ``DIR`` of a sample's folder
#: (``training/<folder>/{i:07d}``, ``FlyingThings3D/<folder>/TRAIN/A/{i:07d}``).
SAMPLE_DEPTH = {SEQUENCE_ROOT: 2, FLYINGTHINGS3D_ROOT: 4}
#: The trees a ``files`` dataset may be written in: ``--format`` value -> its name in
#: ``flowsynth.json`` (``"tree"``); flat files and Sintel's tree record none.
TREES = ("flyingthings3d",)
_FRAME = "frame_{:04d}.{}"
_SAMPLE_FOLDER = re.compile(r"^\d{7}$")


def sequence_files(frames: int) -> dict[str, tuple[str, int, str]]:
    """Entries of one sequence of ``frames`` frames -> (field of
    :class:`~flowsynth.render.sequence.SequenceSample`, its frame or pair index, encoding), in
    writing order; ``invalid`` is ``("invalid", t, "png")``, ``not valid`` of pair ``t`` (of the
    backward pair for the last frame, which has no forward flow)."""
    # ``final`` repeats ``clean`` (no blur or atmosphere here): loaders that read Sintel's
    # final pass find the same frames.
    per_frame = [
        ("clean", "frames", "png"),
        ("final", "frames", "png"),
        ("segmentation", "segmentation", "png"),
    ]
    per_pair = [
        ("flow", "flow", "flo"),
        ("flow_backward", "flow_backward", "flo"),
        ("occlusions", "occlusion", "png"),
        ("occlusions_backward", "occlusion_backward", "png"),
        ("motion_boundaries", "motion_boundary", "png"),
        ("motion_boundaries_backward", "motion_boundary_backward", "png"),
    ]
    files: dict[str, tuple[str, int, str]] = {}
    for folder, field, kind in per_frame[:2]:
        for t in range(frames):
            files[f"{SEQUENCE_ROOT}/{folder}/{_FRAME.format(t + 1, kind)}"] = (field, t, kind)
    for folder, field, kind in per_pair:
        for t in range(frames - 1):
            files[f"{SEQUENCE_ROOT}/{folder}/{_FRAME.format(t + 1, kind)}"] = (field, t, kind)
    for t in range(frames):
        files[f"{SEQUENCE_ROOT}/invalid/{_FRAME.format(t + 1, 'png')}"] = ("invalid", t, "png")
    for folder, field, kind in per_frame[2:]:
        for t in range(frames):
            files[f"{SEQUENCE_ROOT}/{folder}/{_FRAME.format(t + 1, kind)}"] = (field, t, kind)
    for folder, field, kind in [
        ("flow_from_first", "flow_from_first", "flo"),
        ("visible_from_first", "visible_from_first", "png"),
    ]:
        for t in range(frames - 1):
            files[f"{SEQUENCE_ROOT}/{folder}/{_FRAME.format(t + 2, kind)}"] = (field, t, kind)
    return files


def flyingthings3d_files(
    *, split: str = "TRAIN", subset: str = "A", scene_flow: bool = False
) -> dict[str, tuple[str, str]]:
    """Entries of one stereo pair in FlyingThings3D's tree -> (field of
    :class:`~flowsynth.render.stereo.StereoSample`, encoding), in the order of
    :data:`STEREO_FILES`: frame ``0000`` of each view of the scene folder that
    :func:`file_name` puts in at depth 4 (``FlyingThings3D/frames_cleanpass/TRAIN/A/{i:07d}/
    left/0000.png``).

    With ``scene_flow`` (fields of :class:`~flowsynth.render.stereo.SceneFlowSample`), frame
    ``0001`` too (``t + 1``), and FlyingThings3D's files of each view's flow and disparity
    change, index-aligned with the frames as its loaders expect (``into_future`` file ``k``:
    frame ``k -> k + 1``; ``into_past`` file ``k``: ``k -> k - 1``); for the right view
    ``right/`` and ``_R``::

        optical_flow/TRAIN/A/{i:07d}/into_future/left/OpticalFlowIntoFuture_0000_L.pfm  t -> t+1
        optical_flow/TRAIN/A/{i:07d}/into_past/left/OpticalFlowIntoPast_0001_L.pfm      t+1 -> t
        disparity_change/TRAIN/A/{i:07d}/into_future/left/0000.pfm
        flow_occlusion/TRAIN/A/{i:07d}/into_future/left/0000.png, into_past/left/0001.png

    Flows are 3-channel PFM with a zero third channel. The files of frame pairs the sample does
    not have (``into_future`` of ``0001``, ``into_past`` of ``0000``) are all NaN
    (:data:`UNKNOWN_FIELDS`): the loaders pair ``into_future`` file ``k`` with frames ``k,
    k + 1`` for every ``k`` but the last and never open them.
    """
    files: dict[str, tuple[str, str]] = {}
    folders = {
        "left.png": "frames_cleanpass",
        "disp_left.pfm": "disparity",
        "occ_left.png": "occlusion",
        "seg_left.png": "segmentation",
    }
    for frame, tail in enumerate(("", "_next") if scene_flow else ("",)):
        for suffix, (field, kind) in STEREO_FILES.items():
            view = "left" if field.endswith("left") else "right"
            folder = folders[suffix.replace("right", "left")]
            entry = f"{FLYINGTHINGS3D_ROOT}/{folder}/{split}/{subset}/{view}/{frame:04d}.{kind}"
            files[entry] = (field + tail, kind)
    if not scene_flow:
        return files
    for view in ("left", "right"):
        flow_name = "OpticalFlowInto{}_{:04d}_" + view[0].upper() + ".pfm"
        for folder, direction, name, field in (
            ("optical_flow", "into_future", flow_name.format("Future", 0), f"flow_{view}"),
            ("optical_flow", "into_past", flow_name.format("Past", 0), "unknown_flow"),
            ("optical_flow", "into_future", flow_name.format("Future", 1), "unknown_flow"),
            ("optical_flow", "into_past", flow_name.format("Past", 1), f"flow_{view}_backward"),
            ("disparity_change", "into_future", "0000.pfm", f"disp_change_{view}"),
            ("disparity_change", "into_future", "0001.pfm", "unknown"),
            ("flow_occlusion", "into_future", "0000.png", f"occ_flow_{view}"),
            ("flow_occlusion", "into_past", "0001.png", f"occ_flow_{view}_backward"),
        ):  # fmt: skip
            entry = f"{FLYINGTHINGS3D_ROOT}/{folder}/{split}/{subset}/{direction}/{view}/{name}"
            files[entry] = (field, "pfm_flow" if folder == "optical_flow" else name[-3:])
    return files


def stereo_files(*, scene_flow: bool, tree: str | None = None) -> dict[str, tuple[str, str]]:
    """The entries of one stereo (``scene_flow``: scene-flow) sample: flat files, or those of
    the tree a ``--format`` value names (one of :data:`TREES`)."""
    if tree is not None:
        return tree_files(tree, scene_flow=scene_flow)
    return SCENE_FLOW_FILES if scene_flow else STEREO_FILES


def tree_files(tree: str, *, scene_flow: bool = False) -> dict[str, tuple[str, str]]:
    """The stereo (``scene_flow``: scene-flow) entries of the tree a ``--format`` value names
    (one of :data:`TREES`).

    Raises
    ------
    ValueError
        An unknown tree.
    """
    if tree != "flyingthings3d":
        raise ValueError(f"--format: unknown tree {tree!r}; known: {list(TREES)}")
    return flyingthings3d_files(scene_flow=scene_flow)


class DatasetMismatchError(RuntimeError):
    """An output folder holds a dataset made from another recipe, seed, layout or chunk size."""


def file_name(index: int, entry: str) -> str:
    """``0000042-img_0.png`` for sample 42 and the pair entry ``img_0.png``;
    ``training/flow/0000042/frame_0001.flo`` for the sequence entry
    ``training/flow/frame_0001.flo``; the sample's folder goes in at the depth
    :data:`SAMPLE_DEPTH` gives the entry's root (before the file name for other roots)."""
    parts = entry.split("/")
    if len(parts) == 1:
        return f"{index:07d}-{entry}"
    depth = min(SAMPLE_DEPTH.get(parts[0], len(parts) - 1), len(parts) - 1)
    return "/".join([*parts[:depth], f"{index:07d}", *parts[depth:]])


def sample_of_path(relative: str) -> tuple[int, str] | None:
    """``(index, entry)`` of a tree file's path relative to the dataset folder
    (``training/flow/0000042/frame_0001.flo`` -> ``(42, "training/flow/frame_0001.flo")``);
    None for any other path."""
    parts = relative.split("/")
    depth = SAMPLE_DEPTH.get(parts[0])
    if depth is None or len(parts) < depth + 2 or not _SAMPLE_FOLDER.match(parts[depth]):
        return None
    if parts[0] == SEQUENCE_ROOT and len(parts) != 4:
        return None
    return int(parts[depth]), "/".join(parts[:depth] + parts[depth + 1 :])


def walk_tree_files(out: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry below the tree roots of ``out`` (:data:`SAMPLE_DEPTH`: ``training/``,
    ``FlyingThings3D/``) as ``(path relative to out, entry)``, folders before what they hold;
    symbolic links are yielded, never followed."""
    for name in SAMPLE_DEPTH:
        root = out / name
        if root.is_symlink() or not root.is_dir():
            continue
        stack = [(name, root)]
        while stack:
            relative, folder = stack.pop()
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                path = f"{relative}/{entry.name}"
                yield path, entry
                if entry.is_dir(follow_symlinks=False):
                    stack.append((path, Path(entry.path)))


def encode_fields(
    fields: dict[str, np.ndarray], files: dict[str, tuple[str, str]], compression: int
) -> dict[str, bytes]:
    """Encode a sample's fields: file suffix -> bytes."""
    encoders: dict[str, Callable[[np.ndarray], bytes]] = {
        "png": lambda a: encode_png(a, compression),
        "flo": encode_flo,
        "pfm": encode_pfm,
        "pfm_flow": _encode_flow_pfm,
    }
    return {suffix: encoders[kind](fields[name]) for suffix, (name, kind) in files.items()}


def _encode_flow_pfm(flow: np.ndarray) -> bytes:
    """``float (H, W, 2)`` flow as FlyingThings3D's 3-channel PFM, the third channel zero."""
    return encode_pfm(np.concatenate([flow, np.zeros_like(flow[..., :1])], axis=-1))


def encode_sequence(
    fields: dict[str, np.ndarray], files: dict[str, tuple[str, int, str]], compression: int
) -> dict[str, bytes]:
    """Encode a sequence's fields (``SequenceSample.as_dict()``): entry -> bytes."""
    encoders: dict[str, Callable[[np.ndarray], bytes]] = {
        "png": lambda a: encode_png(a, compression),
        "flo": encode_flo,
    }
    invalid = np.concatenate([~fields["valid"], ~fields["valid_backward"][-1:]])
    arrays = {**fields, "invalid": invalid}
    return {entry: encoders[kind](arrays[name][t]) for entry, (name, t, kind) in files.items()}


def write_encoded(
    directory: Path,
    index: int,
    encoded: dict[str, bytes],
    drop_behind: DropBehind | None = None,
) -> dict[str, Any]:
    """Write one sample's files atomically; returns ``{name: {"sha256", "bytes"}}``.

    With ``drop_behind``, the files leave the page cache once written back (its ``step`` is the
    caller's, after each sample). A symbolic link under a sample's name, or one in place of
    the folder, is refused (:class:`~flowsynth.io.errors.UnsafePathError`).
    """
    records = {}
    for suffix, data in encoded.items():
        name = file_name(index, suffix)
        atomic_write_bytes(directory / name, data, drop_behind=drop_behind, root=directory)
        records[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return records
