"""Atomic writes: complete file or old file, never a temporary one left behind."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from flowsynth.io import atomic_path, atomic_write_bytes


def listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_write_creates_parents_and_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert listing(target.parent) == ["out.bin"]


def test_overwrite_replaces_the_old_contents(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new", fsync=True)
    assert target.read_bytes() == b"new" and listing(tmp_path) == ["out.bin"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "out.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == 0o644


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old" and listing(tmp_path) == ["out.bin"]


def test_atomic_path_temp_name_and_cleanup_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.npy"
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as temp:
        assert temp.parent == tmp_path
        assert temp.name.startswith(".") and temp.name.endswith(".tmp")
        temp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert listing(tmp_path) == []


def test_atomic_path_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as temp:
        assert temp.exists() and not target.exists()
        temp.write_text("done")
    assert target.read_text() == "done" and listing(target.parent) == ["out.txt"]


def test_long_names_still_get_a_valid_temp_name(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 250)
    atomic_write_bytes(target, b"x")
    assert target.read_bytes() == b"x" and listing(tmp_path) == [target.name]


def test_concurrent_writers_never_mix_contents(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    payloads = [bytes([index]) * 100_000 for index in range(8)]
    threads = [
        threading.Thread(target=atomic_write_bytes, args=(target, payload)) for payload in payloads
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads and listing(tmp_path) == ["out.bin"]


def test_writes_under_a_root_refuse_links_and_never_follow_them(tmp_path: Path) -> None:
    import itertools

    import flowsynth.io.atomic as atomic
    from flowsynth.io.errors import UnsafePathError

    root, outside = tmp_path / "out", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    sentinel = outside / "sentinel"
    sentinel.write_bytes(b"precious")
    (root / "link.bin").symlink_to(sentinel)
    (root / "sub").symlink_to(outside)
    for target in (root / "link.bin", root / "sub" / "new.bin", tmp_path / "elsewhere.bin"):
        with pytest.raises(
            UnsafePathError, match=target.name if target.parent != root / "sub" else "sub"
        ):
            atomic_write_bytes(target, b"x", root=root)
    # The temporary names the next writes would choose, planted as links: skipped, not followed.
    start = next(atomic._counter)
    atomic._counter = itertools.count(start + 1)
    for n in range(start + 1, start + 4):
        name = f".a.bin.{os.getpid()}.{threading.get_ident()}.{n}.tmp"
        (root / name).symlink_to(sentinel)
    atomic_write_bytes(root / "a.bin", b"new", root=root)
    assert (root / "a.bin").read_bytes() == b"new" and sentinel.read_bytes() == b"precious"
    assert sorted(p.name for p in outside.iterdir()) == ["sentinel"]
    atomic.safe_unlink(root, root / "a.bin")
    with pytest.raises(UnsafePathError, match="link.bin"):
        atomic.safe_unlink(root, root / "link.bin")
    assert sentinel.exists() and (root / "link.bin").is_symlink()
