"""What a stereo pair costs against a flow pair, rendered (and encoded) in the same run.

Run: ``python benchmarks/bench_stereo.py [--recipe stereo/default] [--flow-recipe default]
[--samples 8] [--repeats 3] [--scale 1.0]``. One thread. For samples ``0..N-1`` of each recipe
it times :func:`flowsynth.render.stereo.render_stereo_sample` against
:func:`flowsynth.render.layers.render_sample` (render only), then
:func:`flowsynth.dataset.kinds.encode_stereo_sample` against
:func:`flowsynth.dataset.kinds.encode_flow_sample` (render and encode every file a sample
writes, PNG level 1: a stereo pair's 8 files, a flow pair's 10), best of ``--repeats`` passes
so that a noisy moment of a shared machine does not pick the figure, and prints ms per pair and
the ratios stereo / flow.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from flowsynth.dataset.kinds import encode_flow_sample, encode_stereo_sample  # noqa: E402
from flowsynth.recipe.load import load_flow_recipe  # noqa: E402
from flowsynth.render.layers import render_sample  # noqa: E402
from flowsynth.render.stereo import render_stereo_sample  # noqa: E402


def _best(call, samples: int, repeats: int) -> float:
    """Seconds per sample: the fastest of ``repeats`` passes over ``samples`` samples."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        for index in range(samples):
            call(index)
        times.append((time.perf_counter() - began) / samples)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="stereo/default")
    parser.add_argument("--flow-recipe", default="default")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="the recipes' scale key")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    overrides = [f"scale={args.scale}"]
    stereo = load_flow_recipe(args.recipe, overrides)
    flow = load_flow_recipe(args.flow_recipe, overrides)
    render_stereo_sample(stereo, 0, 0)  # compile the kernels before timing
    render_sample(flow, 0, 0)
    samples, repeats = args.samples, args.repeats
    figures = {
        "render": (
            _best(lambda i: render_stereo_sample(stereo, 0, i), samples, repeats),
            _best(lambda i: render_sample(flow, 0, i), samples, repeats),
        ),
        "render+encode": (
            _best(lambda i: encode_stereo_sample(stereo, 0, i), samples, repeats),
            _best(lambda i: encode_flow_sample(flow, 0, i), samples, repeats),
        ),
    }
    height, width = stereo.size
    print(
        f"{args.recipe} against {args.flow_recipe} at scale {args.scale} "
        f"({round(height * args.scale)}x{round(width * args.scale)}), {samples} samples, "
        f"best of {repeats}, one thread"
    )
    for what, (per_stereo, per_flow) in figures.items():
        print(
            f"  {what:14s} stereo pair {per_stereo * 1e3:7.1f} ms   flow pair "
            f"{per_flow * 1e3:7.1f} ms   stereo / flow {per_stereo / per_flow:.2f}"
        )


if __name__ == "__main__":
    main()
