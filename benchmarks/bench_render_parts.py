"""Where a render's time goes: ms per 512x384 pair in each compiled kernel, and the rest.

Run: ``python benchmarks/bench_render_parts.py [--recipe deformations] [--pairs N]``.
One thread. Every function of ``flowsynth.kernels`` that the renderer calls is wrapped with a
timer (a fraction of a microsecond a call); what is left of the render time is Python and numpy.
Each figure is taken from the fastest of ``--repeats`` runs over the same pairs, so that a noisy
moment of a shared machine does not pick the split. For comparing versions use
``bench_generate.py``'s ratio to its floor; this script says where to look.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from flowsynth import kernels  # noqa: E402
from flowsynth.recipe import load_recipe  # noqa: E402
from flowsynth.render.layers import render  # noqa: E402
from flowsynth.scene.plan import scene_for_index  # noqa: E402

#: The kernels the renderer calls (directly or through ``flowsynth.render``).
KERNELS = (
    "composite",
    "footprint",
    "unhidden",
    "occluded",
    "inside",
    "coverage",
    "motion_boundaries",
    "map_points",
    "subdivide",
    "bounds",
)


def _timed(name: str, function: Callable[..., Any], spent: dict[str, float]) -> Any:
    """``function``, adding the seconds each call takes to ``spent[name]``."""

    def wrapper(*args: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args)
        finally:
            spent[name] += time.perf_counter() - began

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="deformations", help="ablation recipe")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    recipe = load_recipe(f"ablation/{args.recipe}")
    plans = [scene_for_index(recipe, 0, i) for i in range(args.pairs)]
    spent: collections.defaultdict[str, float] = collections.defaultdict(float)
    originals = {name: getattr(kernels, name) for name in KERNELS}
    for name, function in originals.items():
        setattr(kernels, name, _timed(name, function, spent))
    try:
        render(plans[0], recipe.render)  # warm-up
        best: dict[str, float]
        best_total, best = float("inf"), {}
        for _ in range(args.repeats):
            spent.clear()
            began = time.perf_counter()
            for plan in plans:
                render(plan, recipe.render)
            total = time.perf_counter() - began
            if total < best_total:
                best_total, best = total, dict(spent)
    finally:
        for name, function in originals.items():
            setattr(kernels, name, function)
    ms = 1e3 / args.pairs
    print(f"{args.recipe}, {args.pairs} pairs 512x384, one thread: {best_total * ms:.2f} ms a pair")
    for name, seconds in sorted(best.items(), key=lambda item: -item[1]):
        print(f"  {name:<18} {seconds * ms:6.2f} ms  {seconds / best_total:5.1%}")
    rest = best_total - sum(best.values())
    print(f"  {'python and numpy':<18} {rest * ms:6.2f} ms  {rest / best_total:5.1%}")


if __name__ == "__main__":
    main()
