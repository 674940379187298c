"""``flowsynth evaluate``: arguments and handler (torch is imported only when it runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowsynth.data.names import ALIASES, FOLDERS
from flowsynth.evaluate.datasets import DEFAULT_RECIPE_COUNT, DEFAULT_RECIPE_SEED
from flowsynth.evaluate.report import markdown_table, write_results


def scale_argument(text: str) -> float:
    """``--scale``: a number with ``0 < S <= 1`` (argparse reports anything else)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1], got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"must be in (0, 1] (a downsampling factor: 0.5 halves width and height), got {text}"
        )
    return value


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``evaluate`` subcommand to ``commands``."""
    parser = commands.add_parser(
        "evaluate",
        help="EPE / Fl / accuracy of a checkpoint (and zero flow) on flow datasets; stereo "
        "checkpoints: EPE / D1 / bad pixels (and a constant disparity) on stereo pairs",
        description="Evaluate a 'flowsynth train' checkpoint. Writes OUT (JSON) and OUT.md. "
        "Flow checkpoints get a zero-flow row per dataset; stereo checkpoints a "
        "constant-disparity row (the median of the dataset's own true disparities).",
    )
    _add_inputs(parser)
    _add_options(parser)
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """What is evaluated and where results go: checkpoint, datasets, data root, output."""
    parser.add_argument(
        "checkpoint",
        nargs="?",
        type=Path,
        default=None,
        help="RUN_DIR/checkpoint.pt (or RUN_DIR); leave out with --zero-flow or "
        "--constant-disparity",
    )
    parser.add_argument(
        "--dataset",
        dest="datasets",
        action="append",
        default=[],
        metavar="SPEC",
        help="NAME (a folder under --data-root), NAME=ROOT or recipe:RECIPE; names: "
        f"{', '.join([*FOLDERS, *ALIASES])}; segmentation checkpoints: isbi2012_em[25:]; "
        "stereo checkpoints: middlebury_stereo, kitti_stereo=PATH, flowsynth_stereo=PATH, "
        "recipe:stereo/default; repeatable",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder of datasets (default $FLOWSYNTH_DATA_ROOT)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results JSON to write (a Markdown table goes beside it as .md)",
    )
    parser.add_argument(
        "--zero-flow",
        action="store_true",
        help="evaluate only the zero-flow baseline (no checkpoint)",
    )
    parser.add_argument(
        "--constant-disparity",
        action="store_true",
        help="evaluate only the constant-disparity baseline on stereo datasets (no "
        "checkpoint): the median of each dataset's own true disparities",
    )


def _add_options(parser: argparse.ArgumentParser) -> None:
    """How it is evaluated: device, image count, recipe samples, scale, progress bar."""
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument(
        "--max-images",
        type=int,
        default=None,
        metavar="N",
        help="only the first N images of each dataset",
    )
    parser.add_argument(
        "--recipe-seed",
        type=int,
        default=DEFAULT_RECIPE_SEED,
        help=f"seed of recipe:NAME samples, flow or stereo (default {DEFAULT_RECIPE_SEED})",
    )
    parser.add_argument(
        "--recipe-count",
        type=int,
        default=DEFAULT_RECIPE_COUNT,
        help=f"samples of recipe:NAME (default {DEFAULT_RECIPE_COUNT})",
    )
    parser.add_argument(
        "--scale",
        type=scale_argument,
        default=1.0,
        metavar="S",
        help="downsample every flow pair by S (0 < S <= 1) before evaluating: images "
        "area-averaged, flow the valid-weighted area average times S, valid where at least "
        "half the covered pixels are (default 1: full resolution)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Handle ``flowsynth evaluate``."""
    from flowsynth.evaluate.run import evaluate  # loads torch: only when the command runs

    baselines = int(args.zero_flow) + int(args.constant_disparity)
    if baselines > 1 or (baselines == 1) == (args.checkpoint is not None):
        raise ValueError(
            "give a checkpoint, or one of --zero-flow and --constant-disparity without one"
        )
    document = evaluate(
        args.checkpoint,
        args.datasets,
        data_root=args.data_root,
        device=args.device,
        max_images=args.max_images,
        recipe_seed=args.recipe_seed,
        recipe_count=args.recipe_count,
        progress=not args.no_progress,
        scale=args.scale,
        baseline_task="stereo" if args.constant_disparity else "flow",
    )
    if document["scale"] != 1.0:
        print(f"{document['scale_note']}\n")
    print(markdown_table(document), end="")
    if args.out is not None:
        json_path, markdown = write_results(args.out, document)
        print(f"wrote {json_path} and {markdown}", file=sys.stderr)
    return 0
