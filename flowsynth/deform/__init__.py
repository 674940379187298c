"""Elastic deformation of image/label pairs (2D and 3D) with exact flow and U-Net weight maps.

Sampling (``sample_*``, random, from a required ``rng``) is kept apart from applying (pure):

- ``fields``: backward displacement fields (U-Net grid, Simard smoothed noise).
- ``affine``: random affine matrices, folded into a displacement for one resampling.
- ``apply``: one resampling of images (linear/cubic) and labels (nearest, exact), flow, valid;
  its 2D work is in ``planar`` (banded ``cv2.remap``), its 3D work in ``volume``.
- ``weights``: U-Net border weight maps.
- ``pairs``: folders of image/label pairs, and ``sample_elastic_pair`` for a training loop.
"""

from flowsynth.deform.affine import compose_affine, sample_affine
from flowsynth.deform.apply import Deformed, apply_displacement, apply_grid_displacement
from flowsynth.deform.fields import (
    grid_nodes,
    interpolate_grid,
    sample_grid_displacement,
    sample_grid_nodes,
    sample_smoothed_displacement,
)
from flowsynth.deform.pairs import (
    ElasticPair,
    Pair,
    PairFileError,
    PairFolderError,
    find_pairs,
    load_pairs,
    read_array,
    sample_elastic_pair,
)
from flowsynth.deform.weights import instances_from_binary, unet_weight_map

__all__ = [
    "Deformed",
    "ElasticPair",
    "Pair",
    "PairFileError",
    "PairFolderError",
    "apply_displacement",
    "apply_grid_displacement",
    "compose_affine",
    "find_pairs",
    "grid_nodes",
    "instances_from_binary",
    "interpolate_grid",
    "load_pairs",
    "read_array",
    "sample_affine",
    "sample_elastic_pair",
    "sample_grid_displacement",
    "sample_grid_nodes",
    "sample_smoothed_displacement",
    "unet_weight_map",
]
