"""The learning-rate schedule and the (data seed, step) -> items order."""

from __future__ import annotations

import pytest

from flowsynth.train.sampling import StepBatchSampler, epoch_order
from flowsynth.train.schedule import learning_rate_factor


def test_warmup_then_cosine_to_min_lr() -> None:
    factors = [
        learning_rate_factor(s, steps=12, warmup=2, schedule="cosine", min_lr=0.1)
        for s in range(12)
    ]
    assert factors[:3] == [0.5, 1.0, 1.0]
    assert factors[-1] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:], strict=False))


def test_step_schedule_halves_at_flownet_milestones() -> None:
    factor = [learning_rate_factor(s, steps=8, warmup=0, schedule="step") for s in range(8)]
    assert factor == [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.125]
    assert learning_rate_factor(5, steps=8, warmup=0, schedule="constant") == 1.0


def test_order_is_a_function_of_seed_and_step() -> None:
    full = StepBatchSampler(10, batch=3, data_seed=4, start_step=0, steps=9)
    later = StepBatchSampler(10, batch=3, data_seed=4, start_step=5, steps=9)
    assert list(full)[5:] == list(later)
    positions = [item for batch in full for item in batch]
    for epoch in (0, 1):  # each epoch visits every item once
        assert sorted(i for e, i in positions if e == epoch) == list(range(10))
    assert epoch_order(4, 0, 10).tolist() != epoch_order(4, 1, 10).tolist()
    assert epoch_order(4, 0, 10).tolist() != epoch_order(5, 0, 10).tolist()
    assert epoch_order(4, 1, 10).tolist() == epoch_order(4, 1, 10).tolist()
