"""Sequences on disk: MPI Sintel's training tree, values that read back, verify and repair,
workers and resuming, and Sintel readers (flowsynth's own) that read it unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowsynth.cli.main import main
from flowsynth.data.flowpair import read_pair
from flowsynth.data.formats.sintel import list_sintel
from flowsynth.dataset.verify import verify_dataset
from flowsynth.dataset.write import generate_dataset
from flowsynth.io import read_flo, read_image, read_png
from flowsynth.io.layout import METADATA_NAME, file_name, sequence_files
from flowsynth.io.manifest import MANIFEST_DIR, Chunk, manifest_path
from flowsynth.recipe.fields import RecipeError
from flowsynth.recipe.load import load_recipe
from flowsynth.recipe.schema import FlowRecipe
from flowsynth.render.sequence import render_sequence_sample
from tests.dataset.helpers import REPO, digests, kill_mid_run

#: 5 frames of 96 x 128 pixels (the recipe's reach rule accepts the quarter scale).
SETS = ["--set", "scale=0.25"]
RECIPE = "sequences/default"


def sequence_recipe() -> FlowRecipe:
    recipe = load_recipe(RECIPE, ["scale=0.25"])
    assert isinstance(recipe, FlowRecipe)
    return recipe


def generate(out: Path, *extra: str, count: int = 2) -> int:
    args = ["generate", RECIPE, "--out", str(out), "--count", str(count), "--preview", "0"]
    return main([*args, "--no-progress", *SETS, *extra])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sequences, one chunk each, written in this process."""
    out = tmp_path_factory.mktemp("sequences") / "data"
    assert generate(out, "--workers", "1", "--executor", "serial", "--chunk-size", "1") == 0
    return out


def test_two_sequences_are_written_in_sintels_training_tree(dataset: Path) -> None:
    frames = [f"frame_{t:04d}" for t in range(1, 6)]
    per_folder = {
        "clean": [f"{f}.png" for f in frames],
        "final": [f"{f}.png" for f in frames],
        "flow": [f"{f}.flo" for f in frames[:-1]],
        "flow_backward": [f"{f}.flo" for f in frames[:-1]],
        "occlusions": [f"{f}.png" for f in frames[:-1]],
        "occlusions_backward": [f"{f}.png" for f in frames[:-1]],
        "invalid": [f"{f}.png" for f in frames],
        "segmentation": [f"{f}.png" for f in frames],
        "motion_boundaries": [f"{f}.png" for f in frames[:-1]],
        "motion_boundaries_backward": [f"{f}.png" for f in frames[:-1]],
        "flow_from_first": [f"{f}.flo" for f in frames[1:]],
        "visible_from_first": [f"{f}.png" for f in frames[1:]],
    }
    expected = {
        f"training/{folder}/{index:07d}/{name}"
        for folder, names in per_folder.items()
        for index in (0, 1)
        for name in names
    }
    expected |= {METADATA_NAME, "README.md", f"{MANIFEST_DIR}/chunk-0000000-1.json"}
    expected |= {f"{MANIFEST_DIR}/chunk-0000001-1.json"}
    assert set(digests(dataset)) == expected
    entries = sequence_files(5)
    assert {file_name(1, entry) for entry in entries} == {
        name for name in expected if "/0000001/" in name
    }
    card = (dataset / "README.md").read_text()
    assert "sequences of 5 frames" in card and "training/flow_from_first" in card


def test_the_files_hold_the_rendered_sequence(dataset: Path) -> None:
    recipe = sequence_recipe()
    for index in (0, 1):
        sequence = render_sequence_sample(recipe, 0, index)

        def path(kind: str, frame: int, suffix: str, index: int = index) -> Path:
            return dataset / "training" / kind / f"{index:07d}" / f"frame_{frame:04d}.{suffix}"

        for t in range(5):
            assert np.array_equal(read_image(path("clean", t + 1, "png")), sequence.frames[t])
            final = path("final", t + 1, "png").read_bytes()  # Sintel's final pass: the same
            assert final == path("clean", t + 1, "png").read_bytes()
            assert np.array_equal(
                read_png(path("segmentation", t + 1, "png")), sequence.segmentation[t]
            )
        invalid = [read_png(path("invalid", t + 1, "png")) == 255 for t in range(5)]
        assert np.array_equal(np.stack(invalid[:4]), ~sequence.valid)
        assert np.array_equal(invalid[4], ~sequence.valid_backward[3])
        for t in range(4):
            pairs = [
                ("flow", sequence.flow),
                ("flow_backward", sequence.flow_backward),
                ("flow_from_first", sequence.flow_from_first),
            ]
            for kind, flows in pairs:
                frame = t + 2 if kind == "flow_from_first" else t + 1
                assert np.array_equal(read_flo(path(kind, frame, "flo")), flows[t])  # float32
            masks = [
                ("occlusions", t + 1, sequence.occlusion[t]),
                ("occlusions_backward", t + 1, sequence.occlusion_backward[t]),
                ("motion_boundaries", t + 1, sequence.motion_boundary[t]),
                ("motion_boundaries_backward", t + 1, sequence.motion_boundary_backward[t]),
                ("visible_from_first", t + 2, sequence.visible_from_first[t]),
            ]
            for kind, frame, mask in masks:
                assert np.array_equal(read_png(path(kind, frame, "png")) == 255, mask), kind


def test_flowsynths_sintel_reader_reads_the_dataset_unchanged(dataset: Path) -> None:
    pairs = list_sintel(dataset)
    assert len(pairs) == 8  # 4 neighbouring pairs in each of 2 scenes
    sequences = [render_sequence_sample(sequence_recipe(), 0, i) for i in (0, 1)]
    for k, files in enumerate(pairs):
        sequence, t = sequences[k // 4], k % 4
        assert files.name == f"sintel/clean/{k // 4:07d}/frame_{t + 1:04d}"
        pair = read_pair(files)
        assert pair.has_occlusion
        assert np.array_equal(pair.image1, sequence.frames[t])
        assert np.array_equal(pair.image2, sequence.frames[t + 1])
        assert np.array_equal(pair.valid, sequence.valid[t])
        assert np.array_equal(pair.flow, np.where(pair.valid[..., None], sequence.flow[t], 0))
        assert np.array_equal(pair.occlusion, sequence.occlusion[t])
    pytest.importorskip("torch")
    from flowsynth.data.resolve import resolve_dataset

    assert len(resolve_dataset(f"sintel={dataset}")) == 8  # the torch dataset, by its spec


def test_verify_names_a_damaged_file_and_repair_restores_its_bytes(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(shutil.copytree(dataset, tmp_path / "data"))
    assert main(["verify", str(out)]) == 0
    before = digests(out)
    deleted = out / "training/flow/0000001/frame_0003.flo"
    cut = out / "training/visible_from_first/0000000/frame_0005.png"
    deleted.unlink()
    cut.write_bytes(cut.read_bytes()[:40])
    (out / "training/clean/0000000/stray.png").write_bytes(b"x")
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    report = capsys.readouterr()
    text = report.out + report.err
    assert f"{deleted}: missing" in text and f"{cut}: " in text and "stray.png: extra" in text
    (out / "training/clean/0000000/stray.png").unlink()
    assert main(["verify", str(out), "--repair", "--workers", "1"]) == 0
    assert digests(out) == before
    assert verify_dataset(out).ok


def test_two_workers_write_the_same_bytes_as_one(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    assert generate(out, "--workers", "2", "--chunk-size", "1") == 0
    assert digests(out) == digests(dataset)


def _command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flowsynth",
        "generate",
        RECIPE,
        "--out",
        str(out),
        "--count",
        "8",
        "--chunk-size",
        "1",
        "--workers",
        "1",
        "--executor",
        "serial",
        "--preview",
        "0",
        "--no-progress",
        *SETS,
    ]


def test_a_killed_run_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    """Killed with -9 after its first chunk, then damaged as a kill can leave it (a stale
    temporary file in a sample folder, a chunk's files without their manifest, one cut
    short), a re-run writes what an uninterrupted run wrote."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    expected = tmp_path / "expected"
    assert main(_command(expected)[3:]) == 0
    out = tmp_path / "killed"
    killed = kill_mid_run(_command(out), out, env, chunks=8, timeout=120)
    assert killed, "the run finished before it could be killed"
    (out / "training/clean/0000006").mkdir(parents=True, exist_ok=True)
    (out / "training/clean/0000006/.frame_0001.png.999.1.0.tmp").write_bytes(b"half")
    for entry in sequence_files(5):
        target = out / file_name(5, entry)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(expected / file_name(5, entry), target)
    manifest_path(out, Chunk(5, 1)).unlink(missing_ok=True)
    (out / file_name(5, "training/flow/frame_0002.flo")).write_bytes(b"truncated")
    subprocess.run(_command(out), check=True, env=env, capture_output=True, cwd=REPO)
    assert digests(out) == digests(expected)
    assert verify_dataset(out, count=8).ok
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_two_frames_keep_the_flyingchairs2_layout(tmp_path: Path) -> None:
    assert generate(tmp_path, "--workers", "1", "--set", "frames=2", count=1) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert "0000000-img_0.png" in names and "0000000-flow_01.flo" in names
    assert "training" not in names


def test_shards_of_sequences_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    recipe = sequence_recipe()
    with pytest.raises(RecipeError, match="frames"):
        generate_dataset(recipe, 0, tmp_path / "shards", count=1, layout="shards")
    assert not (tmp_path / "shards").exists()
