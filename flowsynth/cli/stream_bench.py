"""``flowsynth stream-bench RECIPE --workers K --batch B``: arguments and handler.

Importing this module is cheap (no torch); torch loads when the command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from flowsynth.cli.help import add_overrides


def add_stream_bench_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``stream-bench`` command to ``subparsers`` (from ``add_subparsers``).

    The parser's ``handler`` default is :func:`run_stream_bench`.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stream-bench",
        help="measure how fast a recipe streams into torch (samples/s, batches/s)",
    )
    parser.add_argument("recipe", help="recipe file or built-in name (ablation/deformations)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (default 0)")
    parser.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--batches", type=int, default=20, help="batches to time (default 20)")
    parser.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=None,
        metavar=("H", "W"),
        help="frame height and width (default: the recipe's)",
    )
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    add_overrides(parser)
    parser.add_argument(
        "--augment",
        action="store_true",
        help="also apply the default training augmentation (flips, colour jitter)",
    )
    parser.set_defaults(handler=run_stream_bench)
    return parser


def run_stream_bench(args: argparse.Namespace) -> int:
    """Run the benchmark the parsed ``args`` describe; prints one line, returns 0."""
    # data.bench loads torch and data.augment numba: this module stays torch-free until it runs.
    from flowsynth.data.augment import AugmentConfig
    from flowsynth.data.bench import stream_bench

    stream_bench(
        args.recipe,
        args.workers,
        args.batch,
        args.batches,
        None if args.size is None else (args.size[0], args.size[1]),
        seed=args.seed,
        overrides=args.overrides,
        augment=AugmentConfig() if args.augment else None,
    )
    return 0
