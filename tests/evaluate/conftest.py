"""Torch-only tests: skipped without torch, one torch thread each (see ``tests/torch_tests.py``)."""

from tests.torch_tests import collect_ignore_glob, one_torch_thread

__all__ = ["collect_ignore_glob", "one_torch_thread"]
