"""Render speed: ms per 512x384 pair for every ablation recipe, render alone and render + write.

Run: ``python benchmarks/bench_generate.py [--pairs N] [--recipes boxes deformations ...]``.
One process, one thread (OpenCV threads off), so the figures are per core. Each stage runs
``--repeats`` times over the same pairs and its best run counts. Samples are rendered, encoded
and dropped one at a time, as ``flowsynth generate`` does (a list of rendered samples would make
every render fault in fresh memory, which the writer never pays).

The machine may be shared and noisy, so every recipe's row also gives its render time, and its
sample + render time, as multiples of a floor timed right after each sampling and each render:
one ``cv2.remap`` (bilinear, float32 maps) of a 512x384 RGB frame, the warp that drawing frame 2
cannot do without. The ratio follows the
machine's slow and fast spells better than the milliseconds do; still, compare milliseconds
only within one run.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from flowsynth.ablation import paper  # noqa: E402
from flowsynth.dataset.kinds import encode_flow_sample  # noqa: E402
from flowsynth.io.layout import FLOW_FILES, encode_fields, write_encoded  # noqa: E402
from flowsynth.recipe.load import load_recipe  # noqa: E402
from flowsynth.render.layers import render  # noqa: E402
from flowsynth.scene.plan import scene_for_index  # noqa: E402

ROWS = [row for row, _ in paper.ROWS]


def _write_pairs(recipe: object, pairs: int, folder: Path, compression: int) -> None:
    """Render, encode and write samples ``0 .. pairs - 1`` as ``generate`` does (one worker)."""
    for index in range(pairs):
        write_encoded(folder, index, encode_flow_sample(recipe, 0, index, compression))


def _ms(seconds: float, pairs: int) -> float:
    return 1e3 * seconds / pairs


def _floor_method() -> Callable[[], object]:
    """One bilinear ``cv2.remap`` of a 512x384 RGB frame through a rotation (float32 maps)."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (384, 512, 3), dtype=np.uint8)
    y, x = np.mgrid[0:384, 0:512].astype(np.float32)
    angle = np.float32(0.1)
    map_x = np.cos(angle) * (x - 256) - np.sin(angle) * (y - 192) + 256 + np.float32(3.3)
    map_y = np.sin(angle) * (x - 256) + np.cos(angle) * (y - 192) + 192 - np.float32(1.7)

    def floor() -> object:
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    return floor


def measure(name: str, pairs: int, compression: int, repeats: int) -> dict[str, float]:
    """Per-pair milliseconds of each stage for one recipe (the best of ``repeats`` runs each),
    and the medians over the runs of render time and of sample + render time over floor time,
    the floor timed once after each sampling and once after each render (so that both see the
    same moments of a noisy machine)."""
    recipe = load_recipe(f"ablation/{name}")
    render(scene_for_index(recipe, 0, 10_000), recipe.render)  # warm-up
    floor = _floor_method()
    floor()
    best = {stage: math.inf for stage in ("sample", "render", "encode", "write", "floor")}
    render_ratios, total_ratios = [], []
    for _ in range(repeats):
        sampling = rendering = encoding = flooring = 0.0
        for index in range(pairs):  # one sample at a time, dropped after encoding (as generate)
            start = time.perf_counter()
            plan = scene_for_index(recipe, 0, index)
            planned = time.perf_counter()
            floor()
            floored = time.perf_counter()
            sample = render(plan, recipe.render)
            rendered = time.perf_counter()
            floor()
            floored_again = time.perf_counter()
            encode_fields(sample.as_dict(), FLOW_FILES, compression)
            sampling += planned - start
            rendering += rendered - floored
            flooring += (floored - planned + floored_again - rendered) / 2
            encoding += time.perf_counter() - floored_again
            del sample
        render_ratios.append(rendering / flooring)
        total_ratios.append((sampling + rendering) / flooring)
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            _write_pairs(recipe, pairs, Path(folder), compression)
            written = time.perf_counter() - start
        for stage, seconds in (
            ("sample", sampling),
            ("render", rendering),
            ("encode", encoding),
            ("write", written),
            ("floor", flooring),
        ):
            best[stage] = min(best[stage], _ms(seconds, pairs))
    return {
        **best,
        "total": best["sample"] + best["render"],
        "ratio": statistics.median(render_ratios),
        "total_ratio": statistics.median(total_ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--compression", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="runs per stage; the best counts")
    parser.add_argument("--recipes", nargs="*", default=ROWS)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(
        f"512x384 pairs, {args.pairs} per recipe, one thread, PNG level {args.compression}, "
        f"best of {args.repeats} runs per stage"
    )
    print(
        f"{'recipe':<18} {'sample':>7} {'render':>7} {'s+r':>7} {'encode':>7} {'s+r+write':>10} "
        f"{'write share':>11} {'render/floor':>12} {'s+r/floor':>9}   (ms per pair)"
    )
    floors = []
    for name in args.recipes:
        m = measure(name, args.pairs, args.compression, args.repeats)
        share = (m["write"] - m["total"]) / m["write"]
        floors.append(m["floor"])
        print(
            f"{name:<18} {m['sample']:7.1f} {m['render']:7.1f} {m['total']:7.1f} "
            f"{m['encode']:7.1f} {m['write']:10.1f} {share:11.0%} {m['ratio']:11.1f}x "
            f"{m['total_ratio']:8.1f}x"
        )
    print(
        "sample = scene sampling incl. textures; render = frames + all ground truth; "
        "s+r+write = rendered, encoded and written to disk (all FlyingChairs2 files)"
    )
    print(
        f"render/floor, s+r/floor = render time, sample + render time over the time of one "
        f"bilinear cv2.remap of a 512x384 RGB frame timed after each sampling and each render "
        f"(median of the runs; the floor took "
        f"{min(floors):.2f}-{max(floors):.2f} ms in this run)"
    )


if __name__ == "__main__":
    main()
