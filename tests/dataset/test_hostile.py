"""``verify`` treats manifests and metadata as untrusted input: however they are damaged, it
returns a report naming the problem, quickly, and raises nothing but the project's typed errors."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsynth.cli.main import main
from flowsynth.dataset.verify import VerifyReport, verify_dataset
from flowsynth.io.errors import FileFormatError
from flowsynth.io.layout import METADATA_NAME
from flowsynth.io.manifest import MANIFEST_DIR
from flowsynth.io.shards import shard_members
from tests.render.helpers import SMALL

SETS = [arg for s in SMALL for arg in ("--set", s)]
LAYOUTS = ("files", "shards")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    made = {}
    for layout in LAYOUTS:
        out = tmp_path_factory.mktemp("hostile") / layout
        args = ["generate", "default", "--out", str(out), "--count", "3", "--chunk-size", "2"]
        extra = ["--format", layout, "--workers", "1", "--no-progress", "--preview", "0"]
        assert main([*args, *extra, *SETS]) == 0
        made[layout] = out
    return made


def clone(source: Path, target: Path) -> Path:
    """The dataset's data files hard-linked (fast, never modified), its JSON files copied."""
    (target / MANIFEST_DIR).mkdir(parents=True)
    for path in source.rglob("*"):
        if path.is_file():
            copy = shutil.copyfile if path.suffix == ".json" else os.link
            copy(path, target / path.relative_to(source))
    return target


def json_files(out: Path) -> list[Path]:
    return [out / METADATA_NAME, *sorted((out / MANIFEST_DIR).iterdir())]


def check(out: Path, **options: Any) -> VerifyReport | None:
    """Verify within 5 s; None if it raised one of the project's typed errors."""
    began = time.perf_counter()
    try:
        report = verify_dataset(out, **options)
    except FileFormatError:
        report = None
    assert time.perf_counter() - began < 5
    return report


def edit(path: Path, change: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _record(manifest: dict[str, Any]) -> Any:
    return next(iter(manifest["files"].values()))


def _members(manifest: dict[str, Any]) -> Any:
    return _record(manifest)["members"]


def _changed(change: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``change`` applied in place, returning the changed document."""

    def apply(document: Any) -> Any:
        change(document)
        return document

    return apply


def _huge_ints(meta: dict[str, Any]) -> None:
    meta["recipe"].update(seed_offset=10**400, size=[10**400, 96])


#: Case -> (layout, "manifest" or "meta", change): each once crashed verify with a traceback.
REGRESSIONS: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "record without bytes": ("files", "manifest", _changed(lambda m: _record(m).pop("bytes"))),
    "record without sha256": ("files", "manifest", _changed(lambda m: _record(m).pop("sha256"))),
    "records are numbers": (
        "files",
        "manifest",
        _changed(lambda m: m["files"].update(dict.fromkeys(m["files"], 7))),
    ),
    "bytes a string": ("files", "manifest", _changed(lambda m: _record(m).update(bytes="12"))),
    "files a number": ("files", "manifest", _changed(lambda m: m.update(files=5))),
    "first a string": ("files", "manifest", _changed(lambda m: m.update(first="0"))),
    "shard chunk_size 0": ("shards", "meta", _changed(lambda m: m.update(chunk_size=0))),
    "400-digit ints in the recipe": ("files", "meta", _changed(_huge_ints)),
    "files a number in metadata": ("files", "meta", _changed(lambda m: m.update(files=3))),
    "metadata a list": ("files", "meta", lambda m: [m]),
    "members a list": ("shards", "manifest", _changed(lambda m: _record(m).update(members=[1]))),
    "members are numbers": (
        "shards",
        "manifest",
        _changed(lambda m: _members(m).update(dict.fromkeys(_members(m), 3))),
    ),
    "a member without bytes": (
        "shards",
        "manifest",
        _changed(lambda m: next(iter(_members(m).values())).pop("bytes")),
    ),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_each_known_crash_is_a_named_problem(
    datasets: dict[str, Path], tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    layout, target, change = REGRESSIONS[case]
    out = clone(datasets[layout], tmp_path / "data")
    path = out / METADATA_NAME if target == "meta" else json_files(out)[1]
    edit(path, change)
    for quick in (False, True):
        report = check(out, count=3, quick=quick)
        assert report is not None and not report.ok
        assert any(path.name in p for p in report.problems), report.problems
    assert main(["verify", str(out)]) == 1
    assert path.name in capsys.readouterr().err


HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 10**12, 10**400, "12", "", "x" * 300, float("nan"), 1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(-3, 3), max_size=2),
)
RAW_TEXTS = st.sampled_from(
    ["", "{", "[]", "null", "7", '{"files": {}}', "[" * 50000, "1" * 5000, "\udcff"]
)


def _mutate(data: Any, path: list[int], value: Any, delete: bool) -> Any:
    """Replace (or delete) the entry reached by following ``path`` (indices into each
    container's keys, taken modulo their number) with ``value``."""
    if not path or not isinstance(data, (dict, list)) or not data:
        return value
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = keys[path[0] % len(keys)]
    if len(path) == 1 and delete:
        if isinstance(data, dict):
            del data[key]
        else:
            data.pop(key)
        return data
    data[key] = _mutate(data[key], path[1:], value, delete)
    return data


@settings(
    max_examples=300,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(
    layout=st.sampled_from(LAYOUTS),
    target=st.integers(0, 10),
    path=st.lists(st.integers(0, 1000), min_size=1, max_size=6),
    value=HOSTILE_VALUES,
    delete=st.booleans(),
    raw=st.one_of(st.none(), RAW_TEXTS),
    rename=st.one_of(
        st.none(),
        st.sampled_from(
            ["chunk-0000000-100000000000.json", "chunk-00-2.json", "chunk-0000000-1000.json"]
        ),
    ),
    quick=st.booleans(),
)
def test_damaged_manifests_and_metadata_give_a_report(
    datasets: dict[str, Path],
    layout: str,
    target: int,
    path: list[int],
    value: Any,
    delete: bool,
    raw: str | None,
    rename: str | None,
    quick: bool,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = clone(datasets[layout], Path(folder) / "data")
        files = json_files(out)
        victim = files[target % len(files)]
        if raw is not None:
            victim.write_bytes(raw.encode("utf-8", "surrogateescape"))
        else:
            edit(victim, lambda data: _mutate(data, path, value, delete))
        if rename is not None and victim.parent.name == MANIFEST_DIR:
            victim.rename(victim.with_name(rename))
        report = check(out, count=3, quick=quick)
        assert report is None or isinstance(report, VerifyReport)


@pytest.mark.parametrize("kind", ["fifo", "junk end blocks"])
def test_quick_verify_reads_shards_through_the_guarded_reader(
    datasets: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    out = clone(datasets["shards"], tmp_path / "out")
    shard = sorted(out.rglob("*.tar"))[0]
    data = shard.read_bytes()
    (tmp_path / "x.tar").write_bytes(data)
    shard.unlink()
    if kind == "fifo":
        os.mkfifo(shard)  # would block a plain open()
    else:  # same size, the end-of-archive block overwritten: only the member scan sees it
        last = max(m.offset + m.size for m in shard_members(tmp_path / "x.tar"))
        end = -(-last // 512) * 512
        shard.write_bytes(data[:end] + b"\xff" * 512 + data[end + 512 :])
    report = check(out, quick=True)
    assert report is not None and not report.ok
    assert any(str(shard) in problem for problem in report.problems)
