"""What the training and evaluation test folders share: their conftests import it.

- ``collect_ignore_glob``: these tests need the optional torch extra; without it they are not
  collected.
- ``one_torch_thread``: one torch thread per test. On a shared 2-core machine, two threads per
  process make the many small ops of these tiny models several times slower (threads wait for
  each other).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

collect_ignore_glob = ["test_*.py"] if importlib.util.find_spec("torch") is None else []


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
