"""An exclusive lock on an output folder, so that two runs never write one dataset at once.

Two ``flowsynth generate`` runs into one folder would each clean up the other's unfinished chunks
and could record a chunk whose files the other has just removed. The first run holds an advisory
``fcntl`` lock on ``OUT/.flowsynth.lock`` (which names its holder) until it finishes; another run
fails at once with :class:`FolderBusyError`. The kernel drops the lock when the holder exits,
however it exits (kill -9 included), so a crashed run never leaves the folder locked; a run that
ends normally also removes the file.

Advisory locks hold between processes of one machine (and on most cluster file systems, but not
all NFS setups). Where ``fcntl`` does not exist (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

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
            os.unlink(path)  # before releasing: a waiting opener then sees a stale inode
        os.close(fd)  # releases the lock


def _acquire(path: Path, folder: Path) -> int:
    """Open and lock ``path``; retry if the holder removed it between our open and lock."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
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
