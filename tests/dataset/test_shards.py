"""WebDataset tar shards: deterministic bytes, the same samples as the per-file layout, readable
by the ``webdataset`` package, resumable, and verified member by member."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.io.layout import FLOW_FILES, METADATA_NAME
from flowsynth.io.manifest import MANIFEST_DIR, list_manifests
from flowsynth.io.shards import ShardWriter, iter_shard, member_digests, shard_name
from flowsynth.recipe.fields import recipe_hash
from flowsynth.recipe.load import load_recipe
from tests.render.helpers import SMALL

SETS = [arg for s in SMALL for arg in ("--set", s)]


def generate(out: Path, *extra: str, count: int = 5) -> int:
    args = ["generate", "default", "--out", str(out), "--count", str(count), "--preview", "0"]
    return main([*args, "--no-progress", "--chunk-size", "3", *SETS, *extra])


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Five samples as shards (two workers) and as files (one worker)."""
    root = tmp_path_factory.mktemp("shards")
    assert generate(root / "shards", "--format", "shards", "--workers", "2") == 0
    assert generate(root / "files", "--workers", "1") == 0
    return root / "shards", root / "files"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shards_hold_the_per_file_bytes(folders: tuple[Path, Path]) -> None:
    shards, files = folders
    assert sorted(p.name for p in shards.iterdir()) == sorted(
        [METADATA_NAME, MANIFEST_DIR, "README.md", shard_name(0), shard_name(1)]
    )
    members = dict(iter_shard(shards / shard_name(0))) | dict(iter_shard(shards / shard_name(1)))
    expected = [f"{i:07d}.{s}" for i in range(5) for s in sorted([*FLOW_FILES, "json"])]
    assert list(members) == expected  # sorted, grouped by sample
    for name, data in members.items():
        key, field = name.split(".", 1)
        if field == "json":
            meta = json.loads(data)
            assert meta["index"] == int(key) and meta["seed"] == 0
            assert meta["recipe_hash"] == recipe_hash(load_recipe("default", SMALL))
        else:
            assert data == (files / f"{key}-{field}").read_bytes(), name
    assert json.loads((shards / METADATA_NAME).read_text())["layout"] == "shards"


def test_tar_headers_are_fixed(folders: tuple[Path, Path]) -> None:
    with tarfile.open(folders[0] / shard_name(1)) as tar:
        for info in tar:
            assert (info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode) == (
                0,
                0,
                0,
                "",
                "",
                0o644,
            )


def test_webdataset_reads_the_shards(folders: tuple[Path, Path]) -> None:
    wds = pytest.importorskip("webdataset", reason="webdataset is not installed")
    shards, files = folders
    urls = [str(shards / shard_name(k)) for k in range(2)]
    samples = list(wds.WebDataset(urls, shardshuffle=False))
    assert [s["__key__"] for s in samples] == [f"{i:07d}" for i in range(5)]
    for sample in samples:
        for suffix in FLOW_FILES:
            assert sample[suffix] == (files / f"{sample['__key__']}-{suffix}").read_bytes()


def test_shards_are_the_same_for_any_worker_count_and_resume(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "data"
    assert generate(out, "--format", "shards", "--workers", "1", "--start", "4", count=1) == 0
    assert generate(out, "--format", "shards", "--workers", "1", count=4) == 0
    assert generate(out, "--format", "shards", "--workers", "2") == 0  # shard 1 grows to 2
    assert sorted(p.name for p in (out / MANIFEST_DIR).iterdir()) == [
        "chunk-0000000-3.json",
        "chunk-0000003-2.json",
    ]
    for name in (shard_name(0), shard_name(1), METADATA_NAME):
        assert _sha(out / name) == _sha(folders[0] / name)
    assert verify_dataset(out, count=5).ok


def test_a_folder_keeps_its_layout_and_shard_size(
    folders: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "data"
    assert generate(out, "--format", "shards", "--workers", "1", count=2) == 0
    assert generate(out, "--workers", "1", count=2) == 2  # files into a shard folder
    assert (
        main(
            [
                "generate",
                "default",
                "--out",
                str(out),
                "--count",
                "4",
                "--chunk-size",
                "2",
                "--format",
                "shards",
                "--no-progress",
                "--preview",
                "0",
                *SETS,
            ]
        )
        == 2
    )
    assert "--chunk-size 3" in capsys.readouterr().err


def rewrite_member_checksums(out: Path, checksum: str) -> None:
    """Record ``checksum`` per member in every manifest, as another flowsynth version did."""
    for path in list_manifests(out).values():
        record = json.loads(path.read_text())
        for name, entry in record["files"].items():
            entry["members"] = member_digests(out / name, checksum)
        path.write_text(json.dumps(record))


@pytest.mark.parametrize("checksum", ["crc32", "sha256"])
def test_verify_names_a_corrupt_member(
    folders: tuple[Path, Path], tmp_path: Path, checksum: str
) -> None:
    out = tmp_path / "data"
    assert generate(out, "--format", "shards", "--workers", "1", count=3) == 0
    record = next(iter(list_manifests(out).values())).read_text()
    assert '"crc32"' in record and '"sha256"' in record  # members; the shard itself
    if checksum == "sha256":  # a folder made by 0.2.0 or an early 0.3.0 build
        rewrite_member_checksums(out, checksum)
        assert verify_dataset(out).ok
    members = dict(iter_shard(out / shard_name(0)))
    members["0000001.flow_01.flo"] = members["0000001.flow_01.flo"][:-4] + b"\0\0\0\0"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (out / shard_name(0)).write_bytes(buffer.getvalue())
    problems = verify_dataset(out).problems
    assert any("member 0000001.flow_01.flo corrupt" in p for p in problems), problems


def test_shard_writer_leaves_nothing_after_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), ShardWriter(tmp_path / shard_name(0)) as shard:
        shard.add_sample(0, {"json": b"{}"})
        raise RuntimeError("render failed")
    assert list(tmp_path.iterdir()) == []
