"""Listers of the standard flow datasets: a root folder -> a list of :class:`PairFiles`; stereo
listers (:mod:`~flowsynth.data.formats.stereo`) give :class:`StereoFiles`.

One module per format family; numpy-only (no torch). Each lister's docstring shows the tree it
expects; a wrong root raises ``FileNotFoundError`` saying what was expected where.
"""

from flowsynth.data.formats.chairs import (
    list_flowsynth,
    list_flying_chairs,
    list_flying_chairs2,
    read_flowsynth_metadata,
)
from flowsynth.data.formats.kitti import list_hd1k, list_kitti
from flowsynth.data.formats.middlebury import list_middlebury
from flowsynth.data.formats.shards import list_flowsynth_shards, read_shard_sample
from flowsynth.data.formats.sintel import list_sintel
from flowsynth.data.formats.stereo import (
    StereoFiles,
    StereoPair,
    list_flowsynth_stereo,
    list_kitti_stereo,
    list_middlebury_stereo,
    read_stereo,
)

__all__ = [
    "StereoFiles",
    "StereoPair",
    "list_flowsynth",
    "list_flowsynth_shards",
    "list_flowsynth_stereo",
    "list_flying_chairs",
    "list_flying_chairs2",
    "list_hd1k",
    "list_kitti",
    "list_kitti_stereo",
    "list_middlebury",
    "list_middlebury_stereo",
    "list_sintel",
    "read_flowsynth_metadata",
    "read_shard_sample",
    "read_stereo",
]
