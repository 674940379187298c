"""Render speed: ms per 512x384 pair for every ablation recipe, render alone and render + write.

Run: ``python benchmarks/bench_generate.py [--pairs N] [--recipes boxes deformations ...]``.
One process, one thread (OpenCV threads off), so the figures are per core. Each stage runs
``--repeats`` times over the same pairs and its best run counts. The machine may be shared and
noisy: compare the figures of one run, not across runs.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from flowsynth.ablation import paper  # noqa: E402
from flowsynth.generate import generate_chunk  # noqa: E402
from flowsynth.io.layout import FLOW_FILES, encode_fields  # noqa: E402
from flowsynth.recipe import load_recipe  # noqa: E402
from flowsynth.render.layers import render  # noqa: E402
from flowsynth.scene.plan import scene_for_index  # noqa: E402

ROWS = [row for row, _ in paper.ROWS]


def _ms(seconds: float, pairs: int) -> float:
    return 1e3 * seconds / pairs


def measure(name: str, pairs: int, compression: int, repeats: int) -> dict[str, float]:
    """Per-pair milliseconds of each stage for one recipe: the best of ``repeats`` runs each."""
    recipe = load_recipe(f"ablation/{name}")
    render(scene_for_index(recipe, 0, 10_000), recipe.render)  # warm-up
    best = {"sample": math.inf, "render": math.inf, "encode": math.inf, "write": math.inf}
    for _ in range(repeats):
        began = time.perf_counter()
        plans = [scene_for_index(recipe, 0, i) for i in range(pairs)]
        planned = time.perf_counter()
        samples = [render(p, recipe.render) for p in plans]
        rendered = time.perf_counter()
        for sample in samples:
            encode_fields(sample.as_dict(), FLOW_FILES, compression)
        encoded = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            generate_chunk(recipe, 0, range(pairs), Path(folder), compression=compression)
            written = time.perf_counter() - start
        for stage, seconds in (
            ("sample", planned - began),
            ("render", rendered - planned),
            ("encode", encoded - rendered),
            ("write", written),
        ):
            best[stage] = min(best[stage], _ms(seconds, pairs))
    return {**best, "total": best["sample"] + best["render"]}


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
        f"{'write share':>11}   (ms per pair)"
    )
    for name in args.recipes:
        m = measure(name, args.pairs, args.compression, args.repeats)
        share = (m["write"] - m["total"]) / m["write"]
        print(
            f"{name:<18} {m['sample']:7.1f} {m['render']:7.1f} {m['total']:7.1f} "
            f"{m['encode']:7.1f} {m['write']:10.1f} {share:11.0%}"
        )
    print(
        "sample = scene sampling incl. textures; render = frames + all ground truth; "
        "s+r+write = generate_chunk to disk (all FlyingChairs2 files)"
    )


if __name__ == "__main__":
    main()
