"""Map-style torch datasets: procedural (rendered on the fly) and on disk.

Every item is a pure function of the dataset's arguments, its epoch and the item's position:
no worker holds RNG state, so batches are identical for any ``num_workers``, order or machine.

- :class:`ProceduralFlowDataset`: item ``i`` at epoch ``e`` is
  ``render_sample(recipe, seed, e * len + i)``; :meth:`~ProceduralFlowDataset.set_epoch` gives
  fresh samples every epoch.
- :class:`FileFlowDataset` and its named subclasses: item ``i`` is pair ``i`` of the listing;
  the epoch changes only the augmentation.

Augmentation, when given, draws from ``sample_rng(seed, e * len + i, Stream.AUGMENT)``.

``transforms``, when given, is a callable applied last to each item's :class:`FlowExample`
(after augmentation), and the dataset returns what it returns. It takes the whole example, not
torchvision's ``(image1, image2, flow, valid)``, so that occlusion and names can travel too;
``transforms=FlowExample.as_tuple`` gives torchvision's 4-tuple, and a torchvision-style
function ``f(image1, image2, flow, valid)`` is ``lambda example: f(*example.as_tuple())``.
Return a ``FlowExample`` to keep batching with :func:`~flowsynth.data.example.collate_flow`
(and ``make_loader``); a tuple batches with torch's default collate.
``set_epoch`` reaches the workers because they are started afresh each epoch (DataLoader's
default ``persistent_workers=False``, as in :func:`flowsynth.data.loader.make_loader`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from torch.utils.data import Dataset

from flowsynth.data.augment import AugmentConfig, augment_pair
from flowsynth.data.example import FlowExample, to_example
from flowsynth.data.flowpair import FlowPair, PairFiles, make_pair, read_pair
from flowsynth.data.formats import (
    list_flowsynth,
    list_flying_chairs,
    list_flying_chairs2,
    list_hd1k,
    list_kitti,
    list_middlebury,
    list_sintel,
    read_flowsynth_metadata,
)
from flowsynth.data.formats.shards import list_flowsynth_shards, read_shard_sample
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.layers import check_pair_recipe, render_sample
from flowsynth.scene.textures import Image

ItemT = TypeVar("ItemT")

#: What ``transforms=`` takes: one FlowExample in, the item out (see the module docstring).
Transforms = Callable[[FlowExample], Any]


class EpochItems(Dataset[ItemT], Generic[ItemT]):
    """Shared bookkeeping of the datasets rendered or augmented on the fly: a length, an epoch,
    optional augmentation with its seed, and ``transforms`` applied to each item last."""

    def __init__(
        self,
        length: int,
        *,
        augment: AugmentConfig | None,
        seed: int,
        transforms: Callable[[Any], Any] | None = None,
    ) -> None:
        if length < 0 or seed < 0:
            raise ValueError(f"length and seed must be >= 0, got {length}, {seed}")
        if transforms is not None and not callable(transforms):
            raise TypeError(f"transforms must be callable, got {type(transforms).__name__}")
        self.length = length
        self.augment = augment
        self.seed = seed
        self.transforms = transforms
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch`` (>= 0) from now on: new samples or new augmentation draws."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        self.epoch = int(epoch)

    def position(self, item: int) -> int:
        """``item`` checked (negative counts from the end): ``0 <= item < len``."""
        if item < 0:
            item += self.length
        if not 0 <= item < self.length:
            raise IndexError(f"item {item} out of range for a dataset of {self.length}")
        return item

    def global_index(self, item: int) -> int:
        """``epoch * len + item``: the index this item's random draws are keyed by."""
        return self.epoch * self.length + self.position(item)


class EpochDataset(EpochItems[FlowExample]):
    """:class:`EpochItems` of pairs: ``finish`` augments a pair and makes its example."""

    def finish(self, pair: FlowPair, item: int, index: int) -> FlowExample:
        """Augment (if configured), convert to tensors, then apply ``transforms`` (if given:
        the result is then whatever it returns)."""
        if self.augment is not None:
            pair = augment_pair(pair, self.augment, seed=self.seed, index=self.global_index(item))
        example = to_example(pair, index)
        if self.transforms is not None:
            return self.transforms(example)  # type: ignore[no-any-return]
        return example


class ProceduralFlowDataset(EpochDataset):
    """Samples of a recipe rendered on the fly: item ``i`` at epoch ``e`` is sample ``e*len+i``.

    Parameters
    ----------
    recipe : FlowRecipe
        A loaded recipe (:func:`flowsynth.recipe.load.load_recipe`).
    seed : int
        The dataset seed: the same as ``flowsynth generate --seed`` for the same samples.
    length : int
        Items per epoch.
    augment : AugmentConfig | None
        Training-time augmentation (keyed by the same seed, stream ``AUGMENT``).
    texture_images : sequence of uint8 (H, W, 3)
        Images for the ``folder`` texture kind.
    name : str
        Prefix of each example's name (``name/0000042``).
    transforms : callable, optional
        Applied to each item's ``FlowExample`` last; see the module docstring.

    Raises
    ------
    RecipeError
        A sequence recipe (``frames`` > 2): stream it with
        :class:`~flowsynth.data.sequences.ProceduralSequenceDataset`.
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
        transforms: Transforms | None = None,
    ) -> None:
        check_pair_recipe(recipe)  # a sequence recipe: ProceduralSequenceDataset streams it
        super().__init__(length, augment=augment, seed=seed, transforms=transforms)
        self.recipe = recipe
        self.texture_images = tuple(texture_images)
        self.name = name

    def pair(self, index: int) -> FlowPair:
        """Sample ``index`` of the recipe (not an item position), un-augmented, numpy."""
        sample = render_sample(self.recipe, self.seed, index, texture_images=self.texture_images)
        return make_pair(
            sample.image1,
            sample.image2,
            sample.flow,
            sample.valid,
            sample.occlusion,
            f"{self.name}/{index:07d}",
        )

    def __getitem__(self, item: int) -> FlowExample:
        index = self.global_index(item)
        return self.finish(self.pair(index), item, index)


class FileFlowDataset(EpochDataset):
    """Pairs read from disk (numpy readers of :mod:`flowsynth.io`), one per listed entry.

    Parameters
    ----------
    pairs : sequence of PairFiles (or of what ``reader`` takes)
        From a lister in :mod:`flowsynth.data.formats`.
    reader : callable
        One entry of ``pairs`` -> :class:`FlowPair`; :func:`read_pair` by default.
    augment : AugmentConfig | None
    seed : int
        Seed of the augmentation draws.
    metadata : dict | None
        What the dataset says about itself (``flowsynth.json``), kept as ``.metadata``.
    transforms : callable, optional
        Applied to each item's ``FlowExample`` last; see the module docstring.

    Item ``i`` is pair ``i`` with ``index`` ``i``. A corrupt file raises ``FileFormatError``
    naming it.
    """

    def __init__(
        self,
        pairs: Sequence[PairFiles] | Sequence[Any],
        *,
        reader: Callable[[Any], FlowPair] = read_pair,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        metadata: dict[str, Any] | None = None,
        transforms: Transforms | None = None,
    ) -> None:
        super().__init__(len(pairs), augment=augment, seed=seed, transforms=transforms)
        self.pairs = list(pairs)
        self.reader = reader
        self.metadata = metadata

    def pair(self, item: int) -> FlowPair:
        """Pair ``item``, un-augmented, numpy."""
        return self.reader(self.pairs[self.position(item)])

    def __getitem__(self, item: int) -> FlowExample:
        item = self.position(item)
        return self.finish(self.pair(item), item, item)


Root = str | Path


class FlyingChairs(FileFlowDataset):
    """FlyingChairs; tree and options: :func:`~flowsynth.data.formats.list_flying_chairs`."""

    def __init__(self, root: Root, *, split: str = "all", **options: Any) -> None:
        super().__init__(list_flying_chairs(root, split=split), **options)


class FlyingChairs2(FileFlowDataset):
    """FlyingChairs2; tree and options: :func:`~flowsynth.data.formats.list_flying_chairs2`."""

    def __init__(
        self, root: Root, *, split: str = "train", backward: bool = False, **options: Any
    ) -> None:
        super().__init__(list_flying_chairs2(root, split=split, backward=backward), **options)


class FlowsynthFiles(FileFlowDataset):
    """A folder written by ``flowsynth generate``; ``.metadata`` is its ``flowsynth.json``.

    Tree and options: :func:`~flowsynth.data.formats.list_flowsynth`.
    """

    def __init__(self, root: Root, *, backward: bool = False, **options: Any) -> None:
        options.setdefault("metadata", read_flowsynth_metadata(root))
        super().__init__(list_flowsynth(root, backward=backward), **options)


class FlowsynthShards(FileFlowDataset):
    """Tar shards written by ``flowsynth generate --format shards``; random access by offset.

    Tree and options: :func:`~flowsynth.data.formats.shards.list_flowsynth_shards`.
    """

    def __init__(self, root: Root, *, backward: bool = False, **options: Any) -> None:
        options.setdefault("metadata", read_flowsynth_metadata(root))
        samples = list_flowsynth_shards(root, backward=backward)
        super().__init__(samples, reader=read_shard_sample, **options)


def open_flowsynth(root: Root, **options: Any) -> FileFlowDataset:
    """A generated dataset in either layout: shards if ``flowsynth.json`` says so or the folder
    holds ``shard-*.tar`` and no ``*-img_0.png``, else per-file."""
    meta = read_flowsynth_metadata(root)
    layout = (meta or {}).get("layout")
    if layout is None:
        folder = Path(root)
        shards = any(folder.glob("shard-*.tar")) and not any(folder.glob("*-img_0.png"))
        layout = "shards" if shards else "files"
    return (FlowsynthShards if layout == "shards" else FlowsynthFiles)(root, **options)


class Sintel(FileFlowDataset):
    """MPI Sintel; tree and options: :func:`~flowsynth.data.formats.list_sintel`."""

    def __init__(
        self, root: Root, *, split: str = "training", pass_name: str = "clean", **options: Any
    ) -> None:
        super().__init__(list_sintel(root, split=split, pass_name=pass_name), **options)


class Kitti(FileFlowDataset):
    """KITTI 2012 / 2015 flow; tree and options: :func:`~flowsynth.data.formats.list_kitti`."""

    def __init__(
        self,
        root: Root,
        *,
        year: int = 2012,
        split: str = "training",
        flow: str = "auto",
        **options: Any,
    ) -> None:
        super().__init__(list_kitti(root, year=year, split=split, flow=flow), **options)


class Middlebury(FileFlowDataset):
    """Middlebury "other" pairs; tree, options: :func:`~flowsynth.data.formats.list_middlebury`."""

    def __init__(self, root: Root, *, grey: bool = False, **options: Any) -> None:
        super().__init__(list_middlebury(root, grey=grey), **options)


class HD1K(FileFlowDataset):
    """HD1K; tree: :func:`~flowsynth.data.formats.list_hd1k`."""

    def __init__(self, root: Root, **options: Any) -> None:
        super().__init__(list_hd1k(root), **options)
