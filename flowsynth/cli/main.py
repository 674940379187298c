"""The ``flowsynth`` command line: argument parsing only; the work happens in the library."""

from __future__ import annotations

import argparse
import errno
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from flowsynth import __version__
from flowsynth.base.notes import note_once
from flowsynth.cli import ablation as ablation_command
from flowsynth.cli import evaluate as evaluate_command
from flowsynth.cli import recipes as recipes_command
from flowsynth.cli import train as train_command
from flowsynth.cli import verify as verify_command
from flowsynth.cli.help import HelpFormatter, add_overrides, command_help
from flowsynth.cli.stream_bench import add_stream_bench_command, run_stream_bench  # torch-free
from flowsynth.io.errors import FileFormatError
from flowsynth.io.images import write_png
from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.load import load_recipe


def _add_recipe_arguments(parser: argparse.ArgumentParser, *, textures: bool = True) -> None:
    parser.add_argument(
        "recipe",
        help="recipe file or built-in name (default, ablation/boxes, elastic/unet, ...)",
    )
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    add_overrides(parser)
    if textures:
        parser.add_argument(
            "--textures",
            type=Path,
            default=None,
            help="folder of images for the 'folder' texture kind",
        )


def _add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """Where and how many samples ``generate`` and ``deform`` write."""
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--count", type=int, required=True, help="number of samples")
    parser.add_argument("--start", type=int, default=0, help="index of the first sample")
    parser.add_argument(
        "--compression",
        type=int,
        default=1,
        choices=range(10),
        metavar="0-9",
        help="PNG compression: 0-3 fast (ISA-L deflate), "
        "4-9 smaller and several times slower (zlib)",
    )
    parser.add_argument(
        "--preview",
        type=int,
        default=4,
        metavar="K",
        help="also write OUT/preview.png of the first K (2D) samples (0: none)",
    )
    _add_scale_arguments(parser)


def _add_scale_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        "--layout",
        dest="layout",
        choices=("files", "shards", "flyingthings3d"),
        default="files",
        help="files: FlyingChairs2 files (sequences: MPI Sintel's tree); shards: WebDataset "
        "tar shards, one per chunk (pairs, stereo pairs and scene flow); flyingthings3d: stereo "
        "pairs or scene flow in FlyingThings3D's tree (frames_cleanpass/, disparity/, "
        "optical_flow/, disparity_change/), read by its loaders as is",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="worker processes (default: all cores; 1: in this process)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="N",
        help="samples per chunk and per shard (default: the folder's, else 64)",
    )
    parser.add_argument(
        "--executor",
        choices=("loky", "serial", "dask", "ray"),
        default=None,
        help="loky: process pool on this machine (default); dask or ray: a cluster (or a local "
        "one of --workers processes without --scheduler)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler (tcp://host:8786; implies --executor dask unless --executor ray) "
        "or Ray cluster address (auto, ray://host:10001)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowsynth",
        description="Synthetic flow and segmentation data with exact ground truth.",
        epilog="start with: flowsynth recipes; flowsynth preview default --out sheet.png",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flowsynth {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_stream_bench_command(commands)

    generate = commands.add_parser(
        "generate",
        help="write a flow or stereo dataset (files, shards or a FlyingThings3D tree); run it "
        "again to resume",
        **command_help(  # type: ignore[arg-type]
            "Write samples [start, start + count) of a flow recipe into OUT: FlyingChairs2-style\n"
            "files (or tar shards), OUT/flowsynth.json (recipe, seed, versions), a manifest per\n"
            "chunk, OUT/README.md (a dataset card) and OUT/preview.png. Sample i depends only on\n"
            "(recipe, seed, i). Interrupted? Run the same command again to resume.",
            "flowsynth generate default --out data/train --count 22232",
            "flowsynth generate ablation/boxes --out boxes --count 1000 --set size=[192,256]",
            "flowsynth generate default --out tex --count 100 --textures ~/photos",
            "flowsynth generate stereo/default --out st --count 1000 --format flyingthings3d",
            "flowsynth generate stereo/sceneflow --out sf --count 1000 --format flyingthings3d",
        ),
    )
    _add_recipe_arguments(generate)
    _add_dataset_arguments(generate)

    deform = commands.add_parser(
        "deform",
        help="write elastically deformed image/label pairs (kind: elastic recipes)",
        **command_help(  # type: ignore[arg-type]
            "Write elastically deformed copies of example image/label pairs (2D or 3D): labels\n"
            "keep exactly their values. Needs an elastic recipe and the examples' folders.",
            "flowsynth deform elastic/unet --images em/image --labels em/label "
            "--out em_deformed --count 500",
        ),
    )
    deform.add_argument("--images", type=Path, required=True, help="folder of example images")
    deform.add_argument("--labels", type=Path, required=True, help="folder of their label maps")
    _add_recipe_arguments(deform, textures=False)
    _add_dataset_arguments(deform)

    verify_command.add_parser(commands)

    preview = commands.add_parser(
        "preview",
        help="write a contact sheet of a recipe's samples",
        **command_help(  # type: ignore[arg-type]
            "Render a few samples of a recipe without writing a dataset, as one PNG: frames,\n"
            "flow colours, occlusion and segmentation side by side, a row per sample. A sequence\n"
            "recipe (frames > 2) gives a sheet per sequence: frames, neighbour flows, occlusions\n"
            "and visibility from the first frame, in OUT for one sequence, else in sheet-0.png,\n"
            "sheet-1.png, ... (OUT's name with the sequence index) for --out sheet.png.",
            "flowsynth preview default --out sheet.png --count 4",
            "flowsynth preview sequences/default --out sequence.png --count 1",
            "flowsynth preview elastic/unet --images em/image --labels em/label --out em.png",
        ),
    )
    _add_recipe_arguments(preview)
    preview.add_argument("--out", type=Path, required=True, help="PNG file to write (.png)")
    preview.add_argument("--count", type=int, default=4, help="number of samples (rows)")
    preview.add_argument("--start", type=int, default=0, help="index of the first sample")
    preview.add_argument(
        "--scale",
        type=float,
        default=None,
        help="scale of each image (default: 0.5 for flow recipes, 1 for elastic ones)",
    )
    preview.add_argument(
        "--images", type=Path, default=None, help="elastic recipes: folder of example images"
    )
    preview.add_argument(
        "--labels", type=Path, default=None, help="elastic recipes: folder of their label maps"
    )

    recipes_command.add_parser(commands)
    train_command.add_parser(commands)
    evaluate_command.add_parser(commands)
    ablation_command.add_parser(commands)
    return parser


def _announce_compiling() -> None:
    """Say why the first run on a machine is silent for a while, before the kernels import."""
    # numba loads with base.compiled: only the commands that render pay for it.
    from flowsynth.base import compiled

    if compiled.kernel_cache_is_cold():
        folders = compiled.kernel_cache_folders()
        where = folders[0] if len(folders) == 1 else folders[0].parents[1] / "*" / "__pycache__"
        note_once(
            "compiling", f"compiling flowsynth's kernels once (cached in {where}): about 20 s ..."
        )


def _load(args: argparse.Namespace):
    return load_recipe(args.recipe, args.overrides)


def _write_preview(path: Path, recipe, args: argparse.Namespace, count: int, textures) -> None:
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.render.layers import render_sample
    from flowsynth.render.stereo import render_scene_flow_sample, render_stereo_sample
    from flowsynth.viz.sheets import preview_sheet, scene_flow_preview_sheet, stereo_preview_sheet

    indices = range(args.start, args.start + count)
    scale = getattr(args, "scale", None)
    scale = 0.5 if scale is None else scale
    if recipe.stereo.scene_flow:  # a row per time: views, disparity, occlusion; flow, change
        scenes = [
            render_scene_flow_sample(recipe, args.seed, i, texture_images=textures) for i in indices
        ]
        sheet = scene_flow_preview_sheet(scenes, scale=scale, indices=indices)
    elif recipe.stereo.enabled:  # left, right, disparity (colour-mapped as such), occlusion
        pairs = [
            render_stereo_sample(recipe, args.seed, i, texture_images=textures) for i in indices
        ]
        sheet = stereo_preview_sheet(pairs, scale=scale, indices=indices)
    else:
        samples = [render_sample(recipe, args.seed, i, texture_images=textures) for i in indices]
        sheet = preview_sheet(samples, scale=scale, indices=indices)
    write_png(path, sheet, compression=3)


def _write_dataset(args: argparse.Namespace, kind: str, **inputs: object):
    """Load the recipe, check its kind, and run ``generate_dataset`` as the flags say."""
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.dataset.write import generate_dataset

    if args.count < 1:
        raise ValueError(f"--count must be >= 1 (the number of samples to write), got {args.count}")
    if args.start < 0 or args.seed < 0:
        raise ValueError("--start and --seed must be >= 0")
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be >= 1")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise ValueError(f"--chunk-size must be >= 1, got {args.chunk_size}")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder: pass a new or dataset folder")
    _check_input_folders(args)
    recipe = _load(args)
    if recipe.kind != kind:
        other = "deform" if recipe.kind == "elastic" else "generate"
        raise ValueError(
            f"{args.recipe} is a recipe of kind {recipe.kind!r}: use 'flowsynth {other}'"
        )
    summary = generate_dataset(
        recipe,
        args.seed,
        args.out,
        count=args.count,
        start=args.start,
        layout=args.layout,
        chunk_size=args.chunk_size,
        compression=args.compression,
        executor=args.executor or ("dask" if args.scheduler else "loky"),
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.no_progress,
        **inputs,  # type: ignore[arg-type]
    )
    return recipe, summary


def _input_folders(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """The input folders the flags name: ``--textures``, ``--images``, ``--labels``."""
    flags = (("--textures", "textures"), ("--images", "images"), ("--labels", "labels"))
    return [(f, getattr(args, a)) for f, a in flags if getattr(args, a, None) is not None]


def _check_input_folders(args: argparse.Namespace) -> None:
    """Refuse a ``--textures``/``--images``/``--labels`` folder that is missing or not a folder."""
    for flag, folder in _input_folders(args):
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise ValueError(f"{flag} {folder}: the folder {what}")


def _generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()  # the summary's time includes compiling the kernels
    _announce_compiling()
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.dataset.kinds import load_texture_images

    recipe, summary = _write_dataset(args, "flow", textures=args.textures)
    seconds = time.perf_counter() - started
    if args.preview > 0 and args.count > 0:
        textures = load_texture_images(args.textures)
        if recipe.frames > 2:  # one sheet: the first sequence, every frame of it
            _write_sequence_previews(args.out / "preview.png", recipe, args, 1, textures)
        else:
            _write_preview(
                args.out / "preview.png", recipe, args, min(args.preview, args.count), textures
            )
    _report(summary, args.out, seconds)
    return 0


def _deform(args: argparse.Namespace) -> int:
    started = time.perf_counter()  # the summary's time includes compiling the kernels
    _announce_compiling()
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.deform.pairs import load_pairs
    from flowsynth.deform.recipe import elastic_sample
    from flowsynth.viz.sheets import elastic_preview_sheet

    recipe, summary = _write_dataset(args, "elastic", examples=(args.images, args.labels))
    seconds = time.perf_counter() - started
    examples = load_pairs(args.images, args.labels)
    if args.preview > 0 and args.count > 0 and examples[0].label.ndim == 2:
        indices = range(args.start, args.start + min(args.preview, args.count))
        samples = [elastic_sample(recipe, examples, args.seed, i) for i in indices]
        sources = [examples[i % len(examples)] for i in indices]
        sheet = elastic_preview_sheet(sources, samples, indices=indices)
        write_png(args.out / "preview.png", sheet, compression=3)
    _report(summary, args.out, seconds)
    return 0


def _report(summary, out: Path, seconds: float) -> None:
    """The one-line summary; ``seconds`` from the command's start (imports and compiling too)."""
    resumed = (
        f"; {summary.chunks_skipped} chunks were already done (to check their files: "
        f"flowsynth verify {out}, then --repair)"
        if summary.chunks_skipped
        else ""
    )
    print(
        f"wrote {summary.written} samples ({summary.chunks_written} chunks, "
        f"{summary.bytes_written / 1e6:.1f} MB) to {out} in {seconds:.1f} s "
        f"({summary.written / max(seconds, 1e-9):.1f} samples/s, "
        f"{summary.bytes_written / 1e6 / max(seconds, 1e-9):.1f} MB/s){resumed}"
    )


def _preview(args: argparse.Namespace) -> int:
    _announce_compiling()
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.dataset.kinds import load_texture_images

    if args.count < 1 or args.seed < 0:
        raise ValueError("--count must be >= 1 and --seed >= 0")
    if args.out.suffix.lower() != ".png":
        raise ValueError(f"--out {args.out}: preview writes a PNG image; name it *.png")
    _check_input_folders(args)
    recipe = _load(args)
    if recipe.kind == "elastic":
        _write_elastic_preview(recipe, args)
    else:
        if args.images is not None or args.labels is not None:
            raise ValueError(f"--images and --labels are for elastic recipes, not {args.recipe}")
        textures = load_texture_images(args.textures)
        if recipe.frames > 2:
            for path in _write_sequence_previews(args.out, recipe, args, args.count, textures):
                print(f"wrote {path}")
            return 0
        _write_preview(args.out, recipe, args, args.count, textures)
    print(f"wrote {args.out}")
    return 0


def _sequence_preview_paths(out: Path, indices: Sequence[int]) -> list[Path]:
    """Where the sheets of sequences ``indices`` go: ``out`` itself for one sequence, else
    ``out`` with ``-{index}`` before its suffix (``sheet-0.png``, ``sheet-1.png``, ...)."""
    if len(indices) == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{index}{out.suffix}") for index in indices]


def _write_sequence_previews(
    out: Path, recipe, args: argparse.Namespace, count: int, textures
) -> list[Path]:
    """One sheet per sequence of a sequence recipe (``frames`` > 2); returns the paths."""
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.render.sequence import render_sequence_sample
    from flowsynth.viz.sheets import sequence_preview_sheet

    indices = range(args.start, args.start + count)
    paths = _sequence_preview_paths(out, indices)
    scale = getattr(args, "scale", None)
    for index, path in zip(indices, paths, strict=True):
        sequence = render_sequence_sample(recipe, args.seed, index, texture_images=textures)
        sheet = sequence_preview_sheet(sequence, scale=0.5 if scale is None else scale, index=index)
        write_png(path, sheet, compression=3)
    return paths


def _write_elastic_preview(recipe, args: argparse.Namespace) -> None:
    """The contact sheet of an elastic recipe: its examples from ``--images``/``--labels``."""
    # numba kernels load on import: only the commands that render pay for them.
    from flowsynth.deform.pairs import load_pairs
    from flowsynth.deform.recipe import elastic_sample
    from flowsynth.viz.sheets import elastic_preview_sheet

    if args.images is None or args.labels is None:
        raise ValueError(
            f"{args.recipe} is an elastic recipe: it deforms examples, so preview needs"
            f" --images DIR --labels DIR (as 'flowsynth deform' does, which also writes"
            f" OUT/preview.png)"
        )
    examples = load_pairs(args.images, args.labels)
    if examples[0].label.ndim != 2:
        raise ValueError(
            f"preview shows 2D examples; {args.images} holds 3D volumes: run 'flowsynth deform'"
        )
    indices = range(args.start, args.start + args.count)
    samples = [elastic_sample(recipe, examples, args.seed, i) for i in indices]
    sources = [examples[i % len(examples)] for i in indices]
    scale = 1.0 if args.scale is None else args.scale
    sheet = elastic_preview_sheet(sources, samples, scale=scale, indices=indices)
    write_png(args.out, sheet, compression=3)


COMMANDS = {
    "generate": _generate,
    "deform": _deform,
    "preview": _preview,
    "verify": verify_command.run,
    "recipes": recipes_command.run,
    "stream-bench": run_stream_bench,
    "train": train_command.run,
    "evaluate": evaluate_command.run,
    "ablation": ablation_command.run,
}


_RESUME_HINT = {
    "generate": "; run the same command again to resume",
    "deform": "; run the same command again to resume",
    "train": "; run the same command with --resume to continue from the last checkpoint",
}


def _os_error(error: OSError, args: argparse.Namespace) -> str:
    """An OS error's text, naming the file or at least the folder being written."""
    text = str(error)
    if error.filename is None and getattr(args, "out", None) is not None:
        text += f" (writing into {args.out})"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (RecipeError, FileFormatError, FileNotFoundError, ValueError) as error:
        print(f"flowsynth {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = _RESUME_HINT.get(args.command, "")
        print(f"flowsynth {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except RuntimeError as error:  # e.g. DatasetMismatchError
        print(f"flowsynth {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a full disk
        hint = _RESUME_HINT.get(args.command, "")
        if error.errno == errno.ENOSPC and hint:
            hint = "; free some space, then" + hint.removeprefix(";")
        print(f"flowsynth {args.command}: error: {_os_error(error, args)}{hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
