"""How fast a recipe streams into torch: samples/s and batches/s through a DataLoader."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flowsynth.data.augment import AugmentConfig
from flowsynth.data.datasets import ProceduralFlowDataset
from flowsynth.data.loader import make_loader
from flowsynth.recipe.load import load_flow_recipe
from flowsynth.recipe.schema import FlowRecipe


def stream_bench(
    recipe: str | FlowRecipe,
    workers: int,
    batch: int,
    batches: int,
    size: tuple[int, int] | None = None,
    *,
    seed: int = 0,
    overrides: Sequence[str] = (),
    augment: AugmentConfig | None = None,
    report: Callable[[str], Any] | None = print,
) -> dict[str, float]:
    """Stream ``batches`` batches of ``batch`` samples of ``recipe`` with ``workers`` workers.

    Parameters
    ----------
    recipe : str | FlowRecipe
        A recipe name or file (loaded with ``overrides``), or a loaded recipe.
    workers : int
        DataLoader worker processes (0: render in this process).
    size : (int, int) | None
        Frame ``(height, width)``; default the recipe's.
    report : callable | None
        Receives the one-line summary (default ``print``); None: silent.

    Returns
    -------
    dict
        ``samples_per_second``, ``batches_per_second``, ``seconds`` (from creating the
        iterator, worker start included, to the last batch), ``first_batch_seconds``,
        ``workers``, ``batch``, ``batches``, ``height``, ``width``.
    """
    if workers < 0 or batch < 1 or batches < 1:
        raise ValueError(
            f"need workers >= 0, batch >= 1, batches >= 1; got {workers}, {batch}, {batches}"
        )
    name, loaded = _load(recipe, size, overrides)
    dataset = ProceduralFlowDataset(loaded, seed=seed, length=batch * batches, augment=augment)
    loader = make_loader(dataset, batch_size=batch, num_workers=workers)
    seconds, first, height, width = _stream(loader)
    result = {
        "samples_per_second": batch * batches / seconds,
        "batches_per_second": batches / seconds,
        "seconds": seconds,
        "first_batch_seconds": first,
        "workers": float(workers),
        "batch": float(batch),
        "batches": float(batches),
        "height": float(height),
        "width": float(width),
    }
    if report is not None:
        report(
            f"{name} {height}x{width} workers={workers} batch={batch}: "
            f"{result['samples_per_second']:.1f} samples/s, "
            f"{result['batches_per_second']:.2f} batches/s "
            f"({batches} batches in {seconds:.1f} s, first after {first:.2f} s)"
        )
    return result


def _load(
    recipe: str | FlowRecipe, size: tuple[int, int] | None, overrides: Sequence[str]
) -> tuple[str, FlowRecipe]:
    """The name to report and the recipe to stream, at ``size`` when one is given."""
    if isinstance(recipe, str):
        extra = [] if size is None else [f"size=[{size[0]},{size[1]}]"]
        return recipe, load_flow_recipe(recipe, [*overrides, *extra])
    if size is not None:
        return "recipe", dataclasses.replace(recipe, size=(int(size[0]), int(size[1])))
    return "recipe", recipe


def _stream(loader: Iterable[Any]) -> tuple[float, float, int, int]:
    """Seconds to drain ``loader`` (from creating its iterator), seconds to its first batch,
    and the height and width of the last batch's flow."""
    began = time.perf_counter()
    first, height, width = 0.0, 0, 0
    for count, example in enumerate(loader):
        if count == 0:
            first = time.perf_counter() - began
        height, width = example.flow.shape[-2:]
    return time.perf_counter() - began, first, height, width
