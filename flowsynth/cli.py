"""The ``flowsynth`` command line: argument parsing only; the work happens in the library."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from flowsynth import __version__
from flowsynth.io.errors import FileFormatError
from flowsynth.recipe import RecipeError


def _add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recipe", help="recipe file or built-in name (default, ablation/boxes, ...)"
    )
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, value in YAML (e.g. objects.count=[8,12]); repeatable",
    )
    parser.add_argument(
        "--textures",
        type=Path,
        default=None,
        help="folder of images for the 'folder' texture kind",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowsynth",
        description="Synthetic flow and segmentation data with exact ground truth.",
    )
    parser.add_argument("--version", action="version", version=f"flowsynth {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a flow dataset (FlyingChairs2 layout)")
    _add_recipe_arguments(generate)
    generate.add_argument("--out", type=Path, required=True, help="output folder")
    generate.add_argument("--count", type=int, required=True, help="number of samples")
    generate.add_argument("--start", type=int, default=0, help="index of the first sample")
    generate.add_argument(
        "--compression",
        type=int,
        default=1,
        choices=range(10),
        metavar="0-9",
        help="PNG zlib level (default 1: fast; 9: smallest)",
    )
    generate.add_argument(
        "--preview",
        type=int,
        default=4,
        metavar="K",
        help="also write OUT/preview.png of the first K samples (0: none; default 4)",
    )

    preview = commands.add_parser("preview", help="write a contact sheet of a recipe's samples")
    _add_recipe_arguments(preview)
    preview.add_argument("--out", type=Path, required=True, help="PNG file to write")
    preview.add_argument("--count", type=int, default=4, help="number of samples (rows)")
    preview.add_argument("--start", type=int, default=0, help="index of the first sample")
    preview.add_argument("--scale", type=float, default=0.5, help="scale of each image")
    return parser


def _load(args: argparse.Namespace):
    from flowsynth.recipe import load_recipe

    return load_recipe(args.recipe, args.overrides)


def _write_preview(path: Path, recipe, args: argparse.Namespace, count: int, textures) -> None:
    from flowsynth.generate import render_sample
    from flowsynth.io.images import write_png
    from flowsynth.preview import preview_sheet

    samples = [
        render_sample(recipe, args.seed, args.start + i, texture_images=textures)
        for i in range(count)
    ]
    write_png(path, preview_sheet(samples, scale=getattr(args, "scale", 0.5)), compression=3)


def _generate(args: argparse.Namespace) -> int:
    from flowsynth.generate import generate_chunk, load_texture_images, metadata, prepare_output

    if args.count < 0 or args.start < 0:
        raise ValueError("--count and --start must be >= 0")
    recipe = _load(args)
    textures = load_texture_images(args.textures)
    prepare_output(args.out, metadata(recipe, args.seed, textures=args.textures))
    began = time.perf_counter()
    records = generate_chunk(
        recipe,
        args.seed,
        range(args.start, args.start + args.count),
        args.out,
        compression=args.compression,
        texture_images=textures,
    )
    seconds = time.perf_counter() - began
    megabytes = sum(r["bytes"] for r in records.values()) / 1e6
    if args.preview > 0:
        _write_preview(
            args.out / "preview.png", recipe, args, min(args.preview, args.count), textures
        )
    print(
        f"wrote {args.count} samples ({len(records)} files, {megabytes:.1f} MB) to {args.out} "
        f"in {seconds:.1f} s ({args.count / max(seconds, 1e-9):.1f} samples/s)"
    )
    return 0


def _preview(args: argparse.Namespace) -> int:
    from flowsynth.generate import load_texture_images

    recipe = _load(args)
    textures = load_texture_images(args.textures)
    _write_preview(args.out, recipe, args, args.count, textures)
    print(f"wrote {args.out}")
    return 0


COMMANDS = {"generate": _generate, "preview": _preview}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (RecipeError, FileFormatError, FileNotFoundError, ValueError) as error:
        print(f"flowsynth {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"flowsynth {args.command}: interrupted", file=sys.stderr)
        return 130
    except RuntimeError as error:  # e.g. DatasetMismatchError
        print(f"flowsynth {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
