"""Size limits every reader checks before it allocates, and a bounded file read."""

from __future__ import annotations

import os

from flowsynth.io.errors import FileFormatError

#: Largest width or height any reader accepts.
MAX_SIDE = 1 << 15
#: Largest number of pixels (width x height) any reader accepts: 64 Mpx.
MAX_PIXELS = 1 << 26
#: Largest file any reader loads into memory: 1 GiB.
MAX_FILE_BYTES = 1 << 30


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


def read_file(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """All bytes of ``path``, refusing files over ``max_bytes`` before reading them.

    Raises
    ------
    OSError
        The file cannot be opened (e.g. ``FileNotFoundError``).
    FileFormatError
        The file is larger than ``max_bytes``.
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise FileFormatError(path, f"file of {size} bytes exceeds the {max_bytes}-byte limit")
        return file.read()
