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
from flowsynth.io import FileFormatError, decode_flo, decode_image, decode_png, flo_valid
from flowsynth.io.limits import open_regular
from flowsynth.io.shards import ShardMember, read_member, shard_members

#: Members each sample needs, forward and backward: frame 1, frame 2, flow, occlusion.
FIELDS = {
    False: ("img_0.png", "img_1.png", "flow_01.flo", "occ_01.png"),
    True: ("img_1.png", "img_0.png", "flow_10.flo", "occ_10.png"),
}


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
    require_dir("flowsynth shards", root, layout)
    shards = sorted(root.glob("shard-*.tar"))
    if not shards:
        raise missing_layout("flowsynth shards", root, layout, "no shard-*.tar files")
    samples = []
    for shard in shards:
        for key, members in _scan(shard).items():
            missing = [name for name in FIELDS[backward] if name not in members]
            if missing:
                raise FileFormatError(shard, f"sample {key} lacks {', '.join(missing)}")
            prefix = "flowsynth/backward" if backward else "flowsynth"
            samples.append(ShardSample(f"{prefix}/{key}", shard, members, backward))
    return sorted(samples, key=lambda sample: sample.name)


def read_shard_sample(sample: ShardSample) -> FlowPair:
    """Decode one sample's members into a :class:`FlowPair` (occlusion always present).

    Raises
    ------
    FileFormatError
        A member does not decode, or the members disagree in size; names shard and member.
    """
    first, second, flow_name, occlusion_name = FIELDS[sample.backward]
    key = sample.name.rsplit("/", 1)[1]
    data = {}
    with open_regular(sample.shard) as file:
        for name in (first, second, flow_name, occlusion_name):
            offset, size = sample.members[name]
            member = ShardMember(f"{key}.{name}", offset, size)
            data[name] = read_member(file, member, sample.shard)

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
