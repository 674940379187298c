"""flowsynth's tar shards (``flowsynth generate --format shards``), read with random access.

Listing reads every shard's tar headers once and keeps, per sample, where each member's bytes
lie (shard, offset, size); reading a sample then seeks straight to them, so the dataset is
map-style and any worker can read any sample without holding an open file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flowsynth.data.flowpair import (
    FlowPair,
    layout_of,
    make_pair,
    missing_layout,
    require_dir,
)
from flowsynth.data.formats.stereo import StereoPair
from flowsynth.io import (
    FileFormatError,
    decode_flo,
    decode_image,
    decode_pfm,
    decode_png,
    flo_valid,
)
from flowsynth.io.limits import open_regular
from flowsynth.io.shards import ShardMember, read_member, shard_members

#: Members each sample needs, forward and backward: frame 1, frame 2, flow, occlusion.
FIELDS = {
    False: ("img_0.png", "img_1.png", "flow_01.flo", "occ_01.png"),
    True: ("img_1.png", "img_0.png", "flow_10.flo", "occ_10.png"),
}

#: Members each stereo sample needs: left and right view, left disparity, left occlusion.
STEREO_FIELDS = ("left.png", "right.png", "disp_left.pfm", "occ_left.png")


@dataclass(frozen=True)
class ShardSample:
    """Where one sample's members lie: field (``img_0.png``) -> (shard, data offset, size)."""

    name: str
    shard: Path
    members: dict[str, tuple[int, int]] = field(default_factory=dict)
    backward: bool = False


def _scan(shard: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """Sample key -> field -> (offset, size) for every member of ``shard``, a sound tar archive
    (only a regular file is opened; see :func:`flowsynth.io.shards.scan_shard`)."""
    samples: dict[str, dict[str, tuple[int, int]]] = {}
    for member in shard_members(shard):
        key, _, name = member.name.partition(".")
        samples.setdefault(key, {})[name] = (member.offset, member.size)
    return samples


def _list_samples(
    dataset: str, root: Path, layout: str, needed: tuple[str, ...], prefix: str, backward: bool
) -> list[ShardSample]:
    """Every sample of the shards in ``root`` that has the members ``needed``, named
    ``{prefix}/{key}`` and sorted by index; a sample without one raises ``FileFormatError``."""
    require_dir(dataset, root, layout)
    shards = sorted(root.glob("shard-*.tar"))
    if not shards:
        raise missing_layout(dataset, root, layout, "no shard-*.tar files")
    samples = []
    for shard in shards:
        for key, members in _scan(shard).items():
            missing = [name for name in needed if name not in members]
            if missing:
                raise FileFormatError(shard, f"sample {key} lacks {', '.join(missing)}")
            samples.append(ShardSample(f"{prefix}/{key}", shard, members, backward))
    return sorted(samples, key=lambda sample: sample.name)


def _read_members(sample: ShardSample, names: tuple[str, ...]) -> tuple[str, dict[str, bytes]]:
    """The sample's key and the bytes of its members ``names``, read with one open."""
    key = sample.name.rsplit("/", 1)[1]
    data = {}
    with open_regular(sample.shard) as file:
        for name in names:
            offset, size = sample.members[name]
            data[name] = read_member(file, ShardMember(f"{key}.{name}", offset, size), sample.shard)
    return key, data


def list_flowsynth_shards(root: str | Path, *, backward: bool = False) -> list[ShardSample]:
    """The samples of a dataset written as tar shards by ``flowsynth generate``.

    Expected tree::

        ROOT/
          flowsynth.json        recipe, seed and versions
          shard-000000.tar      members 0000000.img_0.png, 0000000.img_1.png,
                                0000000.flow_01.flo, 0000000.occ_01.png (255 = occluded),
                                0000000.flow_10.flo, 0000000.occ_10.png (backward=True), ...
          shard-000001.tar      ...

    Names are ``flowsynth/<index>``, sorted by index.

    Raises
    ------
    FileFormatError
        A shard is not a readable tar, or a sample lacks a member it needs; names the shard.
    """
    root, layout = Path(root), layout_of(list_flowsynth_shards)
    prefix = "flowsynth/backward" if backward else "flowsynth"
    return _list_samples("flowsynth shards", root, layout, FIELDS[backward], prefix, backward)


def list_flowsynth_stereo_shards(root: str | Path) -> list[ShardSample]:
    """The stereo pairs of a dataset written as tar shards by ``flowsynth generate`` (a
    stereo recipe, ``--format shards``).

    Expected tree::

        ROOT/
          flowsynth.json        recipe, seed and versions
          shard-000000.tar      members 0000000.left.png, 0000000.right.png,
                                0000000.disp_left.pfm (float32 >= 0), 0000000.occ_left.png
                                (255 = not visible in the right view), 0000000.disp_right.pfm,
                                ..., 0000000.json
          shard-000001.tar      ...

    Names are ``flowsynth_stereo/<index>``, sorted by index; read each with
    :func:`read_stereo_shard_sample`.

    Raises
    ------
    FileFormatError
        A shard is not a readable tar, or a sample lacks a member it needs; names the shard.
    """
    root, layout = Path(root), layout_of(list_flowsynth_stereo_shards)
    return _list_samples(
        "flowsynth stereo shards", root, layout, STEREO_FIELDS, "flowsynth_stereo", False
    )


def read_stereo_shard_sample(sample: ShardSample) -> StereoPair:
    """Decode one stereo sample's members into a :class:`StereoPair` (the left view's
    disparity, valid where finite and >= 0, and occlusion).

    Raises
    ------
    FileFormatError
        A member does not decode, or the members disagree in size; names shard and member.
    """
    key, data = _read_members(sample, STEREO_FIELDS)

    def source(name: str) -> str:
        return f"{os.fspath(sample.shard)}:{key}.{name}"

    left_name, right_name, disparity_name, occlusion_name = STEREO_FIELDS
    left = decode_image(data[left_name], source(left_name))
    right = decode_image(data[right_name], source(right_name))
    disparity = decode_pfm(data[disparity_name], source(disparity_name))
    occlusion = np.asarray(decode_png(data[occlusion_name], source(occlusion_name)) > 127)
    if disparity.ndim != 2:
        raise FileFormatError(source(disparity_name), f"not one channel: {disparity.shape}")
    if occlusion.ndim != 2:
        raise FileFormatError(source(occlusion_name), f"not a one-channel mask: {occlusion.shape}")
    for name, shape in (
        (right_name, right.shape),
        (disparity_name, disparity.shape),
        (occlusion_name, occlusion.shape),
    ):
        if tuple(shape[:2]) != left.shape[:2]:
            raise FileFormatError(source(name), f"size {shape[:2]} differs from {left_name}'s")
    valid = np.isfinite(disparity) & (disparity >= 0)
    disparity = np.where(valid, disparity, np.float32(0.0)).astype(np.float32)
    return StereoPair(left, right, disparity, valid, occlusion, sample.name)


def read_shard_sample(sample: ShardSample) -> FlowPair:
    """Decode one sample's members into a :class:`FlowPair` (occlusion always present).

    Raises
    ------
    FileFormatError
        A member does not decode, or the members disagree in size; names shard and member.
    """
    first, second, flow_name, occlusion_name = FIELDS[sample.backward]
    key, data = _read_members(sample, FIELDS[sample.backward])

    def source(name: str) -> str:
        return f"{os.fspath(sample.shard)}:{key}.{name}"

    image1 = decode_image(data[first], source(first))
    image2 = decode_image(data[second], source(second))
    flow = decode_flo(data[flow_name], source(flow_name))
    occlusion = np.asarray(decode_png(data[occlusion_name], source(occlusion_name)) > 127)
    for name, shape in (
        (second, image2.shape),
        (flow_name, flow.shape),
        (occlusion_name, occlusion.shape),
    ):
        if tuple(shape[:2]) != image1.shape[:2]:
            raise FileFormatError(source(name), f"size {shape[:2]} differs from {first}'s")
    if occlusion.ndim != 2:
        raise FileFormatError(source(occlusion_name), f"not a one-channel mask: {occlusion.shape}")
    return make_pair(image1, image2, flow, flo_valid(flow), occlusion, sample.name)
