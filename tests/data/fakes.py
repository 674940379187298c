"""Tiny fake datasets (6x8 pixels) written in the real file formats, with the arrays they hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from flowsynth.io import write_flo, write_kitti_flow, write_png

HEIGHT, WIDTH = 6, 8


@dataclass
class Fake:
    """What one fake pair holds: RGB frames, flow, valid and occlusion masks."""

    image1: np.ndarray
    image2: np.ndarray
    flow: np.ndarray
    valid: np.ndarray
    occlusion: np.ndarray


def fake(seed: int, *, grey: bool = False, sparse: bool = False) -> Fake:
    """A random pair; grey frames have three equal channels; sparse flow is on the 1/64 grid."""
    rng = np.random.default_rng(seed)
    shape = (HEIGHT, WIDTH, 1 if grey else 3)
    image1 = np.repeat(rng.integers(0, 256, shape, np.uint8), 3 if grey else 1, axis=2)
    image2 = np.repeat(rng.integers(0, 256, shape, np.uint8), 3 if grey else 1, axis=2)
    flow = (rng.integers(-300, 300, (HEIGHT, WIDTH, 2)) / 64).astype(np.float32)
    valid = rng.random((HEIGHT, WIDTH)) < 0.6 if sparse else np.ones((HEIGHT, WIDTH), bool)
    occlusion = rng.random((HEIGHT, WIDTH)) < 0.3
    return Fake(
        image1, image2, np.where(valid[..., None], flow, 0).astype(np.float32), valid, occlusion
    )


def write_ppm(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image[..., ::-1])


def write_grey(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(path, np.ascontiguousarray(image[..., 0]))


def flying_chairs(root: Path, count: int = 3) -> list[Fake]:
    fakes = [fake(k) for k in range(count)]
    for k, f in enumerate(fakes, start=1):
        write_ppm(root / "data" / f"{k:05d}_img1.ppm", f.image1)
        write_ppm(root / "data" / f"{k:05d}_img2.ppm", f.image2)
        write_flo(root / "data" / f"{k:05d}_flow.flo", f.flow)
    return fakes


def per_file_layout(folder: Path, count: int = 2, seed: int = 10) -> list[Fake]:
    """flowsynth / FlyingChairs2 files; the backward fields are the forward ones negated."""
    fakes = [fake(seed + k) for k in range(count)]
    for k, f in enumerate(fakes):
        write_png(folder / f"{k:07d}-img_0.png", f.image1)
        write_png(folder / f"{k:07d}-img_1.png", f.image2)
        write_flo(folder / f"{k:07d}-flow_01.flo", f.flow)
        write_flo(folder / f"{k:07d}-flow_10.flo", -f.flow)
        write_png(folder / f"{k:07d}-occ_01.png", f.occlusion)
        write_png(folder / f"{k:07d}-occ_10.png", ~f.occlusion)
    return fakes


def sintel(root: Path, frames: int = 3) -> list[Fake]:
    """One scene ``alley_1`` with ``frames`` frames; pair k uses frames k+1, k+2."""
    fakes = [fake(20 + k) for k in range(frames - 1)]
    images = [fakes[0].image1] + [f.image2 for f in fakes]
    for k, image in enumerate(images, start=1):
        for pass_name in ("clean", "final"):
            shade = image if pass_name == "clean" else 255 - image
            write_png(root / "training" / pass_name / "alley_1" / f"frame_{k:04d}.png", shade)
    for k, f in enumerate(fakes, start=1):
        # Fake frames are not consecutive renders; image1 of pair k+1 is image2 of pair k.
        f.image1 = images[k - 1]
        f.valid = ~fake(40 + k).occlusion
        stem = f"frame_{k:04d}"
        write_flo(root / "training" / "flow" / "alley_1" / f"{stem}.flo", f.flow)
        write_png(root / "training" / "occlusions" / "alley_1" / f"{stem}.png", f.occlusion)
        write_png(root / "training" / "invalid" / "alley_1" / f"{stem}.png", ~f.valid)
    return fakes


def kitti(root: Path, year: int = 2012, count: int = 2) -> list[Fake]:
    """Grey (2012) or colour (2015) frames; ``flow_occ`` and a sparser ``flow_noc``."""
    fakes = [fake(50 + k, grey=year == 2012, sparse=True) for k in range(count)]
    folder = root / "training" / ("image_0" if year == 2012 else "image_2")
    for k, f in enumerate(fakes):
        for suffix, image in (("10", f.image1), ("11", f.image2)):
            if year == 2012:
                write_grey(folder / f"{k:06d}_{suffix}.png", image)
            else:
                write_png(folder / f"{k:06d}_{suffix}.png", image)
        f.occlusion &= f.valid
        write_kitti_flow(root / "training" / "flow_occ" / f"{k:06d}_10.png", f.flow, f.valid)
        write_kitti_flow(
            root / "training" / "flow_noc" / f"{k:06d}_10.png", f.flow, f.valid & ~f.occlusion
        )
    return fakes


def middlebury(root: Path, names: tuple[str, ...] = ("Grove2", "Venus")) -> list[Fake]:
    fakes = [fake(60 + k) for k in range(len(names))]
    for name, f in zip(names, fakes, strict=True):
        f.valid[0, :3] = False
        stored = f.flow.copy()
        stored[~f.valid] = 1e10  # "unknown" in .flo
        write_png(root / "other-data" / name / "frame10.png", f.image1)
        write_png(root / "other-data" / name / "frame11.png", f.image2)
        write_flo(root / "other-gt-flow" / name / "flow10.flo", stored)
    (root / "other-data" / "NoFlow").mkdir()  # sequences without ground truth are skipped
    return fakes


def hd1k(root: Path) -> list[Fake]:
    """Sequence 000000 with frames 0..2: pairs (0, 1), (1, 2)."""
    fakes = [fake(70 + k, sparse=True) for k in range(2)]
    images = [fakes[0].image1, fakes[0].image2, fakes[1].image2]
    fakes[1].image1 = fakes[0].image2
    for k, image in enumerate(images):
        write_png(root / "hd1k_input" / "image_2" / f"000000_{k:04d}.png", image)
    for k, f in enumerate(fakes):
        write_kitti_flow(
            root / "hd1k_flow_gt" / "flow_occ" / f"000000_{k:04d}.png", f.flow, f.valid
        )
    return fakes
