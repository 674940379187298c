"""Drop-behind for bulk writers: a dataset's files leave the page cache once they are on disk.

A generation run writes gigabytes that nobody reads soon. Left alone, the kernel keeps every
written page cached until memory runs out, so each new page of output is a page the kernel has
not used for a while. On virtual machines that hand free memory back to their host (virtio
free page reporting) such a page costs about 10 us to fault in again: writing a 512x384
sample's 3.7 MB can take 5-6 ms of system time, against about 1.5 ms when the pages are
recently freed ones (``benchmarks/bench_scale.py`` prints what writing costs with drop-behind).

So bulk writers release what they write, one step behind:

- right after writing a file, :func:`release` asks the kernel to start writing it back
  (``posix_fadvise(POSIX_FADV_DONTNEED)`` starts write-back of dirty pages and cannot drop them
  yet);
- a step later (the next sample), the file is released again: by then its pages are clean and
  the kernel frees them, and the next sample's writes reuse those warm pages.

The page cache then holds about two samples of output instead of everything. This changes no
byte on disk and no guarantee (atomic renames stay as they are; nothing is synced). Where
``posix_fadvise`` does not exist (macOS, Windows) every call here does nothing.
"""

from __future__ import annotations

import contextlib
import os

#: Whether this platform can advise the kernel about cached pages.
SUPPORTED = hasattr(os, "posix_fadvise") and hasattr(os, "POSIX_FADV_DONTNEED")


def release(fd: int) -> None:
    """Start write-back of ``fd``'s dirty pages and drop its clean ones from the page cache.

    Advice only: errors (a pipe, a file system that refuses advice) are ignored, and the file's
    contents are never affected.
    """
    if SUPPORTED:
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


class DropBehind:
    """Release written files now, and again (to drop them) at the second :meth:`step` after.

    Use one per stream of writes, as a context manager; call :meth:`add` with each written file's
    descriptor (it is duplicated, so the caller may close and rename the file) and :meth:`step`
    after each sample. Leaving the context releases what is still held.

    Examples
    --------
    >>> with DropBehind() as behind:  # doctest: +SKIP
    ...     for sample in samples:
    ...         for name, data in sample.items():
    ...             atomic_write_bytes(out / name, data, drop_behind=behind)
    ...         behind.step()
    """

    def __init__(self) -> None:
        self._current: list[int] = []
        self._previous: list[int] = []

    def add(self, fd: int) -> None:
        """Start write-back of a file just written; the second :meth:`step` from now drops it."""
        release(fd)
        if SUPPORTED:
            self._current.append(os.dup(fd))

    def step(self) -> None:
        """End a sample: drop the files added before the previous step (written back by now)."""
        for fd in self._previous:
            try:
                release(fd)
            finally:
                os.close(fd)
        self._previous, self._current = self._current, []

    def close(self) -> None:
        """Release and forget every file still held."""
        self.step()
        self.step()

    def __enter__(self) -> DropBehind:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()
