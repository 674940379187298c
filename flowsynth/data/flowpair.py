"""One flow pair as numpy arrays, the files it is read from, and the one function that reads them.

Every on-disk format is a list of :class:`PairFiles`; :func:`read_pair` turns one into a
:class:`FlowPair` with every field present, whatever the dataset stores. This module is
numpy-only: the torch layer converts a ``FlowPair`` to tensors at the very end.

Convention
----------
- Images ``uint8 (H, W, 3)`` RGB (grey frames repeated into three channels), or, after
  photometric augmentation, ``float32 (H, W, 3)`` in ``[0, 1]``.
- Flow ``float32 (H, W, 2)``, ``(u, v)`` = (x right, y down), 0 wherever ``valid`` is False.
- ``valid`` ``bool (H, W)``: ground truth defined. A pair without flow has ``valid`` all False.
- ``occlusion`` ``bool (H, W)``: True where the frame-1 pixel is not visible in frame 2.
  Meaningful only where ``has_occlusion``; otherwise all False.
"""

from __future__ import annotations

import inspect
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from flowsynth.io import (
    FileFormatError,
    flo_valid,
    read_flo,
    read_image,
    read_kitti_flow,
    read_label,
    read_pfm,
)


@dataclass(frozen=True, eq=False)
class FlowPair:
    """Two frames and their ground truth, numpy, ``(H, W, C)``.

    Attributes
    ----------
    image1, image2 : uint8 (H, W, 3), or float32 (H, W, 3) in [0, 1]
        RGB frames.
    flow : float32 (H, W, 2)
        Frame 1 -> frame 2, ``(u, v)``; 0 where not valid.
    valid : bool (H, W)
        True where ``flow`` is ground truth.
    occlusion : bool (H, W)
        True where the frame-1 pixel is not visible in frame 2; all False unless
        ``has_occlusion``.
    has_occlusion : bool
        Whether the dataset provides occlusion.
    name : str
        Where the pair comes from (``middlebury/Grove2``, ``recipe/0000042``).
    """

    image1: npt.NDArray[np.uint8] | npt.NDArray[np.float32]
    image2: npt.NDArray[np.uint8] | npt.NDArray[np.float32]
    flow: npt.NDArray[np.float32]
    valid: npt.NDArray[np.bool_]
    occlusion: npt.NDArray[np.bool_]
    has_occlusion: bool
    name: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        height, width = self.flow.shape[:2]
        return height, width


@dataclass(frozen=True)
class PairFiles:
    """The files of one pair. ``flow`` is read by suffix: ``.flo``, ``.pfm``, or ``.png`` (KITTI).

    ``occlusion`` and ``invalid`` are 0/255 masks, 255 = occluded / flow not valid; ``None``
    where the dataset lacks them (then ``has_occlusion`` is False, or every pixel with known
    flow is valid). ``flow`` ``None`` (test splits) gives zero flow, all invalid. ``flow_noc``
    (KITTI) is non-occluded flow: occlusion = valid in ``flow`` but not in ``flow_noc``.
    """

    name: str
    image1: Path
    image2: Path
    flow: Path | None = None
    occlusion: Path | None = None
    invalid: Path | None = None
    flow_noc: Path | None = None


def make_pair(
    image1: npt.NDArray[np.uint8],
    image2: npt.NDArray[np.uint8],
    flow: npt.NDArray[np.float32] | None = None,
    valid: npt.NDArray[np.bool_] | None = None,
    occlusion: npt.NDArray[np.bool_] | None = None,
    name: str = "",
) -> FlowPair:
    """A :class:`FlowPair` with missing fields filled in and marked invalid.

    ``uint8 (H, W, 3) x 2, [float32 (H, W, 2)], [bool (H, W)], [bool (H, W)] -> FlowPair``.
    No flow gives zeros, all invalid; no ``valid`` means flow finite and at most 1e9;
    no occlusion gives all False with ``has_occlusion`` False.
    """
    height, width = image1.shape[:2]
    if flow is None:
        flow = np.zeros((height, width, 2), np.float32)
        valid = np.zeros((height, width), bool)
    elif valid is None:
        valid = flo_valid(flow)
    flow = np.where(valid[..., None], flow, np.float32(0.0)).astype(np.float32)
    has_occlusion = occlusion is not None
    if occlusion is None:
        occlusion = np.zeros((height, width), bool)
    return FlowPair(image1, image2, flow, valid, occlusion, has_occlusion, name)


def _read_flow(path: Path) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    suffix = path.suffix.lower()
    if suffix == ".png":
        return read_kitti_flow(path)
    flow = read_pfm(path) if suffix == ".pfm" else read_flo(path)
    if flow.ndim == 3 and flow.shape[2] == 3:  # FlyingThings PFM: (u, v, 0)
        flow = np.ascontiguousarray(flow[..., :2])
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise FileFormatError(path, f"flow must be (H, W, 2), got {flow.shape}")
    flow = np.ascontiguousarray(flow, np.float32)
    return flow, flo_valid(flow)


def _read_mask(path: Path) -> npt.NDArray[np.bool_]:
    """A 0/255 (or 0/65535) mask: True at the upper half of the range."""
    label = read_label(path)
    return np.asarray(label > (127 if label.dtype == np.uint8 else 32767))


def _check_size(path: Path, shape: tuple[int, ...], expected: tuple[int, int], first: Path) -> None:
    if tuple(shape[:2]) != expected:
        raise FileFormatError(
            path, f"size {shape[1]}x{shape[0]} does not match {first} ({expected[1]}x{expected[0]})"
        )


def read_pair(files: PairFiles) -> FlowPair:
    """Read the files of one pair; every field present, missing ones marked invalid.

    Returns
    -------
    FlowPair
        ``uint8 (H, W, 3)`` images, ``float32 (H, W, 2)`` flow, ``bool (H, W)`` masks.

    Raises
    ------
    FileFormatError
        A corrupt file, or files of one pair that disagree in size; names the file.
    FileNotFoundError
        A file of the pair is missing.
    """
    image1 = read_image(files.image1)
    image2 = read_image(files.image2)
    size = (image1.shape[0], image1.shape[1])
    _check_size(files.image2, image2.shape, size, files.image1)
    flow = valid = occlusion = None
    if files.flow is not None:
        flow, valid = _read_flow(files.flow)
        _check_size(files.flow, flow.shape, size, files.image1)
    if files.invalid is not None and valid is not None:
        invalid = _read_mask(files.invalid)
        _check_size(files.invalid, invalid.shape, size, files.image1)
        valid = valid & ~invalid
    if files.occlusion is not None:
        occlusion = _read_mask(files.occlusion)
        _check_size(files.occlusion, occlusion.shape, size, files.image1)
    elif files.flow_noc is not None and valid is not None:
        _, visible = _read_flow(files.flow_noc)
        _check_size(files.flow_noc, visible.shape, size, files.image1)
        occlusion = valid & ~visible
    return make_pair(image1, image2, flow, valid, occlusion, files.name)


# ------------------------------------------------------------------------- finding the files


def layout_of(lister: Callable[..., object]) -> str:
    """The tree after ``Expected tree::`` in a lister's docstring (one source for docs, errors)."""
    doc = inspect.getdoc(lister) or ""
    _, found, rest = doc.partition("Expected tree::")
    if not found:
        return f"(see the docstring of {lister.__module__}.{lister.__qualname__})"
    block = rest.lstrip("\n").split("\n\n")[0]
    return textwrap.dedent(block)


def missing_layout(dataset: str, root: Path, layout: str, problem: str) -> FileNotFoundError:
    """The error every lister raises for a wrong root: what was expected where."""
    return FileNotFoundError(
        f"{dataset}: {problem} under {os.fspath(root)!r}; expected the layout\n"
        f"{layout.rstrip()}\n(check the path, or the data root: FLOWSYNTH_DATA_ROOT)"
    )


def require_dir(dataset: str, root: Path, layout: str, *parts: str) -> Path:
    """``root / parts`` if it is a folder, else :func:`missing_layout`."""
    folder = Path(root).joinpath(*parts)
    if not folder.is_dir():
        raise missing_layout(dataset, Path(root), layout, f"no folder {os.fspath(folder)!r}")
    return folder


def require_files(dataset: str, root: Path, layout: str, paths: Sequence[Path | None]) -> None:
    """Raise :func:`missing_layout` naming the first of ``paths`` that is not a file."""
    for path in paths:
        if path is not None and not path.is_file():
            raise missing_layout(dataset, Path(root), layout, f"missing file {os.fspath(path)!r}")


def require_pairs(
    dataset: str, root: Path, layout: str, pairs: list[PairFiles], check_files: bool = True
) -> list[PairFiles]:
    """``pairs`` if non-empty and (optionally) all their files exist; else a clear error."""
    if not pairs:
        raise missing_layout(dataset, Path(root), layout, "no pairs found")
    if check_files:
        for pair in pairs:
            require_files(
                dataset,
                root,
                layout,
                [pair.image1, pair.image2, pair.flow, pair.occlusion, pair.invalid, pair.flow_noc],
            )
    return pairs


def check_choice(name: str, value: object, allowed: Sequence[object]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
