"""Reading flowsynth's tar shards: the same examples as the files and the renderer; bad shards."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import torch

from flowsynth.data import (
    FlowsynthFiles,
    FlowsynthShards,
    ProceduralFlowDataset,
    make_loader,
    open_flowsynth,
    resolve_dataset,
)
from flowsynth.data.example import TENSOR_FIELDS
from flowsynth.io import FileFormatError
from flowsynth.io.layout import FLOW_FILES, encode_fields, write_encoded
from flowsynth.io.shards import ShardWriter, shard_name
from flowsynth.render.layers import render_sample
from tests.data.checks import tiny_recipe

SEED, COUNT, CHUNK = 3, 5, 3


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five tiny samples as two shards (3 + 2) and as per-file layout."""
    root = tmp_path_factory.mktemp("generated")
    recipe = tiny_recipe()
    shards, files = root / "shards", root / "files"
    shards.mkdir()
    files.mkdir()
    for k in range(0, COUNT, CHUNK):
        with ShardWriter(shards / shard_name(k // CHUNK)) as shard:
            for index in range(k, min(k + CHUNK, COUNT)):
                sample = render_sample(recipe, SEED, index)
                encoded = encode_fields(sample.as_dict(), FLOW_FILES, 1)
                shard.add_sample(index, {**encoded, "json": b"{}"})
                write_encoded(files, index, encoded)
    return shards, files


def same(a, b) -> bool:
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in TENSOR_FIELDS)


def test_shards_files_and_renderer_agree(written: tuple[Path, Path]) -> None:
    shards, files = written
    from_shards, from_files = FlowsynthShards(shards), FlowsynthFiles(files)
    rendered = ProceduralFlowDataset(tiny_recipe(), seed=SEED, length=COUNT, name="flowsynth")
    assert len(from_shards) == len(from_files) == COUNT
    for item in range(COUNT):
        example = from_shards[item]
        assert example.name == f"flowsynth/{item:07d}" and bool(example.has_occlusion)
        assert same(example, from_files[item]) and same(example, rendered[item])


def test_backward_reads_frame_2_first(written: tuple[Path, Path]) -> None:
    shards, _ = written
    forward, backward = FlowsynthShards(shards)[4], FlowsynthShards(shards, backward=True)[4]
    assert torch.equal(forward.image1, backward.image2)
    sample = render_sample(tiny_recipe(), SEED, 4)
    assert torch.equal(backward.flow, torch.from_numpy(sample.flow_backward).permute(2, 0, 1))


def test_workers_and_layout_detection(written: tuple[Path, Path]) -> None:
    shards, files = written
    dataset = resolve_dataset(f"flowsynth={shards}")
    assert isinstance(dataset, FlowsynthShards)
    assert isinstance(open_flowsynth(files), FlowsynthFiles)
    serial = list(make_loader(dataset, batch_size=5))
    parallel = list(make_loader(dataset, batch_size=5, num_workers=2))
    assert same(serial[0], parallel[0])


def test_bad_shards_raise_naming_shard_and_member(
    tmp_path: Path, written: tuple[Path, Path]
) -> None:
    (tmp_path / shard_name(0)).write_bytes(b"not a tar at all" * 64)
    with pytest.raises(FileFormatError, match="shard-000000.tar"):
        FlowsynthShards(tmp_path)
    with tarfile.open(written[0] / shard_name(0)) as tar:
        members = {
            info.name.split(".", 1)[1]: tar.extractfile(info).read()  # type: ignore[union-attr]
            for info in tar
            if info.name.startswith("0000000.")
        }
    broken = tmp_path / "broken"
    broken.mkdir()
    with ShardWriter(broken / shard_name(0)) as shard:
        shard.add_sample(0, {**members, "flow_01.flo": members["flow_01.flo"][:30]})
    with pytest.raises(FileFormatError, match=r"shard-000000.tar:0000000.flow_01.flo"):
        FlowsynthShards(broken)[0]
    with ShardWriter(broken / shard_name(0)) as shard:
        shard.add_sample(0, {k: v for k, v in members.items() if k != "img_1.png"})
    with pytest.raises(FileFormatError, match="lacks img_1.png"):
        FlowsynthShards(broken)


def test_empty_folder_names_the_layout(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="shard-000000.tar"):
        FlowsynthShards(tmp_path)


def test_reads_what_flowsynth_generate_writes(tmp_path: Path) -> None:
    from flowsynth.cli.main import main
    from tests.render.helpers import SMALL

    sets = [arg for item in SMALL for arg in ("--set", item)]
    common = ["generate", "ablation/boxes", "--count", "4", "--preview", "0", "--seed", "2"]
    extra = ["--set", "size=[24,32]", "--no-progress", "--chunk-size", "3"]
    assert main([*common, "--out", str(tmp_path / "s"), *sets, *extra, "--format", "shards"]) == 0
    assert main([*common, "--out", str(tmp_path / "f"), *sets, *extra]) == 0
    shards, files = open_flowsynth(tmp_path / "s"), open_flowsynth(tmp_path / "f")
    assert isinstance(shards, FlowsynthShards) and isinstance(files, FlowsynthFiles)
    assert shards.metadata is not None and shards.metadata["seed"] == 2
    rendered = ProceduralFlowDataset(tiny_recipe(), seed=2, length=4, name="flowsynth")
    for item in range(4):
        assert same(shards[item], files[item]) and same(shards[item], rendered[item])
