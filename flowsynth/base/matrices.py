"""Small dense matrices (affine maps, colour transforms) in Python floats.

numpy hands even a 3x3 product or inverse to BLAS and LAPACK, whose kernels are picked by CPU
(OpenBLAS: SSE, AVX2 with fused multiply-adds, AVX-512) and round differently, so one seed gave
other matrices, and eventually other bytes, on other machines. These loops round every operation
alike everywhere, in a fixed order, and cost less than numpy's call overhead at these sizes.
(Layer motions keep their own closed-form 2x3 ``compose`` and inverse in ``scene.transform``:
they run for every layer of every sample, and the flow samples' bytes are pinned to them.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Matrix = list[list[float]]


def _rows(matrix: Sequence[Sequence[float]] | npt.NDArray[np.floating]) -> Matrix:
    rows = [[float(v) for v in row] for row in matrix]
    if not rows or any(len(row) != len(rows[0]) for row in rows):
        raise ValueError(f"not a matrix: {matrix!r}")
    return rows


def product(*matrices: Sequence[Sequence[float]] | npt.NDArray[np.floating]) -> Matrix:
    """``m1 @ m2 @ ...``, left to right; each entry summed over ``k`` in increasing order."""
    result = _rows(matrices[0])
    for matrix in matrices[1:]:
        right = _rows(matrix)
        if len(result[0]) != len(right):
            raise ValueError(f"cannot multiply {len(result[0])} columns by {len(right)} rows")
        columns = [[row[j] for row in right] for j in range(len(right[0]))]
        result = [[dot(row, column) for column in columns] for row in result]
    return result


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    """``sum(a[k] * b[k])``, from 0.0, over ``k`` in increasing order (``ValueError`` if the
    lengths differ)."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        total += float(x) * float(y)
    return total


def invert(matrix: Sequence[Sequence[float]] | npt.NDArray[np.floating]) -> Matrix:
    """The inverse of a square matrix: Gauss-Jordan elimination with partial pivoting.

    Raises ``ValueError`` for a singular matrix (a zero pivot after exact elimination) or a
    non-finite entry.
    """
    rows = _rows(matrix)
    n = len(rows)
    if len(rows[0]) != n:
        raise ValueError(f"cannot invert a {n}x{len(rows[0])} matrix")
    if not all(math.isfinite(v) for row in rows for v in row):
        raise ValueError(f"cannot invert a matrix with non-finite entries: {rows}")
    work = [row + [1.0 if i == j else 0.0 for j in range(n)] for i, row in enumerate(rows)]
    for column in range(n):
        pivot = max(range(column, n), key=lambda r: abs(work[r][column]))
        if work[pivot][column] == 0.0:
            raise ValueError(f"matrix is singular: {rows}")
        work[column], work[pivot] = work[pivot], work[column]
        lead = work[column]
        scale = lead[column]
        lead[:] = [v / scale for v in lead]
        for r in range(n):
            if r != column and work[r][column] != 0.0:
                factor = work[r][column]
                work[r] = [v - factor * p for v, p in zip(work[r], lead, strict=True)]
    return [row[n:] for row in work]


def array(matrix: Matrix) -> npt.NDArray[np.float64]:
    """A matrix as ``float64 (rows, columns)``."""
    return np.array(matrix, dtype=np.float64)
