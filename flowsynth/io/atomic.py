"""Atomic file writes: readers see the old file or the complete new one, never a half-written one.

A writer writes a temporary file in the destination's directory (same file system, so the final
``os.replace`` is atomic), named ``.<name>.<pid>.<thread>.<n>.tmp`` so that concurrent
processes and threads never share one. The temporary file is removed if anything fails.

Writers into an output folder pass it as ``root``: every folder between ``root`` and the
destination must then be a real folder (one that is missing is created), and the destination
must not be a symbolic link, or :class:`UnsafePathError` is raised before anything is written, so
that a link planted in the folder never redirects a write outside it. The temporary file is
created with ``O_EXCL | O_NOFOLLOW`` (never through a planted link) and the final rename
replaces a directory entry, never what a link points to.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from flowsynth.io.errors import UnsafePathError

if TYPE_CHECKING:
    from flowsynth.io.pagecache import DropBehind

_counter = itertools.count()
# Keeps the temporary name under the usual 255-byte limit for long destination names.
_MAX_STEM = 100


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _relative_parts(root: Path, path: Path) -> tuple[str, ...]:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        raise UnsafePathError(path, f"lies outside the output folder {root}") from None
    if ".." in parts or not parts:
        raise UnsafePathError(path, f"does not name an entry inside the output folder {root}")
    return parts


def safe_folder(root: Path, path: Path, *, create: bool = True) -> bool:
    """Check that ``path`` (``root`` or below it) is a real folder reached from ``root`` through
    real folders only; create the missing ones with ``create``. False if missing (and not
    created).

    Raises
    ------
    UnsafePathError
        If ``path`` or a folder on the way is a symbolic link or not a folder.
    """
    current = root
    for part in () if path == root else _relative_parts(root, path):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            if not create:
                return False
            with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
                os.mkdir(current)
            mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            raise UnsafePathError(current, "is a symbolic link; refusing to follow it")
        if not stat.S_ISDIR(mode):
            raise UnsafePathError(current, "should be a folder")
    return True


def check_entry(root: Path, path: Path) -> None:
    """Check that ``path`` may be written, replaced or deleted: inside ``root`` through real
    folders, and not a symbolic link or a folder itself (a missing entry is fine); missing
    folders on the way are not created.

    Raises
    ------
    UnsafePathError
        If it is not.
    """
    _relative_parts(root, path)
    safe_folder(root, path.parent, create=False)
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise UnsafePathError(path, "is a symbolic link; refusing to write or delete through it")
    if not stat.S_ISREG(mode):
        raise UnsafePathError(path, "is not a regular file")


def safe_unlink(root: Path, path: Path, *, missing_ok: bool = False) -> None:
    """Delete the regular file ``path`` inside ``root`` (see :func:`check_entry`)."""
    check_entry(root, path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        if not missing_ok:
            raise


def _guard(root: Path | None, path: Path) -> None:
    """Before writing ``path``: its folders exist and are real, and it is no link."""
    if root is not None:
        _relative_parts(root, path)
        safe_folder(root, path.parent)
        check_entry(root, path)


def _open_temp(path: Path) -> tuple[int, Path]:
    """Create (exclusively) a fresh empty temporary file beside ``path``: ``(fd, its path)``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temp = path.with_name(
            f".{path.name[:_MAX_STEM]}.{os.getpid()}.{threading.get_ident()}.{next(_counter)}.tmp"
        )
        try:
            # 0o666 lets the umask decide the permissions, as for an ordinary open().
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:  # left behind by a crashed process that had our pid
            continue


@contextlib.contextmanager
def _replacing(destination: Path, root: Path | None = None) -> Iterator[tuple[int, Path]]:
    """A fresh temporary file beside ``destination``, ``(fd, path)``; the body owns (closes) the
    descriptor. On success the file is renamed over ``destination``; on any failure removed.
    With ``root``, the paths are checked first (see the module's docstring)."""
    _guard(root, destination)
    fd, temp = _open_temp(destination)
    try:
        yield fd, temp
        if root is not None:  # a link planted while the body wrote is refused, not replaced
            check_entry(root, destination)
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
def atomic_path(
    path: str | os.PathLike[str], *, fsync: bool = False, root: Path | None = None
) -> Iterator[Path]:
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
    root : Path, optional
        The output folder ``path`` must stay inside, through no symbolic link.

    Examples
    --------
    >>> with atomic_path("out/a.npz") as temp:  # doctest: +SKIP
    ...     np.savez(open(temp, "wb"), x=x)
    """
    with _replacing(Path(path), root) as (fd, temp):
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
    root: Path | None = None,
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
    root : Path, optional
        The output folder ``path`` must stay inside, through no symbolic link.
    """
    # Written through the descriptor that created the file; closed before the rename.
    with _replacing(Path(path), root) as (fd, _), os.fdopen(fd, "wb", buffering=0) as file:
        view = memoryview(data).cast("B")
        while view:  # an unbuffered write may write less than asked
            view = view[file.write(view) or 0 :]
        if fsync:
            os.fsync(file.fileno())
        if drop_behind is not None:
            drop_behind.add(file.fileno())
