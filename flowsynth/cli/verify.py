"""``flowsynth verify DIR [--repair]``: check a dataset against its manifests, and rewrite the
chunks of damaged files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowsynth.cli.help import command_help
from flowsynth.dataset.verify import verify_dataset


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``verify`` command to ``commands``."""
    parser = commands.add_parser(
        "verify",
        help="check a dataset against its manifests (missing, extra, corrupt files); --repair",
        **command_help(  # type: ignore[arg-type]
            "Check every file of a dataset written by 'flowsynth generate' or 'deform' against\n"
            "its manifests (size and sha256) and list what is missing, cut, altered or foreign.\n"
            "With --repair, write again the chunks of the damaged files, byte for byte as the\n"
            "first run did, from the recipe and seed DIR/flowsynth.json records.",
            "flowsynth verify data/train",
            "flowsynth verify data/train --count 22232 --quick",
            "flowsynth verify data/train --repair",
        ),
    )
    parser.add_argument("out", type=Path, help="dataset folder")
    parser.add_argument(
        "--count", type=int, default=None, help="also require this many samples from --start"
    )
    parser.add_argument("--start", type=int, default=0, help="first required index")
    parser.add_argument(
        "--quick", action="store_true", help="check sizes only, do not hash the files"
    )
    repair = parser.add_argument_group("repair")
    repair.add_argument(
        "--repair",
        action="store_true",
        help="write again the chunks of missing, cut or altered files (and, with --count, the "
        "missing samples), then check again",
    )
    repair.add_argument(
        "--textures",
        type=Path,
        default=None,
        help="the texture folder, if it moved (default: the one flowsynth.json records)",
    )
    repair.add_argument(
        "--images", type=Path, default=None, help="elastic datasets: example images, if moved"
    )
    repair.add_argument(
        "--labels", type=Path, default=None, help="elastic datasets: label maps, if moved"
    )
    repair.add_argument(
        "--workers", type=int, default=None, metavar="K", help="worker processes (default: all)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Verify (and with ``--repair`` first repair) ``args.out``."""
    if (args.images is None) != (args.labels is None):
        raise ValueError("pass --images and --labels together")
    if args.repair:
        _repair(args)
    report = verify_dataset(args.out, start=args.start, count=args.count, quick=args.quick)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if not report.ok:
        for problem in report.problems:
            print(problem, file=sys.stderr)
        count = len(report.problems)
        print(f"{args.out}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        if not args.repair:
            print(
                f"to write the damaged chunks again: flowsynth verify {args.out} --repair"
                + (f" --start {args.start} --count {args.count}" if args.count else ""),
                file=sys.stderr,
            )
        return 1
    print(f"{args.out}: OK, {report.summary()}")
    return 0


def _repair(args: argparse.Namespace) -> None:
    # numba kernels load on import: only a repair pays for them.
    from flowsynth.dataset.repair import repair_dataset

    examples = None if args.images is None else (args.images, args.labels)
    summary = repair_dataset(
        args.out, textures=args.textures, examples=examples, workers=args.workers
    )
    if args.count:
        _complete(args, examples)
    chunks = len(summary.chunks)
    print(
        f"repaired {args.out}: wrote {summary.samples} samples again "
        f"({chunks} chunk{'s' if chunks != 1 else ''})",
        file=sys.stderr,
    )


def _complete(args: argparse.Namespace, examples: tuple[Path, Path] | None) -> None:
    """With ``--count``: write the requested samples no chunk holds."""
    from flowsynth.dataset.repair import complete_dataset

    complete_dataset(
        args.out,
        start=args.start,
        count=args.count,
        textures=args.textures,
        examples=examples,
        workers=args.workers,
    )
