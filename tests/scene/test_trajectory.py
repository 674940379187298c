"""Layer trajectories: affine powers, growing deformations, rates, and the plans they make."""

from __future__ import annotations

import numpy as np
import pytest

from flowsynth.recipe.load import load_flow_recipe
from flowsynth.recipe.schema import Deformation as DeformationTable
from flowsynth.recipe.schema import Trajectory
from flowsynth.scene.motion import sample_deformation
from flowsynth.scene.plan import scene_for_index
from flowsynth.scene.trajectory import advanced, progress, sample_rates, sample_trajectory
from flowsynth.scene.transform import LayerMotion, affine_about, affine_power, compose

FULL = np.array([0.0, 0.0, 1.0])


def _similarity(rng: np.random.Generator) -> np.ndarray:
    return affine_about(
        tuple(rng.uniform(-50, 200, 2)),
        rng.uniform(-170, 170),
        rng.uniform(0.5, 2.0),
        tuple(rng.uniform(-100, 100, 2)),
    )


def test_whole_powers_compose_the_matrix_exactly() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        matrix = _similarity(rng)
        assert np.array_equal(affine_power(matrix, 1), matrix)
        assert np.array_equal(affine_power(matrix, 0), np.eye(2, 3))
        assert np.array_equal(affine_power(matrix, 3), compose(matrix, compose(matrix, matrix)))
        inverse = LayerMotion(matrix).inverse_affine
        assert np.array_equal(affine_power(matrix, -2), compose(inverse, inverse))


def test_fractional_powers_add_up() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        matrix = _similarity(rng)
        a, b = rng.uniform(-2, 3, 2)
        both = compose(affine_power(matrix, a), affine_power(matrix, b))
        assert np.allclose(both, affine_power(matrix, a + b), rtol=0, atol=1e-9)
        half = affine_power(matrix, 0.5)
        assert np.allclose(compose(half, half), matrix, rtol=0, atol=1e-9)
        # Continuous at whole powers, where the exact composition takes over.
        assert np.allclose(affine_power(matrix, 2 + 1e-12), affine_power(matrix, 2), atol=1e-9)
    shift = affine_about((0.0, 0.0), 0.0, 1.0, (3.0, -4.0))
    assert np.allclose(affine_power(shift, 0.25), [[1, 0, 0.75], [0, 1, -1.0]], atol=1e-15)
    tiny = affine_about((10.0, 5.0), 1e-7, 1.0, (3.0, -4.0))  # near the translation limit
    assert np.allclose(compose(affine_power(tiny, 0.5), affine_power(tiny, 0.5)), tiny, atol=1e-12)


def test_fractional_powers_need_a_similarity() -> None:
    sheared = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0]])
    assert np.array_equal(affine_power(sheared, 2), compose(sheared, sheared))
    with pytest.raises(ValueError, match="similarity"):
        affine_power(sheared, 0.5)


def test_a_grown_deformation_stays_exactly_invertible() -> None:
    cfg = DeformationTable(probability=1.0, amplitude=(0.1, 0.2))
    deformation = sample_deformation(cfg, (50.0, 40.0), 100.0, rng=np.random.default_rng(1))
    assert deformation is not None
    assert deformation.scaled(1.0) is deformation
    points = np.random.default_rng(2).uniform(-50, 150, (1000, 2))
    still = LayerMotion(np.eye(2, 3), deformation.scaled(0.0))
    assert np.allclose(still.forward(points), points, rtol=0, atol=1e-12)
    for factor in (2.0, 3.7, -1.5):
        motion = LayerMotion(affine_about((50.0, 40.0), 12.0, 1.1, (3.0, -4.0)))
        motion = LayerMotion(motion.affine, deformation.scaled(factor))
        moved = motion.forward(points)
        assert np.abs(motion.inverse(moved) - points).max() < 1e-9
        assert motion.deformation is not None
        assert motion.deformation.curvature == pytest.approx(abs(factor) * deformation.curvature)


def test_rates_start_at_one_and_stay_within_their_knobs() -> None:
    rng = np.random.default_rng(3)
    assert sample_rates(Trajectory(), 6, rng=rng) == (1.0,) * 5
    assert progress((1.0,) * 5) == (1.0, 2.0, 3.0, 4.0, 5.0)
    cfg = Trajectory(acceleration=0.3, jitter=0.2)
    for seed in range(50):
        rates = sample_rates(cfg, 8, rng=np.random.default_rng(seed))
        assert len(rates) == 7 and rates[0] == 1.0
        # Switching jitter off keeps the acceleration drawn.
        smooth = sample_rates(Trajectory(0.3, 0.0), 8, rng=np.random.default_rng(seed))
        steps = np.diff(smooth[1:])
        assert np.allclose(steps, steps[0]) and abs(steps[0]) <= 0.3
        assert np.abs(np.subtract(rates, smooth)).max() <= 0.2


def test_constant_velocity_repeats_the_pair_motion() -> None:
    recipe = load_flow_recipe("ablation/deformations", ["frames=5", "scale=0.1875"])
    plan = scene_for_index(recipe, 0, 0)
    assert plan.frames == 5 and plan.at_frame(2) is plan
    for layer in plan.layers:
        assert layer.trajectory[0] is layer.motion
        for t, motion in enumerate(layer.trajectory, start=2):
            assert np.array_equal(motion.affine, affine_power(layer.motion.affine, t - 1))
            if layer.motion.deformation is not None:
                assert motion.deformation == layer.motion.deformation.scaled(t - 1.0)
    with pytest.raises(ValueError, match="frame 6"):
        plan.at_frame(6)
    pair = scene_for_index(load_flow_recipe("ablation/deformations", ["scale=0.1875"]), 0, 0)
    assert pair.frames == 2 and all(layer.trajectory == (layer.motion,) for layer in pair.layers)


def test_a_pair_trajectory_draws_nothing() -> None:
    rng = np.random.default_rng(4)
    motion = LayerMotion(affine_about((1.0, 2.0), 5.0, 1.1, (1.0, 1.0)))
    assert sample_trajectory(Trajectory(0.5, 0.5), motion, 2, rng=rng) == (motion,)
    assert rng.random() == np.random.default_rng(4).random()
    assert advanced(motion, 1.0) is motion
