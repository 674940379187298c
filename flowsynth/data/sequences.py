"""Sequences for torch: the example contract, its collate function and the procedural dataset.

Convention
----------
A :class:`SequenceExample` holds one sequence of ``T`` frames (``T`` from the recipe's
``frames``), as :class:`~flowsynth.data.example.FlowExample` holds a pair:

- ``frames``: ``float32 (T, 3, H, W)``, RGB in ``[0, 1]``.
- ``flow``: ``float32 (T-1, 2, H, W)``, frame ``i`` -> ``i + 1``; channel 0 is ``u`` (x, right).
- ``valid``, ``occlusion``: ``bool (T-1, H, W)``; occlusion True where the frame-``i`` pixel is
  not visible in frame ``i + 1``.
- ``flow_from_first``: ``float32 (T-1, 2, H, W)``, frame 0 -> frame ``i + 1``.
- ``visible_from_first``: ``bool (T-1, H, W)``, the frame-0 pixel is visible in frame ``i + 1``.
- ``sample_index``: ``int64 ()``; ``render_sequence_sample(recipe, seed, sample_index)``
  reproduces the sequence. ``name``: ``str`` (``recipe/0000042``).

:func:`collate_sequences` stacks them with a leading batch dimension: a batch is a
``SequenceExample`` too (``(B, T, 3, H, W)``, ``(B, T-1, H, W)``, ``(B,)``, a tuple of names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import default_collate

from flowsynth.data.augment import AugmentConfig
from flowsynth.data.datasets import EpochItems
from flowsynth.data.sequence_augment import SequenceClip, augment_sequence
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.sequence import render_sequence_sample
from flowsynth.scene.textures import Image


class SequenceExample(NamedTuple):
    """One sequence (or, batched, ``B`` sequences) as torch tensors; see the module docstring.

    Attributes
    ----------
    frames : float32 (T, 3, H, W) | (B, T, 3, H, W)
    flow, flow_from_first : float32 (T-1, 2, H, W) | (B, T-1, 2, H, W)
    valid, occlusion, visible_from_first : bool (T-1, H, W) | (B, T-1, H, W)
    sample_index : int64 () | (B,)
    name : str | tuple[str, ...]
    """

    frames: torch.Tensor
    flow: torch.Tensor
    valid: torch.Tensor
    occlusion: torch.Tensor
    flow_from_first: torch.Tensor
    visible_from_first: torch.Tensor
    sample_index: torch.Tensor
    name: str | tuple[str, ...]

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> SequenceExample:
        """The same example with every tensor on ``device``."""
        moved = {
            field: getattr(self, field).to(device, non_blocking=non_blocking)
            for field in SEQUENCE_TENSOR_FIELDS
        }
        return SequenceExample(**moved, name=self.name)


#: The fields of a SequenceExample that hold tensors (all but ``name``).
SEQUENCE_TENSOR_FIELDS = SequenceExample._fields[:-1]


def _channels_first(array: np.ndarray) -> torch.Tensor:
    """``(N, H, W, C)`` -> ``(N, C, H, W)``, contiguous; ``uint8`` scaled to ``float32 [0, 1]``."""
    moved = np.ascontiguousarray(array.transpose(0, 3, 1, 2))
    if moved.dtype == np.uint8:
        return torch.from_numpy(moved.astype(np.float32) / np.float32(255))
    return torch.from_numpy(moved.astype(np.float32, copy=False))


def to_sequence_example(clip: SequenceClip, index: int) -> SequenceExample:
    """``SequenceClip`` (numpy, channels last) -> ``SequenceExample`` (torch, channels first)."""
    return SequenceExample(
        frames=_channels_first(clip.frames),
        flow=_channels_first(clip.flow),
        valid=torch.from_numpy(np.ascontiguousarray(clip.valid)),
        occlusion=torch.from_numpy(np.ascontiguousarray(clip.occlusion)),
        flow_from_first=_channels_first(clip.flow_from_first),
        visible_from_first=torch.from_numpy(np.ascontiguousarray(clip.visible_from_first)),
        sample_index=torch.tensor(int(index), dtype=torch.int64),
        name=clip.name,
    )


def collate_sequences(examples: Sequence[SequenceExample]) -> SequenceExample:
    """Stack sequences of one length and size into a batch with a leading ``B``.

    Raises
    ------
    ValueError
        No examples, or examples of different ``(T, H, W)`` (crop them to one size with
        augmentation).
    """
    if not examples:
        raise ValueError("cannot collate an empty list of sequences")
    sizes = {(e.frames.shape[0], *e.frames.shape[2:]) for e in examples}
    if len(sizes) > 1:
        raise ValueError(
            f"sequences of different sizes {sorted(sizes)} (T, H, W) cannot be batched: "
            "crop them to one size (AugmentConfig(crop=...)) or use batch size 1"
        )
    # default_collate stacks straight into shared memory inside a worker: one copy less.
    stacked = {
        f: default_collate([getattr(e, f) for e in examples]) for f in SEQUENCE_TENSOR_FIELDS
    }
    return SequenceExample(**stacked, name=tuple(str(e.name) for e in examples))


class ProceduralSequenceDataset(EpochItems[SequenceExample]):
    """Sequences of a recipe rendered on the fly: item ``i`` at epoch ``e`` is sequence
    ``e*len+i`` (:func:`~flowsynth.render.sequence.render_sequence_sample`).

    Parameters
    ----------
    recipe : FlowRecipe
        A loaded recipe; ``frames`` (``recipes/sequences/``) gives ``T`` (2 gives the pair).
    seed : int
        The dataset seed.
    length : int
        Items per epoch.
    augment : AugmentConfig | None
        One crop and one flip for the whole sequence, colours drifting from the first frame to
        the last (:mod:`flowsynth.data.sequence_augment`); drawn from
        ``sample_rng(seed, e*len+i, Stream.AUGMENT)``.
    texture_images : sequence of uint8 (H, W, 3)
        Images for the ``folder`` texture kind.
    name : str
        Prefix of each example's name (``name/0000042``).
    transforms : callable, optional
        Applied to each item's ``SequenceExample`` last; the dataset returns what it returns.

    Batch with ``DataLoader(dataset, collate_fn=collate_sequences, ...)``; items do not depend on
    the number of workers or the order. ``set_epoch`` reaches the workers when they are not
    persistent (DataLoader's default).
    """

    def __init__(
        self,
        recipe: FlowRecipe,
        *,
        seed: int = 0,
        length: int = 10_000,
        augment: AugmentConfig | None = None,
        texture_images: Sequence[Image] = (),
        name: str = "recipe",
        transforms: Callable[[SequenceExample], Any] | None = None,
    ) -> None:
        super().__init__(length, augment=augment, seed=seed, transforms=transforms)
        self.recipe = recipe
        self.texture_images = tuple(texture_images)
        self.name = name

    def clip(self, index: int) -> SequenceClip:
        """Sequence ``index`` of the recipe (not an item position), un-augmented, numpy."""
        sample = render_sequence_sample(
            self.recipe, self.seed, index, texture_images=self.texture_images
        )
        return SequenceClip(
            frames=sample.frames,
            flow=sample.flow,
            valid=sample.valid,
            occlusion=sample.occlusion,
            flow_from_first=sample.flow_from_first,
            visible_from_first=sample.visible_from_first,
            name=f"{self.name}/{index:07d}",
        )

    def __getitem__(self, item: int) -> SequenceExample:
        index = self.global_index(item)
        clip = self.clip(index)
        if self.augment is not None:
            clip = augment_sequence(clip, self.augment, seed=self.seed, index=index)
        example = to_sequence_example(clip, index)
        if self.transforms is not None:
            return self.transforms(example)  # type: ignore[no-any-return]
        return example
