"""File formats: the only module that touches files.

Readers raise :class:`FileFormatError` (naming the file and the problem) for any truncated,
corrupt, hostile or wrong-format file, after checking sizes in the header before allocating.
Writers are atomic: a reader sees the old file or the complete new one.
"""

from flowsynth.io.atomic import atomic_path, atomic_write_bytes
from flowsynth.io.errors import FileFormatError
from flowsynth.io.flo import decode_flo, encode_flo, flo_valid, read_flo, write_flo
from flowsynth.io.images import (
    decode_image,
    decode_png,
    encode_png,
    read_grey,
    read_image,
    read_label,
    read_png,
    write_png,
)
from flowsynth.io.kitti import (
    decode_kitti_flow,
    encode_kitti_flow,
    read_kitti_flow,
    write_kitti_flow,
)
from flowsynth.io.pfm import decode_pfm, encode_pfm, read_pfm, write_pfm

__all__ = [
    "FileFormatError",
    "atomic_path",
    "atomic_write_bytes",
    "decode_flo",
    "decode_image",
    "decode_kitti_flow",
    "decode_pfm",
    "decode_png",
    "encode_flo",
    "encode_kitti_flow",
    "encode_pfm",
    "encode_png",
    "flo_valid",
    "read_flo",
    "read_grey",
    "read_image",
    "read_kitti_flow",
    "read_label",
    "read_pfm",
    "read_png",
    "write_flo",
    "write_kitti_flow",
    "write_pfm",
    "write_png",
]
