"""A tiny DRIVE tree in the real formats: LZW TIFF RGB images, GIF labels and masks (0 / 255)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

#: (H, W) of the fake images: small, not square, a multiple of nothing in particular.
SIZE = (20, 18)


def fake_drive_arrays(number: int, size: tuple[int, int] = SIZE) -> dict[str, np.ndarray]:
    """Image, label and field-of-view mask of one number: :func:`vessel_count` vessel pixels
    in the middle row inside the mask, and the number in the image's blue channel, so a pair
    tells which number each of its files came from."""
    height, width = size
    rows, cols = np.mgrid[:height, :width]
    mask = np.where((rows - height / 2) ** 2 + (cols - width / 2) ** 2 < (height / 2) ** 2, 255, 0)
    label = np.zeros(size, np.uint8)
    label[height // 2, 2 : 2 + vessel_count(number)] = 255
    label[0, 0] = 255  # a vessel outside the field of view: it must become unknown
    image = np.stack([rows * 10 % 256, cols * 10 % 256, np.full(size, number)], axis=-1)
    return {
        "image": image.astype(np.uint8),
        "label": label,
        "mask": mask.astype(np.uint8),
    }


def vessel_count(number: int) -> int:
    """Vessel pixels inside the field of view of a fake label."""
    return number % 10 + 1


def write_drive_split(
    root: Path,
    split: str = "training",
    numbers: tuple[int, ...] = (21, 22, 30),
    size: tuple[int, int] = SIZE,
) -> dict[int, dict[str, np.ndarray]]:
    """Write ``root/<split>/{images,1st_manual,mask}/`` like DRIVE; the arrays per number."""
    suffix = "training" if split == "training" else "test"
    written = {}
    for number in numbers:
        arrays = fake_drive_arrays(number, size)
        stem = f"{number:02d}_{suffix}"
        for folder, name, key in (
            ("images", f"{stem}.tif", "image"),
            ("1st_manual", f"{number:02d}_manual1.gif", "label"),
            ("mask", f"{stem}_mask.gif", "mask"),
        ):
            path = root / split / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            picture = Image.fromarray(arrays[key])
            if key == "image":
                picture.save(path, compression="tiff_lzw")
            else:
                picture.save(path)
        written[number] = arrays
    return written
