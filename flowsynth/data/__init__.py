"""Flow data for torch: on-the-fly recipes, every standard dataset on disk, mixtures, loaders.

The first place flowsynth imports torch. Names load lazily, so ``import flowsynth.data`` (and
the CLI's ``flowsynth.cli.stream_bench``) stays cheap until a torch-backed name is used; the
numpy-only parts (:mod:`~flowsynth.data.flowpair`, :mod:`~flowsynth.data.formats`,
:mod:`~flowsynth.data.augment`) never import torch.

Every dataset yields :class:`FlowExample` (``float32 (3, H, W)`` images in ``[0, 1]``,
``float32 (2, H, W)`` flow, ``bool (H, W)`` valid and occlusion, ``has_occlusion``, ``index``,
``name``); :func:`collate_flow` batches them to ``(B, C, H, W)``. Sequence recipes
(``frames`` > 2) stream through :class:`ProceduralSequenceDataset` as :class:`SequenceExample`
(``(T, 3, H, W)`` frames, ``(T-1, ...)`` ground truth), batched by :func:`collate_sequences`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowsynth.base.lazy import lazy_exports

if TYPE_CHECKING:
    from flowsynth.data.augment import AugmentConfig, augment_pair
    from flowsynth.data.bench import stream_bench
    from flowsynth.data.datasets import (
        HD1K,
        FileFlowDataset,
        FlowsynthFiles,
        FlowsynthShards,
        FlyingChairs,
        FlyingChairs2,
        Kitti,
        Middlebury,
        ProceduralFlowDataset,
        Sintel,
        open_flowsynth,
    )
    from flowsynth.data.example import FlowExample, collate_flow, to_example
    from flowsynth.data.flowpair import FlowPair, PairFiles, read_pair
    from flowsynth.data.loader import make_loader
    from flowsynth.data.mix import MixedDataset
    from flowsynth.data.resolve import data_root_path, resolve_dataset
    from flowsynth.data.sequence_augment import SequenceClip, augment_sequence
    from flowsynth.data.sequences import (
        ProceduralSequenceDataset,
        SequenceExample,
        collate_sequences,
    )
    from flowsynth.data.stereo import StereoDataset, StereoExample, resolve_stereo_dataset

#: Public name -> the module defining it (imported on first use).
_MODULES = {
    "AugmentConfig": "augment",
    "augment_pair": "augment",
    "stream_bench": "bench",
    "FileFlowDataset": "datasets",
    "FlowsynthFiles": "datasets",
    "FlowsynthShards": "datasets",
    "open_flowsynth": "datasets",
    "FlyingChairs": "datasets",
    "FlyingChairs2": "datasets",
    "HD1K": "datasets",
    "Kitti": "datasets",
    "Middlebury": "datasets",
    "ProceduralFlowDataset": "datasets",
    "Sintel": "datasets",
    "FlowExample": "example",
    "collate_flow": "example",
    "to_example": "example",
    "make_loader": "loader",
    "MixedDataset": "mix",
    "FlowPair": "flowpair",
    "PairFiles": "flowpair",
    "read_pair": "flowpair",
    "data_root_path": "resolve",
    "resolve_dataset": "resolve",
    "SequenceClip": "sequence_augment",
    "augment_sequence": "sequence_augment",
    "ProceduralSequenceDataset": "sequences",
    "SequenceExample": "sequences",
    "collate_sequences": "sequences",
    "StereoDataset": "stereo",
    "StereoExample": "stereo",
    "resolve_stereo_dataset": "stereo",
}

__all__ = [
    "AugmentConfig",
    "FileFlowDataset",
    "FlowExample",
    "FlowPair",
    "FlowsynthFiles",
    "FlowsynthShards",
    "FlyingChairs",
    "FlyingChairs2",
    "HD1K",
    "Kitti",
    "Middlebury",
    "MixedDataset",
    "PairFiles",
    "ProceduralFlowDataset",
    "ProceduralSequenceDataset",
    "SequenceClip",
    "SequenceExample",
    "Sintel",
    "StereoDataset",
    "StereoExample",
    "augment_pair",
    "augment_sequence",
    "collate_flow",
    "collate_sequences",
    "data_root_path",
    "make_loader",
    "open_flowsynth",
    "read_pair",
    "resolve_dataset",
    "resolve_stereo_dataset",
    "stream_bench",
    "to_example",
]

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
