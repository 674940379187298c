"""An exclusive lock on an output folder, so that two runs never write one dataset at once.

Two ``flowsynth generate`` runs into one folder would each clean up the other's unfinished chunks
and could record a chunk whose files the other has just removed. The first run holds an advisory
``fcntl`` lock on ``OUT/.flowsynth.lock`` (which names its holder) until it finishes; another run
fails at once with :class:`FolderBusyError`. The kernel drops the lock when the holder exits,
however it exits (kill -9 included), so a crashed run never leaves the folder locked; a run that
ends normally also removes the file.

Advisory locks hold between processes of one machine (and on most cluster file systems, but not
all NFS setups). Where ``fcntl`` does not exist (Windows) there is no lock.

The lock file is opened with ``O_NOFOLLOW`` and must be a regular file: a symbolic link planted
under its name is refused (:class:`UnsafePathError`), never followed and truncated.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

from flowsynth.io.errors import UnsafePathError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".flowsynth.lock"


class FolderBusyError(RuntimeError):
    """Another process is writing into the output folder."""


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the ``with`` block, or raise :class:`FolderBusyError`.

    The lock file is removed when the block ends; one left by a killed run is reused.
    """
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = _acquire(path, folder)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"flowsynth pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            # Before releasing: a waiting opener then sees a stale inode. Only our own file:
            # a link put in its place meanwhile is left alone.
            if os.lstat(path).st_ino == os.fstat(fd).st_ino:
                os.unlink(path)
        os.close(fd)  # releases the lock


def _open_lock_file(path: Path) -> int:
    """Open (or create) the lock file, refusing a symbolic link or a non-regular file."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise UnsafePathError(path, "is a symbolic link; refusing to use it as the lock file")
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as error:
        if os.path.islink(path) or os.path.isdir(path):
            raise UnsafePathError(path, f"cannot be used as the lock file ({error})") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePathError(path, "is not a regular file; refusing to use it as the lock file")
    return fd


def _acquire(path: Path, folder: Path) -> int:
    """Open and lock ``path``; retry if the holder removed it between our open and lock."""
    while True:
        fd = _open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise FolderBusyError(
                f"{folder} is being written by {holder}; wait for it to finish (or stop it: an "
                "interrupted run resumes where it stopped)"
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # we locked a file its holder had just removed: take the new one
