"""What a frame of a sequence costs against a frame of a pair, rendered in the same run.

Run: ``python benchmarks/bench_sequence.py [--recipe sequences/default] [--frames 5]
[--samples 8] [--scale 1.0]``. One thread. For the same scenes (samples ``0..N-1`` of the
sequence recipe and of the same recipe with ``frames=2``) it times
:func:`flowsynth.render.sequence.render_sequence_sample` and
:func:`flowsynth.render.layers.render_sample` (best of ``--repeats`` passes, the two taken in
turn, so that a noisy moment of a shared machine neither picks the figure nor weighs on one
side only) and prints ms per sequence, per pair, per frame of each, and the ratio of the
per-frame costs (the issue's aim: <= 1.2). A sequence's per-frame
cost counts its ``T`` frames and all its ground truth (neighbour pairs both ways, flow and
visibility from the first frame); a pair's counts its 2 frames.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

from flowsynth.recipe.load import load_flow_recipe  # noqa: E402
from flowsynth.render.layers import render_sample  # noqa: E402
from flowsynth.render.sequence import render_sequence_sample  # noqa: E402


def _best(calls: list[Callable[[int], object]], samples: int, repeats: int) -> list[float]:
    """Seconds per sample of each call: the fastest of ``repeats`` passes over ``samples``
    samples, the calls' passes taken in turn (a busy moment of a shared machine slows both)."""
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, spent in zip(calls, times, strict=True):
            began = time.perf_counter()
            for index in range(samples):
                call(index)
            spent.append((time.perf_counter() - began) / samples)
    return [min(spent) for spent in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="sequences/default")
    parser.add_argument("--frames", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="the recipe's scale key")
    args = parser.parse_args()
    overrides = [f"scale={args.scale}"]
    if args.frames is not None:
        overrides.append(f"frames={args.frames}")
    sequence = load_flow_recipe(args.recipe, overrides)
    pair = load_flow_recipe(args.recipe, [*overrides, "frames=2"])
    render_sequence_sample(sequence, 0, 0)  # compile the kernels before timing
    render_sample(pair, 0, 0)
    frames = sequence.frames
    samples, repeats = args.samples, args.repeats
    per_sequence, per_pair = _best(
        [lambda i: render_sequence_sample(sequence, 0, i), lambda i: render_sample(pair, 0, i)],
        samples,
        repeats,
    )
    height, width = pair.size
    print(f"{args.recipe} at scale {args.scale}, {frames} frames, {args.samples} samples")
    print(f"  sequence: {per_sequence * 1e3:8.1f} ms ({per_sequence / frames * 1e3:.1f} per frame)")
    print(f"  pair:     {per_pair * 1e3:8.1f} ms ({per_pair / 2 * 1e3:.1f} per frame)")
    ratio = (per_sequence / frames) / (per_pair / 2)
    print(f"  per-frame cost of a sequence / of a pair: {ratio:.2f} (aim <= 1.2)")
    print(f"  frame size: {round(height * args.scale)}x{round(width * args.scale)}")


if __name__ == "__main__":
    main()
