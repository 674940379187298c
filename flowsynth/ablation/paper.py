"""The published numbers the ablation is compared with.

Mayer, Ilg, Fischer, Hazirbas, Cremers, Dosovitskiy, Brox: "What makes good synthetic training
data for learning disparity and optical flow estimation?", IJCV 2018. FlowNetS trained on each
2D dataset; end-point error on Sintel train clean, KITTI 2015 train and FlyingChairs test.
"""

from __future__ import annotations

#: Ablation rows in the paper's order: (row name = recipe in ``recipes/ablation/``, label).
ROWS: tuple[tuple[str, str], ...] = (
    ("boxes", "Boxes"),
    ("polygons", "Polygons"),
    ("ellipses", "Ellipses"),
    ("polygons_ellipses", "Polygons+Ellipses"),
    ("rotations", "+Rotations"),
    ("scaling", "+Scaling"),
    ("holes", "+Holes"),
    ("thin", "+Thin objects"),
    ("deformations", "+Deformations"),
)

#: Paper EPE per row: {row: {"sintel-clean": ..., "kitti2015": ..., "flyingchairs": ...}}.
PAPER_EPE: dict[str, dict[str, float]] = {
    "boxes": {"sintel-clean": 5.29, "kitti2015": 17.69, "flyingchairs": 4.95},
    "polygons": {"sintel-clean": 4.93, "kitti2015": 17.63, "flyingchairs": 4.60},
    "ellipses": {"sintel-clean": 4.88, "kitti2015": 17.28, "flyingchairs": 4.87},
    "polygons_ellipses": {"sintel-clean": 4.86, "kitti2015": 17.90, "flyingchairs": 4.62},
    "rotations": {"sintel-clean": 4.79, "kitti2015": 18.07, "flyingchairs": 4.38},
    "scaling": {"sintel-clean": 4.52, "kitti2015": 15.48, "flyingchairs": 4.22},
    "holes": {"sintel-clean": 4.71, "kitti2015": 16.36, "flyingchairs": 4.20},
    "thin": {"sintel-clean": 4.60, "kitti2015": 16.45, "flyingchairs": 4.13},
    "deformations": {"sintel-clean": 4.50, "kitti2015": 14.97, "flyingchairs": 4.23},
}

#: FlyingChairs itself, for reference (its FlyingChairs number is on its own test set).
PAPER_FLYINGCHAIRS = {"sintel-clean": 4.67, "kitti2015": 16.23, "flyingchairs": 3.32}

#: The paper's learning-schedule finding (Sintel train clean EPE, FlowNet training schedules).
PAPER_SCHEDULES = {"Chairs": 4.21, "Things": 4.50, "mixed": 4.10, "Chairs then Things": 3.79}


def label(row: str) -> str:
    """The paper's name for an ablation row (curriculum rows keep their own names)."""
    return dict(ROWS).get(row, row)
