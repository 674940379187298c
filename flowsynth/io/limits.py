"""Size limits every reader checks before it allocates, and a bounded file read."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from flowsynth.io.errors import FileFormatError

#: Largest width or height any reader accepts.
MAX_SIDE = 1 << 15
#: Largest number of pixels (width x height) any reader accepts: 64 Mpx.
MAX_PIXELS = 1 << 26
#: Largest file any reader loads into memory: 1 GiB.
MAX_FILE_BYTES = 1 << 30
#: Largest memory an image reader may need for decoding, estimated from the header: 512 MiB.
MAX_DECODED_BYTES = 1 << 29
#: Reads beyond a file's stated size go in chunks of this many bytes.
_CHUNK_BYTES = 1 << 20


def check_dimensions(width: int, height: int, source: str | os.PathLike[str]) -> None:
    """Raise :class:`FileFormatError` unless ``width x height`` is a sane image size.

    Parameters
    ----------
    width, height : int
        The size a file's header claims.
    source : str | os.PathLike[str]
        The file's path or name, for the message.
    """
    if width < 1 or height < 1:
        raise FileFormatError(source, f"width and height must be positive, got {width}x{height}")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise FileFormatError(
            source, f"size {width}x{height} exceeds the limit of {MAX_SIDE} pixels a side"
        )
    if width * height > MAX_PIXELS:
        raise FileFormatError(
            source, f"size {width}x{height} exceeds the limit of {MAX_PIXELS} pixels"
        )


def check_length(actual: int, expected: int, source: str | os.PathLike[str]) -> None:
    """Raise :class:`FileFormatError` unless a file holds exactly ``expected`` bytes."""
    if actual != expected:
        why = "truncated" if actual < expected else "trailing data"
        raise FileFormatError(
            source, f"header implies {expected} bytes, but there are {actual} ({why})"
        )


def check_decoded_size(
    width: int,
    height: int,
    bytes_per_pixel: int,
    source: str | os.PathLike[str],
    max_bytes: int = MAX_DECODED_BYTES,
) -> None:
    """Raise :class:`FileFormatError` if decoding would need more than ``max_bytes``.

    Parameters
    ----------
    width, height : int
        The size a file's header claims (already checked by :func:`check_dimensions`).
    bytes_per_pixel : int
        The reader's estimate of the memory it needs per pixel: the decoder's output, its
        internal buffers and the reader's own conversions.
    """
    needed = width * height * bytes_per_pixel
    if needed > max_bytes:
        raise FileFormatError(
            source,
            f"size {width}x{height} needs about {needed} bytes to decode, over the "
            f"{max_bytes}-byte limit",
        )


def _not_regular(path: str | os.PathLike[str], mode: int) -> FileFormatError:
    kind = (
        "a directory"
        if stat.S_ISDIR(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return FileFormatError(path, f"is {kind}, not a regular file")


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    Devices (``/dev/zero``), FIFOs, sockets and directories, also behind a symlink, raise
    :class:`FileFormatError` without a read: the file is opened non-blocking (so a FIFO
    without a writer does not hang) and checked with ``fstat`` on the opened descriptor.

    Raises
    ------
    OSError
        The file cannot be opened (e.g. ``FileNotFoundError``).
    FileFormatError
        The path is not a regular file.
    """
    # A first check before opening: opening some devices has side effects.
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ENXIO:  # a socket, or a FIFO swapped in since the stat
            raise FileFormatError(path, "is not a regular file") from None
        raise
    try:
        # The path may have been swapped since the stat: check what was actually opened.
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        file = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with file:
        yield file


def read_at_most(file: BinaryIO, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` bytes from ``file``: fewer only at the end of the file.

    The file's size sizes the first read (a read of ``n`` bytes allocates ``n`` up front);
    it is not trusted to be right: reading goes on in chunks until the end or the limit.
    """
    try:
        expected = os.fstat(file.fileno()).st_size - file.tell()
    except (OSError, ValueError):
        expected = 0
    chunks = []
    left = max_bytes
    size = max(expected + 1, _CHUNK_BYTES)
    while left > 0:
        chunk = file.read(min(left, size))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
        size = _CHUNK_BYTES
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class BoundedReader:
    """A read-only view of an open regular file for a parser that trusts the sizes it reads.

    ``tarfile``, for one, reads as many bytes as a header claims in one call (and a read of
    ``n`` bytes allocates ``n`` up front). Through this view no read returns more than
    ``max_read`` bytes, nor goes past the file's size when the view was made: a lying header
    gets short data (which the parser reports as truncated) instead of a huge allocation.
    """

    def __init__(self, file: BinaryIO, max_read: int) -> None:
        self._file = file
        self.max_read = max_read
        #: The file's size when the view was made.
        self.size = os.fstat(file.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        left = max(0, self.size - self._file.tell())
        wanted = left if size is None or size < 0 else min(size, left)
        return self._file.read(min(wanted, self.max_read))

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def read_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """All bytes of the regular file ``path``, refusing files over ``max_bytes``.

    The size is checked before reading and again while reading (at most ``max_bytes + 1``
    bytes are read), so a file that grows, or lies about its size, cannot exceed the limit.

    Raises
    ------
    OSError
        The file cannot be opened (e.g. ``FileNotFoundError``).
    FileFormatError
        The path is not a regular file (a device, FIFO, socket or directory), or the file is
        larger than ``max_bytes``.
    """
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise FileFormatError(path, f"file of {size} bytes exceeds the {max_bytes}-byte limit")
        data = read_at_most(file, max_bytes + 1)
    if len(data) > max_bytes:
        raise FileFormatError(path, f"file exceeds the {max_bytes}-byte limit")
    return data
