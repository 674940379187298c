"""The segmentation ablation's datasets, rows and budgets (presets).

A row is one (augmentation, training-set size, loss) of one dataset; its id reads
``<augment>-<size>-<loss>``, e.g. ``elastic-3-weighted``. The loss is ``weighted`` (the U-Net's
border weight map on the cross-entropy) or ``plain`` (plain cross-entropy). Every preset says
what it trains and how long it took on what hardware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: The segmentation loss of a row -> ``TrainConfig.seg_weights``.
LOSSES = {"weighted": "unet", "plain": "none"}


@dataclass(frozen=True)
class SegmentationData:
    """One dataset of the ablation: ``train`` is the training spec with ``{n}`` for the size,
    ``held_out`` the spec it is evaluated on, ``metrics`` what is reported (first: the main one)."""

    name: str
    title: str
    folder: str
    train: str
    held_out: str
    unit: str
    metrics: tuple[str, ...]


DATASETS = {
    "isbi2012_em": SegmentationData(
        "isbi2012_em",
        "ISBI 2012 EM",
        "isbi2012_em",
        "isbi2012_em[:{n}]",
        "isbi2012_em[20:]",
        "slices",
        ("iou", "rand_error", "dice", "pixel_error"),
    ),
    "retina_drive": SegmentationData(
        "retina_drive",
        "DRIVE retinal vessels",
        "retina_drive",
        "retina_drive[:{n}]",
        "retina_drive_test",
        "images",
        ("iou", "auc", "dice", "pixel_error"),
    ),
}

#: Metrics where lower is better.
LOWER_IS_BETTER = frozenset({"rand_error", "pixel_error"})


@dataclass(frozen=True)
class Row:
    """One row of a dataset's table."""

    augment: str
    size: int
    loss: str

    @property
    def id(self) -> str:
        return f"{self.augment}-{self.size}-{self.loss}"

    def label(self, unit: str) -> str:
        return f"{self.augment}, {self.size} {unit}, {self.loss} CE"

    @classmethod
    def parse(cls, text: str) -> Row:
        augment, size, loss = text.split("-")
        return cls(augment, int(size), loss)


@dataclass(frozen=True)
class Grid:
    """The rows of one dataset (every combination) and the steps of each training-set size."""

    sizes: tuple[int, ...]
    augments: tuple[str, ...]
    losses: tuple[str, ...]
    steps: Mapping[int, int]

    def rows(self) -> list[Row]:
        return [
            Row(augment, size, loss)
            for size in self.sizes
            for loss in self.losses
            for augment in self.augments
        ]


@dataclass(frozen=True)
class SegmentationPreset:
    """A budget: one U-Net setting for every row, the rows of each dataset, and how often the
    held-out set is measured during training (``measurements`` per run, on the first
    ``curve_images`` held-out images, for the curves; the final evaluation takes them all)."""

    name: str
    description: str
    width: float
    batch: int
    crop: tuple[int, int]
    lr: float
    threads: int
    parallel: int
    max_images: int | None
    measurements: int
    grids: Mapping[str, Grid]
    curve_images: int | None = None  # held-out images measured during training (None: all)
    ema: float = 0.0  # decay of the evaluated weight average (TrainConfig.ema)


def _every_row(steps: int) -> dict[str, Grid]:
    """Every augmentation and loss at three training-set sizes per dataset, ``steps`` each."""
    augments, losses = ("none", "affine", "elastic"), ("weighted", "plain")
    return {
        "isbi2012_em": Grid((3, 10, 20), augments, losses, dict.fromkeys((3, 10, 20), steps)),
        "retina_drive": Grid((2, 5, 20), augments, losses, dict.fromkeys((2, 5, 20), steps)),
    }


PRESETS = {
    "smoke": SegmentationPreset(
        "smoke",
        "seconds, for tests: 2 training images, 2 steps",
        width=0.125,
        batch=1,
        crop=(64, 64),
        lr=1e-3,
        threads=1,
        parallel=1,
        max_images=2,
        measurements=1,
        curve_images=1,
        grids={
            "isbi2012_em": Grid((2,), ("none", "elastic"), ("weighted", "plain"), {2: 2}),
            "retina_drive": Grid((2,), ("none", "elastic"), ("weighted",), {2: 2}),
        },
    ),
    "cpu": SegmentationPreset(
        "cpu",
        "U-Net x0.25 at 128x128 crops, batch 2, 800-1000 steps; ISBI: none/elastic x "
        "weighted/plain CE at 3 and 10 slices; DRIVE: none/elastic at 2 and 20 images (weighted "
        "CE); 12 rows x 3 seeds in 52 min on 2 cores (measured, 0.7.0)",
        width=0.25,
        batch=2,
        crop=(128, 128),
        lr=1e-3,
        threads=1,
        parallel=2,
        max_images=None,
        measurements=5,
        curve_images=5,
        ema=0.99,
        grids={
            "isbi2012_em": Grid(
                (3, 10), ("none", "elastic"), ("weighted", "plain"), {3: 800, 10: 1000}
            ),
            "retina_drive": Grid((2, 20), ("none", "elastic"), ("weighted",), {2: 1000, 20: 1000}),
        },
    ),
    "cpu-long": SegmentationPreset(
        "cpu-long",
        "U-Net x0.25 at 192x192 crops, batch 2; ISBI at 3, 10, 20 slices and DRIVE at 2, 5, 20 "
        "images, none/affine/elastic x weighted/plain CE; 36 rows x 3 seeds, several hours on "
        "2 cores",
        width=0.25,
        batch=2,
        crop=(192, 192),
        lr=1e-3,
        threads=1,
        parallel=2,
        max_images=None,
        measurements=10,
        curve_images=10,
        ema=0.99,
        grids=_every_row(3000),
    ),
    "gpu": SegmentationPreset(
        "gpu",
        "the U-Net paper's size: U-Net x1 at 512x512 crops, batch 8, every row of cpu-long, "
        "10,000 steps each (a GPU)",
        width=1.0,
        batch=8,
        crop=(512, 512),
        lr=3e-4,
        threads=8,
        parallel=1,
        max_images=None,
        measurements=20,
        ema=0.999,
        grids=_every_row(10_000),
    ),
}
