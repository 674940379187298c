"""Small matrices in Python floats: products and inverses agree with numpy's to rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsynth.base.matrices import array, dot, invert, product

_entries = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.lists(_entries, min_size=n * n, max_size=n * n)))
def test_inverse_agrees_with_numpy(values: list[float]) -> None:
    n = int(round(len(values) ** 0.5))
    matrix = np.array(values).reshape(n, n)
    if abs(np.linalg.det(matrix)) < 1e-3 or np.linalg.cond(matrix) > 1e6:
        return  # near-singular: any two inverses may differ a lot
    ours = array(invert(matrix))
    np.testing.assert_allclose(ours, np.linalg.inv(matrix), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours @ matrix, np.eye(n), atol=1e-8)


def test_product_sums_in_order_and_agrees_with_numpy() -> None:
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((2, 5))
    np.testing.assert_allclose(array(product(a, b, c)), a @ b @ c, rtol=1e-12)
    # Each entry is the plain left-to-right sum of its products (no reassociation, no FMA).
    left, right = [[0.1, 0.2, 0.3]], [[0.7], [1e16], [-1e16]]
    assert product(left, right)[0][0] == (0.1 * 0.7 + 0.2 * 1e16) + 0.3 * -1e16


def test_affine_inverse_keeps_the_last_row_exact() -> None:
    matrix = [[0.8, -0.6, 3.0], [0.6, 0.8, -2.0], [0.0, 0.0, 1.0]]
    assert invert(matrix)[2] == [0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1.0, 2.0], [2.0, 4.0]], "singular"),
        ([[1.0, float("nan")], [0.0, 1.0]], "non-finite"),
        ([[1.0, 2.0, 3.0]], "cannot invert a 1x3"),
    ],
)
def test_bad_matrices_are_refused(matrix: list[list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invert(matrix)


def test_mismatched_product_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot multiply"):
        product([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(ValueError):
        dot([1.0, 2.0], [1.0])
