"""Where a pair's time goes: ms per 512x384 pair in each part of scene sampling and rendering.

Run: ``python benchmarks/bench_render_parts.py [--recipe deformations] [--pairs N]``.
One thread. Two breakdowns, each timed over the same pairs:

- sampling (``scene.plan.scene_for_index``): the samplers that ``flowsynth.scene.plan`` calls
  (textures, shapes, motions, deformations, random generators, the outline pulled back to size
  textures), each wrapped with a timer; what is left is the layout loop around them.
- rendering (``render.layers.render``): every kernel that the renderer calls (of
  ``flowsynth.render.kernels``, ``flowsynth.render.scan`` and ``flowsynth.scene.kernels``),
  wrapped the same way; what is left is Python and numpy.

A timer costs a fraction of a microsecond a call. Each figure is taken from the fastest of
``--repeats`` runs, so that a noisy moment of a shared machine does not pick the split. For
comparing versions use ``bench_generate.py``'s ratio to its floor; this script says where to
look.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402

from flowsynth.recipe.load import load_flow_recipe  # noqa: E402
from flowsynth.render import kernels, scan  # noqa: E402
from flowsynth.render.layers import render  # noqa: E402
from flowsynth.scene import kernels as scene_kernels  # noqa: E402
from flowsynth.scene import plan as scene_plan  # noqa: E402

#: The kernels the renderer calls, by module (its own, its rasteriser's, and the scene's motion
#: maps).
KERNELS = (
    (
        kernels,
        (
            "composite",
            "footprint",
            "unhidden",
            "occluded",
            "motion_boundaries",
        ),
    ),
    (scan, ("inside", "coverage")),
    (scene_kernels, ("map_points", "subdivide", "bounds")),
)

#: What ``scene.plan`` calls to sample a scene (its module-level names).
SAMPLERS = (
    "sample_texture",
    "sample_shape",
    "sample_deformation",
    "sample_affine",
    "sample_rng",
    "sample_weighted",
    "sample_strength",
    "_pulled_back",
)


def _timed(name: str, function: Callable[..., Any], spent: dict[str, float]) -> Any:
    """``function``, adding the seconds each call takes to ``spent[name]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - began

    return wrapper


def breakdown(
    functions: tuple[tuple[ModuleType, tuple[str, ...]], ...],
    run: Callable[[], None],
    repeats: int,
) -> tuple[float, dict[str, float]]:
    """Seconds of the fastest of ``repeats`` calls of ``run`` and, in that call, the seconds
    spent in each of the ``functions`` (module, names), wrapped with timers while it runs."""
    spent: collections.defaultdict[str, float] = collections.defaultdict(float)
    originals = {(m, name): getattr(m, name) for m, names in functions for name in names}
    for (module, name), function in originals.items():
        setattr(module, name, _timed(name, function, spent))
    try:
        run()  # warm-up
        best_total, best = float("inf"), {}
        for _ in range(repeats):
            spent.clear()
            began = time.perf_counter()
            run()
            total = time.perf_counter() - began
            if total < best_total:
                best_total, best = total, dict(spent)
    finally:
        for (module, name), function in originals.items():
            setattr(module, name, function)
    return best_total, best


def report(title: str, total: float, parts: dict[str, float], rest: str, pairs: int) -> None:
    """Print ``total`` and its ``parts`` in ms per pair, largest first, then what is left."""
    ms = 1e3 / pairs
    print(f"{title}: {total * ms:.2f} ms a pair")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {name:<18} {seconds * ms:6.2f} ms  {seconds / total:5.1%}")
    left = total - sum(parts.values())
    print(f"  {rest:<18} {left * ms:6.2f} ms  {left / total:5.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="deformations", help="ablation recipe")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    recipe = load_flow_recipe(f"ablation/{args.recipe}")
    indices = range(args.pairs)
    plans = [scene_plan.scene_for_index(recipe, 0, i) for i in indices]

    def sample_all() -> None:
        for i in indices:
            scene_plan.scene_for_index(recipe, 0, i)

    def render_all() -> None:
        for plan in plans:
            render(plan, recipe.render)

    print(f"{args.recipe}, {args.pairs} pairs 512x384, one thread")
    total, parts = breakdown(((scene_plan, SAMPLERS),), sample_all, args.repeats)
    report("sampling", total, parts, "layout loop", args.pairs)
    total, parts = breakdown(KERNELS, render_all, args.repeats)
    report("rendering", total, parts, "python and numpy", args.pairs)


if __name__ == "__main__":
    main()
