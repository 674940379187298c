"""``flowsynth ablation flow|segmentation``: argument parsing only."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flowsynth.ablation.flow import run_flow_ablation
from flowsynth.ablation.presets import PRESETS as FLOW_PRESETS
from flowsynth.ablation.segmentation import run_segmentation_ablation
from flowsynth.ablation.segpresets import DATASETS as SEGMENTATION_DATASETS
from flowsynth.ablation.segpresets import PRESETS as SEGMENTATION_PRESETS
from flowsynth.data.names import BENCHMARKS, dataset_folder


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``ablation`` command (with ``flow`` and ``segmentation``) to ``commands``."""
    parser = commands.add_parser(
        "ablation", help="run the simple-objects (flow) or elastic (segmentation) ablation"
    )
    kinds = parser.add_subparsers(dest="experiment", required=True)
    flow = _add_flow_parser(kinds)
    segmentation = _add_segmentation_parser(kinds)
    for sub in (flow, segmentation):
        _add_common_options(sub)
    return parser


def _add_flow_parser(kinds: Any) -> argparse.ArgumentParser:
    """The ``ablation flow`` subcommand: rows, curriculum, FlyingChairs, real data, preset."""
    flow = kinds.add_parser("flow", help="train every recipes/ablation row, evaluate, tabulate")
    flow.add_argument("--rows", nargs="*", default=None, help="rows (default: all nine)")
    flow.add_argument(
        "--curriculum",
        action="store_true",
        help="also polygons_ellipses then deformations, half the budget each",
    )
    flow.add_argument(
        "--chairs",
        type=Path,
        default=None,
        help="an official FlyingChairs folder: adds the row trained on it (the paper's reference)",
    )
    flow.add_argument(
        "--no-real-data",
        dest="real_data",
        action="store_false",
        help="evaluate on the held-out synthetic set only; without it, the data root "
        "(--data-root or $FLOWSYNTH_DATA_ROOT) must hold at least one of "
        f"{', '.join(sorted({f'{dataset_folder(name)}/' for name in BENCHMARKS}))}, "
        "checked before any training",
    )
    flow.add_argument(
        "--preset",
        choices=list(FLOW_PRESETS),
        default="cpu",
        help="budget (default cpu): "
        + "; ".join(f"{name}: {p.description}" for name, p in FLOW_PRESETS.items()),
    )
    flow.add_argument("--seeds", type=int, default=3, help="seeds per row (default 3)")
    return flow


def _add_segmentation_parser(kinds: Any) -> argparse.ArgumentParser:
    """The ``ablation segmentation`` subcommand: preset, datasets and seeds."""
    segmentation = kinds.add_parser(
        "segmentation",
        help="U-Net on a few ISBI / DRIVE images: no/affine/elastic augmentation x "
        "weighted/plain loss x training-set size",
    )
    segmentation.add_argument(
        "--preset",
        choices=list(SEGMENTATION_PRESETS),
        default="cpu",
        help="budget (default cpu): "
        + "; ".join(f"{name}: {p.description}" for name, p in SEGMENTATION_PRESETS.items()),
    )
    segmentation.add_argument(
        "--datasets",
        nargs="+",
        choices=list(SEGMENTATION_DATASETS),
        default=None,
        help="datasets to run (default: all the preset's; each must be under the data root: "
        + ", ".join(f"{d.folder}/" for d in SEGMENTATION_DATASETS.values())
        + ", checked before any training)",
    )
    segmentation.add_argument("--seeds", type=int, default=3, help="seeds per row (default 3)")
    return segmentation


def _add_common_options(sub: argparse.ArgumentParser) -> None:
    """Options both experiments take: output folder, data root, device, runs at once."""
    sub.add_argument("--out", type=Path, required=True, help="output folder")
    sub.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="real datasets (default $FLOWSYNTH_DATA_ROOT)",
    )
    sub.add_argument("--device", default="auto", help="auto, cpu or cuda")
    sub.add_argument(
        "--parallel", type=int, default=None, help="runs at once (default: the preset's)"
    )


def run(args: argparse.Namespace) -> int:
    if args.seeds is not None and args.seeds < 1:
        raise ValueError("--seeds must be >= 1")
    if args.experiment == "flow":
        run_flow_ablation(
            args.out,
            preset=args.preset,
            seeds=args.seeds,
            rows=args.rows,
            curriculum=args.curriculum,
            data_root=args.data_root,
            real_data=args.real_data,
            device=args.device,
            parallel=args.parallel,
            chairs=args.chairs,
        )
    else:
        run_segmentation_ablation(
            args.out,
            preset=args.preset,
            seeds=args.seeds,
            datasets=tuple(args.datasets) if args.datasets else None,
            data_root=args.data_root,
            device=args.device,
            parallel=args.parallel,
        )
    print((args.out / "results.md").read_text())
    print(f"wrote {args.out / 'results.json'}, results.md and results*.png")
    return 0
