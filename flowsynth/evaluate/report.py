"""Evaluation results as JSON and as a Markdown table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flowsynth.io.atomic import atomic_write_bytes

POOLING = (
    "EPE, noc/occ EPE, 1/3/5 px accuracy, Fl-all and speed bins are pooled per pixel over each "
    "dataset (sum over valid pixels of all images / number of valid pixels, as the KITTI devkit "
    "pools pixels); *_image_mean are means over images of each image's value. Fl-all: EPE > 3 px "
    "and > 5 % of |gt|. Speed bins by |gt|: [0,10), [10,40), [40,inf) px. noc/occ only where "
    "the dataset has occlusion. Segmentation: IoU, Dice (foreground classes) and pixel error "
    "pooled per pixel; adapted Rand error averaged over images. Stereo: EPE (mean absolute "
    "disparity error), D1 (error > 3 px and > 5 % of the true disparity), >1px / >3px (error "
    "above 1 / 3 px) pooled per pixel over valid pixels, noc over valid non-occluded ones; the "
    "constant row predicts the median of the dataset's own valid true disparities everywhere "
    "(an oracle constant: the one with the least EPE)."
)


def scale_note(scale: float) -> str:
    """One sentence saying at which scale the datasets were evaluated."""
    if scale == 1.0:
        return "Scale 1: datasets evaluated at their own resolution."
    return (
        f"Scale {scale:g}: every pair downsampled to round(H*{scale:g}) x round(W*{scale:g}) "
        "before evaluation (images area-averaged; flow the valid-weighted area average times "
        "the size ratio, valid where at least half the covered input pixels are valid, occluded "
        "where at least half the covered valid pixels are); EPE in downsampled pixels."
    )


#: (key, header, format: 'f' number, '%' percentage of a share)
FLOW_COLUMNS = (
    ("epe", "EPE", "f"),
    ("epe_image_mean", "EPE (img)", "f"),
    ("epe_noc", "noc", "f"),
    ("epe_occ", "occ", "f"),
    ("acc_1px", "<1px %", "%"),
    ("acc_3px", "<3px %", "%"),
    ("acc_5px", "<5px %", "%"),
    ("fl_all", "Fl-all %", "%"),
    ("s0-10", "s0-10", "f"),
    ("s10-40", "s10-40", "f"),
    ("s40+", "s40+", "f"),
)
SEGMENTATION_COLUMNS = (
    ("iou", "IoU", "f"),
    ("dice", "Dice", "f"),
    ("pixel_error", "pixel error", "f"),
    ("rand_error", "Rand error", "f"),
)
STEREO_COLUMNS = (
    ("epe", "EPE", "f"),
    ("epe_noc", "noc", "f"),
    ("d1", "D1 %", "%"),
    ("d1_noc", "D1 noc %", "%"),
    ("bad_1px", ">1px %", "%"),
    ("bad_3px", ">3px %", "%"),
    ("bad_3px_noc", ">3px noc %", "%"),
)
COLUMNS = {"segmentation": SEGMENTATION_COLUMNS, "stereo": STEREO_COLUMNS}
METHOD_NAMES = {"model": "model", "zero_flow": "zero flow"}


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}" if kind == "%" else f"{value:.3f}"


def markdown_table(document: dict[str, Any]) -> str:
    """One row per (dataset, method): the model's row, then the zero-flow baseline (stereo: the
    constant-disparity baseline, named with its disparity)."""
    columns = COLUMNS.get(str(document.get("task")), FLOW_COLUMNS)
    lines = [
        "| dataset | method | images | " + " | ".join(h for _, h, _ in columns) + " |",
        "|---|---|---:|" + "---:|" * len(columns),
    ]
    for spec, methods in document["datasets"].items():
        for method, summary in methods.items():
            cells = [_cell(summary.get(key), kind) for key, _, kind in columns]
            name = METHOD_NAMES.get(method, method)
            if "disparity" in summary:
                name = f"{name} d={summary['disparity']:.2f}"
            lines.append(f"| {spec} | {name} | {summary['images']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(path: str | os.PathLike[str], document: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``path`` (JSON) and the Markdown table beside it (``.md``), atomically."""
    path = Path(path)
    markdown = path.with_suffix(".md")
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    atomic_write_bytes(path, text.encode())
    header = f"# Evaluation of {document.get('checkpoint') or 'zero flow'}\n\n"
    header += f"{scale_note(float(document.get('scale', 1.0)))}\n\n"
    atomic_write_bytes(markdown, (header + markdown_table(document) + f"\n{POOLING}\n").encode())
    return path, markdown
