"""``flowsynth verify --repair``: damaged chunks are written again, byte for byte as an
undamaged run wrote them; plain ``verify`` says how to repair."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from flowsynth.cli.main import main
from flowsynth.io.layout import file_name
from flowsynth.io.manifest import Chunk, manifest_path

TINY = ["--set", "size=[32,48]", "--set", "objects.count=[2,3]"]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "preview.png"
    } | {
        f"manifest/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "manifest").iterdir())
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repair") / "data"
    args = ["generate", "default", "--out", str(out), "--count", "6", "--chunk-size", "2"]
    assert main([*args, "--workers", "1", "--no-progress", "--preview", "0", *TINY]) == 0
    return out


def test_repair_restores_every_file_byte_for_byte(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = Path(shutil.copytree(dataset, tmp_path / "data"))
    (copy / file_name(0, "flow_01.flo")).unlink()  # chunk 0: deleted
    cut = copy / file_name(3, "img_1.png")  # chunk 1: truncated
    cut.write_bytes(cut.read_bytes()[:50])
    altered = copy / file_name(4, "occ_01.png")  # chunk 2: corrupt, same size
    data = bytearray(altered.read_bytes())
    data[-20] ^= 0xFF
    altered.write_bytes(bytes(data))
    (copy / file_name(5, "seg_1.png")).unlink()  # chunk 2 again

    assert main(["verify", str(copy)]) == 1
    error = capsys.readouterr().err
    assert "missing" in error and "truncated" in error and "corrupt" in error
    assert f"flowsynth verify {copy} --repair" in error

    assert main(["verify", str(copy), "--repair", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "OK" in captured.out and "wrote 6 samples again (3 chunks)" in captured.err
    assert _hashes(copy) == _hashes(dataset)


def test_repair_rewrites_a_chunk_whose_manifest_is_gone_or_broken(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = Path(shutil.copytree(dataset, tmp_path / "data"))
    manifest_path(copy, Chunk(0, 2)).unlink()
    (copy / file_name(1, "img_0.png")).unlink()
    manifest_path(copy, Chunk(2, 2)).write_text("{not json")
    assert main(["verify", str(copy)]) == 1
    assert main(["verify", str(copy), "--repair", "--workers", "1"]) == 0
    capsys.readouterr()
    assert _hashes(copy) == _hashes(dataset)


def test_repair_with_count_writes_missing_samples(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = Path(shutil.copytree(dataset, tmp_path / "data"))
    manifest_path(copy, Chunk(4, 2)).unlink()
    for index in (4, 5):
        for path in copy.glob(f"{index:07d}-*"):
            path.unlink()
    assert main(["verify", str(copy), "--count", "6"]) == 1
    assert "--repair --start 0 --count 6" in capsys.readouterr().err
    assert main(["verify", str(copy), "--count", "6", "--repair", "--workers", "1"]) == 0
    assert _hashes(copy) == _hashes(dataset)


def test_repair_of_an_intact_dataset_writes_nothing(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _hashes(dataset)
    assert main(["verify", str(dataset), "--repair", "--workers", "1"]) == 0
    assert "wrote 0 samples again" in capsys.readouterr().err
    assert _hashes(dataset) == before


def test_repair_needs_the_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    assert main(["verify", str(tmp_path / "data"), "--repair"]) == 2
    assert "cannot repair" in capsys.readouterr().err


def test_repair_of_shards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shards"
    args = ["generate", "default", "--out", str(out), "--count", "4", "--chunk-size", "2"]
    assert main([*args, "--format", "shards", "--workers", "1", "--no-progress", *TINY]) == 0
    before = _hashes(out)
    (out / "shard-000000.tar").unlink()
    shard = out / "shard-000001.tar"
    data = bytearray(shard.read_bytes())
    data[700] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert main(["verify", str(out)]) == 1
    assert main(["verify", str(out), "--repair", "--workers", "1"]) == 0
    capsys.readouterr()
    assert _hashes(out) == before


def test_repair_of_an_elastic_dataset_uses_the_recorded_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import imageio.v3 as iio
    import numpy as np

    images, labels = tmp_path / "image", tmp_path / "label"
    images.mkdir()
    labels.mkdir()
    rng = np.random.default_rng(0)
    for stem in ("0", "1"):
        iio.imwrite(images / f"{stem}.png", rng.integers(0, 256, (24, 32), dtype=np.uint8))
        label = np.zeros((24, 32), np.uint8)
        label[6:18, 8:20] = 255
        iio.imwrite(labels / f"{stem}.png", label)
    out = tmp_path / "em"
    args = ["deform", "elastic/unet", "--images", str(images), "--labels", str(labels)]
    args += ["--out", str(out), "--count", "3", "--chunk-size", "2", "--workers", "1"]
    assert main([*args, "--no-progress", "--preview", "0"]) == 0
    before = _hashes(out)
    victim = sorted(out.glob("0000002-*"))[0]
    victim.write_bytes(victim.read_bytes()[:10])
    assert main(["verify", str(out), "--repair", "--workers", "1"]) == 0
    capsys.readouterr()
    assert _hashes(out) == before
