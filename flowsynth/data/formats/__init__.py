"""Listers of the standard flow datasets: a root folder -> a list of :class:`PairFiles`.

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

__all__ = [
    "list_flowsynth",
    "list_flowsynth_shards",
    "list_flying_chairs",
    "list_flying_chairs2",
    "list_hd1k",
    "list_kitti",
    "list_middlebury",
    "list_sintel",
    "read_flowsynth_metadata",
    "read_shard_sample",
]
