"""Without torch (the optional ``torch`` extra), only the numpy-only data tests run."""

from __future__ import annotations

import importlib.util

#: Test modules that need torch; test_formats.py and test_augment.py are numpy-only.
NEEDS_TORCH = [
    "test_bench.py",
    "test_datasets.py",
    "test_drive.py",
    "test_mix.py",
    "test_real_data.py",
    "test_resolve.py",
    "test_sequence_dataset.py",
    "test_shard_reader.py",
    "test_stereo_readers.py",
    "test_torch_free.py",
]

collect_ignore = NEEDS_TORCH if importlib.util.find_spec("torch") is None else []
