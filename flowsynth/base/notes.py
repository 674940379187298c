"""Notes on stderr that a process prints once, however often the code that says them runs
(an ablation trains many runs in one process; each would repeat the same note)."""

from __future__ import annotations

import sys

_said: set[str] = set()


def note_once(key: str, text: str) -> bool:
    """Print ``note: {text}`` on stderr unless a note with this ``key`` was printed already
    in this process; returns True if it printed."""
    if key in _said:
        return False
    _said.add(key)
    print(f"note: {text}", file=sys.stderr)
    return True
