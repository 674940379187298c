"""What a stereo pair and a scene-flow sample cost against a flow pair, rendered (and encoded)
in the same run.

Run: ``python benchmarks/bench_stereo.py [--recipe stereo/default] [--scene-flow-recipe
stereo/sceneflow] [--flow-recipe default] [--samples 8] [--repeats 3] [--scale 1.0]``. One
thread. For samples ``0..N-1`` of each recipe it times
:func:`flowsynth.render.stereo.render_stereo_sample` and
:func:`flowsynth.render.stereo.render_scene_flow_sample` against
:func:`flowsynth.render.layers.render_sample` (render only), then the encoders of
:mod:`flowsynth.dataset.kinds` (render and encode every file a sample writes, PNG level 1: a
stereo pair's 8 files, a scene-flow sample's 21, a flow pair's 10), best of ``--repeats``
passes so that a noisy moment of a shared machine does not pick the figure, and prints ms per
sample and the ratios to a flow pair.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from flowsynth.dataset.kinds import (  # noqa: E402
    encode_flow_sample,
    encode_scene_flow_sample,
    encode_stereo_sample,
)
from flowsynth.recipe.load import load_flow_recipe  # noqa: E402
from flowsynth.render.layers import render_sample  # noqa: E402
from flowsynth.render.stereo import render_scene_flow_sample, render_stereo_sample  # noqa: E402


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
    parser.add_argument("--scene-flow-recipe", default="stereo/sceneflow")
    parser.add_argument("--flow-recipe", default="default")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="the recipes' scale key")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    overrides = [f"scale={args.scale}"]
    stereo = load_flow_recipe(args.recipe, overrides)
    scene_flow = load_flow_recipe(args.scene_flow_recipe, overrides)
    flow = load_flow_recipe(args.flow_recipe, overrides)
    render_scene_flow_sample(scene_flow, 0, 0)  # compile the kernels before timing
    render_sample(flow, 0, 0)
    samples, repeats = args.samples, args.repeats
    figures = {
        "render": (
            _best(lambda i: render_stereo_sample(stereo, 0, i), samples, repeats),
            _best(lambda i: render_scene_flow_sample(scene_flow, 0, i), samples, repeats),
            _best(lambda i: render_sample(flow, 0, i), samples, repeats),
        ),
        "render+encode": (
            _best(lambda i: encode_stereo_sample(stereo, 0, i), samples, repeats),
            _best(lambda i: encode_scene_flow_sample(scene_flow, 0, i), samples, repeats),
            _best(lambda i: encode_flow_sample(flow, 0, i), samples, repeats),
        ),
    }
    height, width = stereo.size
    print(
        f"{args.recipe} and {args.scene_flow_recipe} against {args.flow_recipe} at scale "
        f"{args.scale} ({round(height * args.scale)}x{round(width * args.scale)}), {samples} "
        f"samples, best of {repeats}, one thread"
    )
    for what, (per_stereo, per_scene_flow, per_flow) in figures.items():
        print(
            f"  {what:14s} flow pair {per_flow * 1e3:7.1f} ms   stereo pair "
            f"{per_stereo * 1e3:7.1f} ms ({per_stereo / per_flow:.2f}x)   scene flow "
            f"{per_scene_flow * 1e3:7.1f} ms ({per_scene_flow / per_flow:.2f}x)"
        )


if __name__ == "__main__":
    main()
