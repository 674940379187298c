"""A wall-clock limit for one test case, so that a hang fails the test instead of stalling it."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Hung(BaseException):
    """Raised by the alarm when a case runs too long (a BaseException, so that code under test
    catching ``Exception`` cannot swallow it)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Hung` if the block runs longer than ``seconds`` (also inside a syscall,
    such as a read from a FIFO). POSIX only (``SIGALRM``)."""

    def alarm(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
