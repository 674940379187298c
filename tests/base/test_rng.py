"""The random streams' helpers (``flowsynth.base.rng``)."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.base.rng import sample_rng, sample_weighted


@pytest.mark.parametrize(
    "weights",
    [(1.0,), (1.0, 1.0, 1.0), (1.0, 0.0, 2.0), (2.0, 1.0, 1.0, 1.0, 1.0, 1.0), (0.0, 0.5, 0.0)],
)
def test_weighted_draw_is_generator_choice_with_those_probabilities(
    weights: tuple[float, ...],
) -> None:
    """The same index as ``choice`` with ``p = weights / sum`` and the same state after it, so
    plans drawn before the helper existed keep their bytes; zero weights are never drawn."""
    ours, numpys = sample_rng(5, 1, 0), sample_rng(5, 1, 0)
    p = np.array(weights) / np.sum(weights)
    drawn = [sample_weighted(weights, rng=ours) for _ in range(400)]
    assert drawn == [int(numpys.choice(len(weights), p=p)) for _ in range(400)]
    assert ours.random() == numpys.random()
    counts = np.bincount(drawn, minlength=len(weights))
    assert (counts[p == 0] == 0).all()
    np.testing.assert_allclose(counts / 400, p, atol=0.1)
