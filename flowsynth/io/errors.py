"""The one error type the file-format layer raises for a bad file.

Every reader in :mod:`flowsynth.io` turns a truncated, corrupt, hostile or wrong-format file
into :class:`FileFormatError`, whose message names the file and says what is wrong. Other
exceptions from a reader (``OSError`` for a missing file aside) are bugs.
"""

from __future__ import annotations

import os


class FileFormatError(ValueError):
    """A file (or byte string) that is not a valid file of the expected format.

    Parameters
    ----------
    source : str | os.PathLike[str]
        The file's path, or a name given to a byte string (``"<bytes>"`` by default).
    problem : str
        What is wrong, e.g. ``"expected 1212 bytes, got 800"``.
    """

    def __init__(self, source: str | os.PathLike[str], problem: str) -> None:
        # Both arguments go to ``args`` so the error pickles across worker processes.
        super().__init__(os.fspath(source), problem)
        self.source = os.fspath(source)
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


class UnsafePathError(FileFormatError):
    """A path that flowsynth would write, rename or delete inside an output folder is, or goes
    through, a symbolic link (or another non-regular entry) that flowsynth did not create.

    Following it could write or delete files outside the folder, so the operation is refused.
    """
