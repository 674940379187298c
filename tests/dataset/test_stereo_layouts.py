"""Stereo pairs in FlyingThings3D's tree and in shards: the names stereo loaders glob, the same
bytes as the flat files, verify, repair and resume as for the other layouts, and the same bytes
for one worker, two joblib workers, Dask and Ray."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from flowsynth.cli.main import main
from flowsynth.dataset.verify import verify_dataset
from flowsynth.dataset.write import generate_dataset
from flowsynth.io.layout import (
    METADATA_NAME,
    STEREO_FILES,
    DatasetMismatchError,
    file_name,
    flyingthings3d_files,
)
from flowsynth.io.manifest import Chunk, manifest_path
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe
from tests.dataset.helpers import digests, loopback_dask_client

SETS = ["--set", "scale=0.25"]
RECIPE = "stereo/default"
TREE = "FlyingThings3D"


def stereo_recipe() -> FlowRecipe:
    recipe = load_recipe(RECIPE, ["scale=0.25"])
    assert isinstance(recipe, FlowRecipe)
    return recipe


def generate(out: Path, *extra: str, count: int = 3) -> int:
    args = ["generate", RECIPE, "--out", str(out), "--count", str(count), "--preview", "0"]
    return main([*args, "--no-progress", *SETS, *extra])


def tree_path(index: int, suffix: str) -> str:
    """The tree path of a flat stereo file's suffix (``left.png`` of sample 2 ->
    ``FlyingThings3D/frames_cleanpass/TRAIN/A/0000002/left/0000.png``)."""
    entry = list(flyingthings3d_files())[list(STEREO_FILES).index(suffix)]
    return file_name(index, entry)


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three stereo pairs as flat files, chunks of 2, written in this process."""
    out = tmp_path_factory.mktemp("flat") / "data"
    assert generate(out, "--workers", "1", "--executor", "serial", "--chunk-size", "2") == 0
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same pairs in FlyingThings3D's tree, chunks of 2, written in this process."""
    out = tmp_path_factory.mktemp("tree") / "data"
    extra = ("--format", "flyingthings3d", "--workers", "1", "--executor", "serial")
    assert generate(out, *extra, "--chunk-size", "2") == 0
    return out


def test_the_tree_holds_exactly_the_flat_files_under_their_names(flat: Path, tree: Path) -> None:
    found = digests(tree, samples_only=True)
    found.pop("README.md")
    expected = {
        tree_path(i, suffix): digest
        for name, digest in digests(flat, samples_only=True).items()
        if name != "README.md"
        for i, suffix in [(int(name[:7]), name[8:])]
    }
    assert found == expected
    assert tree_path(2, "disp_right.pfm") == f"{TREE}/disparity/TRAIN/A/0000002/right/0000.pfm"
    meta = json.loads((tree / METADATA_NAME).read_text())
    assert meta["layout"] == "files" and meta["tree"] == "flyingthings3d"
    assert meta["files"] == list(flyingthings3d_files())
    manifest = json.loads(manifest_path(tree, Chunk(0, 2)).read_text())
    assert manifest["tree"] == "flyingthings3d" and len(manifest["files"]) == 16
    card = (tree / "README.md").read_text()
    assert "frames_cleanpass/TRAIN/A/{index:07d}/left/0000.png" in card
    assert "flyingthings3d_stereo=" in card


def test_the_loaders_globs_find_exactly_the_views(tree: Path) -> None:
    """RAFT-Stereo's and IGEV's ``SceneFlowDatasets``: left images by glob, the right view and
    the disparity by replacing words in the whole path; torchvision's ``SceneFlowStereo``:
    both views and both disparities by glob, TRAIN and TEST alike."""
    assert "left" not in str(tree) and "right" not in str(tree)
    root = tree / TREE
    lefts = sorted(root.glob("frames_cleanpass/TRAIN/*/*/left/*.png"))
    assert [p.parts[-3] for p in lefts] == ["0000000", "0000001", "0000002"]
    for left in lefts:
        assert str(left.relative_to(tree)).count("left") == 1
        right = Path(str(left).replace("left", "right"))
        disparity = Path(str(left).replace("frames_cleanpass", "disparity").replace(".png", ".pfm"))
        assert right.is_file() and disparity.is_file()
        right_disparity = Path(str(disparity).replace("left", "right"))
        assert right_disparity.is_file()
    for view in ("left", "right"):
        assert len(list(root.glob(f"frames_cleanpass/*/*/*/{view}/*.png"))) == 3
        assert len(list(root.glob(f"disparity/*/*/*/{view}/*.pfm"))) == 3
    assert not list(root.glob("frames_finalpass/*"))


def test_verify_names_damage_in_the_tree_and_repair_restores_it(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(shutil.copytree(tree, tmp_path / "data"))
    assert verify_dataset(out, count=3).ok
    before = digests(out)
    deleted = out / tree_path(2, "disp_right.pfm")
    cut = out / tree_path(0, "left.png")
    extra = out / TREE / "frames_cleanpass/TRAIN/A/0000000/left/0001.png"
    stray = out / TREE / "disparity/TRAIN/B"
    deleted.unlink()
    cut.write_bytes(cut.read_bytes()[:40])
    extra.write_bytes(b"not ours")
    stray.mkdir()
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    text = "".join(capsys.readouterr())
    assert f"{deleted}: missing" in text and f"{cut}: " in text
    assert f"{extra}: extra file" in text and f"{stray}: unexpected folder" in text
    extra.unlink()
    stray.rmdir()
    assert main(["verify", str(out), "--repair", "--workers", "1"]) == 0
    assert digests(out) == before
    assert verify_dataset(out, count=3).ok


def test_an_interrupted_tree_resumes_without_holes_or_duplicates(
    tree: Path, tmp_path: Path
) -> None:
    """A run cut after its first chunk, with a second chunk's files half there (no manifest)
    and a writer's temporary file in a sample folder, completes to the same bytes."""
    out = tmp_path / "data"
    extra = ("--format", "flyingthings3d", "--workers", "1", "--chunk-size", "2")
    assert generate(out, *extra, count=2) == 0
    half = out / tree_path(2, "left.png")
    half.parent.mkdir(parents=True)
    half.write_bytes(b"half a png")
    temp = half.parent / ".0000.png.999.1.0.tmp"
    temp.write_bytes(b"x")
    assert generate(out, "--format", "flyingthings3d", "--workers", "2") == 0
    assert digests(out) == digests(tree)
    assert verify_dataset(out, count=3).ok
    assert not list(out.rglob(".*.tmp"))


def test_workers_dask_and_ray_write_the_same_bytes(flat: Path, tree: Path, tmp_path: Path) -> None:
    """One worker, two joblib workers, a Dask cluster and Ray write the same stereo files, flat
    and in the tree."""
    assert generate(tmp_path / "two", "--workers", "2", "--chunk-size", "2") == 0
    assert digests(tmp_path / "two") == digests(flat)
    extra = ("--format", "flyingthings3d", "--workers", "2", "--chunk-size", "2")
    assert generate(tmp_path / "two-tree", *extra) == 0
    assert digests(tmp_path / "two-tree") == digests(tree)
    with loopback_dask_client() as client:
        for layout, reference in (("files", flat), ("flyingthings3d", tree)):
            out = tmp_path / f"dask-{layout}"
            summary = generate_dataset(
                stereo_recipe(), 0, out, count=3, chunk_size=2, layout=layout, executor=client
            )
            assert summary.chunks_written == 2 and summary.written == 3
            assert digests(out, samples_only=True) == digests(reference, samples_only=True)
    ray = pytest.importorskip("ray", reason="ray is not installed")
    out = tmp_path / "ray"
    assert generate(out, "--executor", "ray", "--workers", "2", "--chunk-size", "2") == 0
    assert not ray.is_initialized()
    assert digests(out) == digests(flat)


def test_a_tree_and_flat_files_never_share_a_folder(flat: Path, tmp_path: Path) -> None:
    out = Path(shutil.copytree(flat, tmp_path / "data"))
    with pytest.raises(DatasetMismatchError, match="tree"):
        generate_dataset(stereo_recipe(), 0, out, count=3, layout="flyingthings3d", workers=1)
    assert not (out / TREE).exists()


def test_the_tree_is_refused_for_a_flow_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "flow"
    args = ["generate", "default", "--out", str(out), "--count", "1", "--format", "flyingthings3d"]
    assert main([*args, "--no-progress", *SETS]) != 0
    assert "--format flyingthings3d" in "".join(capsys.readouterr())
    assert not out.exists()


def test_stereo_shards_hold_the_flat_bytes_and_verify_and_repair(
    flat: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shards"
    assert generate(out, "--format", "shards", "--workers", "2", "--chunk-size", "2") == 0
    assert sorted(p.name for p in out.glob("*.tar")) == ["shard-000000.tar", "shard-000001.tar"]
    flat_files = digests(flat, samples_only=True)
    members = {}
    for shard in sorted(out.glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                members[member.name] = hashlib.sha256(data).hexdigest()
    for index in range(3):
        assert f"{index:07d}.json" in members
        for suffix in STEREO_FILES:
            assert members[f"{index:07d}.{suffix}"] == flat_files[f"{index:07d}-{suffix}"]
    assert len(members) == 3 * (len(STEREO_FILES) + 1)
    assert verify_dataset(out, count=3).ok
    before = digests(out)
    shard = out / "shard-000001.tar"
    data = bytearray(shard.read_bytes())
    data[1024] ^= 0xFF  # inside the first member's bytes
    shard.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    assert "member 0000002." in "".join(capsys.readouterr())
    assert main(["verify", str(out), "--repair", "--workers", "1"]) == 0
    assert digests(out) == before
