"""The one sample contract for everything torch sees, and the collate function that batches it.

Convention
----------
Every dataset in :mod:`flowsynth.data` returns a :class:`FlowExample` with the same fields,
whatever it stores on disk; fields a dataset lacks are present and marked invalid:

- ``image1``, ``image2``: ``float32 (3, H, W)``, RGB in ``[0, 1]`` (grey frames repeated).
- ``flow``: ``float32 (2, H, W)``; channel 0 is ``u`` (x, right), channel 1 is ``v`` (y, down).
  0 where not valid.
- ``valid``: ``bool (H, W)``, True where the flow is ground truth. All False without flow.
- ``occlusion``: ``bool (H, W)``, True where the frame-1 pixel is not visible in frame 2;
  all False and ``has_occlusion`` False where the dataset has no occlusion.
- ``has_occlusion``: ``bool ()`` tensor; ``sample_index``: ``int64 ()`` tensor, the sample's
  index in its source (for recipes: ``render_sample(recipe, seed, sample_index)`` reproduces it);
  ``name``: ``str`` naming the source (``middlebury/Grove2``).

``example.as_tuple()`` is torchvision's ``(image1, image2, flow, valid)``.

:func:`collate_flow` stacks these into ``(B, C, H, W)`` / ``(B, H, W)`` / ``(B,)`` tensors and a
tuple of names: a batch is a ``FlowExample`` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import default_collate

from flowsynth.data.flowpair import FlowPair


class FlowExample(NamedTuple):
    """One pair (or, batched, ``B`` pairs) as torch tensors; see the module docstring.

    Attributes
    ----------
    image1, image2 : float32 (3, H, W) | (B, 3, H, W)
    flow : float32 (2, H, W) | (B, 2, H, W)
    valid, occlusion : bool (H, W) | (B, H, W)
    has_occlusion : bool () | (B,)
    sample_index : int64 () | (B,)
    name : str | tuple[str, ...]
    """

    image1: torch.Tensor
    image2: torch.Tensor
    flow: torch.Tensor
    valid: torch.Tensor
    occlusion: torch.Tensor
    has_occlusion: torch.Tensor
    sample_index: torch.Tensor
    name: str | tuple[str, ...]

    def as_tuple(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(image1, image2, flow, valid)``: the 4-tuple torchvision's flow datasets return
        (its ``valid_flow_mask``), for code written against them."""
        return self.image1, self.image2, self.flow, self.valid

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> FlowExample:
        """The same example with every tensor on ``device``."""
        moved = {
            field: getattr(self, field).to(device, non_blocking=non_blocking)
            for field in TENSOR_FIELDS
        }
        return FlowExample(**moved, name=self.name)


#: The fields of a FlowExample that hold tensors (all but ``name``).
TENSOR_FIELDS = FlowExample._fields[:-1]


def _image_tensor(image: np.ndarray) -> torch.Tensor:
    """``uint8 (H, W, 3)`` or ``float32 (H, W, 3)`` in [0, 1] -> ``float32 (3, H, W)``."""
    chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    if image.dtype == np.uint8:
        chw /= np.float32(255)
    return torch.from_numpy(chw)


def to_example(pair: FlowPair, index: int) -> FlowExample:
    """``FlowPair`` (numpy, ``(H, W, C)``) -> ``FlowExample`` (torch, ``(C, H, W)``)."""
    return FlowExample(
        image1=_image_tensor(pair.image1),
        image2=_image_tensor(pair.image2),
        flow=torch.from_numpy(np.ascontiguousarray(pair.flow.transpose(2, 0, 1))),
        valid=torch.from_numpy(np.ascontiguousarray(pair.valid)),
        occlusion=torch.from_numpy(np.ascontiguousarray(pair.occlusion)),
        has_occlusion=torch.tensor(bool(pair.has_occlusion)),
        sample_index=torch.tensor(int(index), dtype=torch.int64),
        name=pair.name,
    )


def collate_flow(examples: Sequence[FlowExample]) -> FlowExample:
    """Stack examples of one size into a batch: ``(B, C, H, W)``, ``(B, H, W)``, ``(B,)``.

    Raises
    ------
    ValueError
        Examples of different sizes (crop them to one size with augmentation).
    """
    if not examples:
        raise ValueError("cannot collate an empty list of examples")
    sizes = {tuple(example.flow.shape[1:]) for example in examples}
    if len(sizes) > 1:
        raise ValueError(
            f"examples of different sizes {sorted(sizes)} (H, W) cannot be batched: "
            "crop them to one size (AugmentConfig(crop=...)) or use batch size 1"
        )
    # default_collate stacks straight into shared memory inside a worker: one copy less.
    stacked = {f: default_collate([getattr(e, f) for e in examples]) for f in TENSOR_FIELDS}
    return FlowExample(**stacked, name=tuple(str(e.name) for e in examples))
