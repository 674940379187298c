"""Atomic file writes: readers see the old file or the complete new one, never a half-written one.

A writer writes a temporary file in the destination's directory (same file system, so the final
``os.replace`` is atomic), named ``.<name>.<pid>.<thread>.<n>.tmp`` so that concurrent
processes and threads never share one. The temporary file is removed if anything fails.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowsynth.io.pagecache import DropBehind

_counter = itertools.count()
# Keeps the temporary name under the usual 255-byte limit for long destination names.
_MAX_STEM = 100


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create (exclusively) a fresh empty temporary file beside ``path``: ``(fd, its path)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temp = path.with_name(
            f".{path.name[:_MAX_STEM]}.{os.getpid()}.{threading.get_ident()}.{next(_counter)}.tmp"
        )
        try:
            # 0o666 lets the umask decide the permissions, as for an ordinary open().
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:  # left behind by a crashed process that had our pid
            continue


@contextlib.contextmanager
def _replacing(destination: Path) -> Iterator[tuple[int, Path]]:
    """A fresh temporary file beside ``destination``, ``(fd, path)``; the body owns (closes) the
    descriptor. On success the file is renamed over ``destination``; on any failure removed."""
    fd, temp = _open_temp(destination)
    try:
        yield fd, temp
        os.replace(temp, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary file already exists (empty) when yielded; the writer overwrites it. Its name
    ends in ``.tmp``, so writers that choose a format from the extension (``cv2.imwrite``,
    ``np.save`` which appends ``.npy``) must be given the format some other way.

    Parameters
    ----------
    path : str | os.PathLike[str]
        The destination; missing parent directories are created.
    fsync : bool
        Flush the file to disk before the rename, so it survives a power cut (slower).

    Examples
    --------
    >>> with atomic_path("out/a.npz") as temp:  # doctest: +SKIP
    ...     np.savez(open(temp, "wb"), x=x)
    """
    with _replacing(Path(path)) as (fd, temp):
        os.close(fd)  # the writer opens the file by name
        yield temp
        if fsync:
            _fsync_file(temp)


def atomic_write_bytes(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    fsync: bool = False,
    drop_behind: DropBehind | None = None,
) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str | os.PathLike[str]
        The destination; missing parent directories are created.
    data : bytes
        The complete file contents (any bytes-like object).
    fsync : bool
        Flush the file to disk before the rename.
    drop_behind : DropBehind, optional
        Hand the written file to it, so that it leaves the page cache once written back
        (bulk writers; see :mod:`flowsynth.io.pagecache`).
    """
    # Written through the descriptor that created the file; closed before the rename.
    with _replacing(Path(path)) as (fd, _), os.fdopen(fd, "wb", buffering=0) as file:
        view = memoryview(data).cast("B")
        while view:  # an unbuffered write may write less than asked
            view = view[file.write(view) or 0 :]
        if fsync:
            os.fsync(file.fileno())
        if drop_behind is not None:
            drop_behind.add(file.fileno())
