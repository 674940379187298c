"""Sequences: every neighbouring pair and every flow from the first frame is exact (warp tests,
chaining, consistency, brute-force occlusion), and a sequence of two frames is the pair sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowsynth.base.conventions import warp_backward
from flowsynth.recipe.fields import RecipeError, recipe_hash
from flowsynth.recipe.load import load_flow_recipe, load_recipe
from flowsynth.render.layers import render, render_sample
from flowsynth.render.sample import Sample
from flowsynth.render.sequence import SequenceSample, render_sequence, render_sequence_sample
from flowsynth.scene import plan as scene_plan
from flowsynth.scene.plan import ScenePlan, scene_for_index
from tests.render.helpers import (
    cubic_at,
    interior_pixels,
    map_to,
    reference_occlusion,
    reference_step,
    same_label_around,
    small_recipe,
)

#: Sequences of 5 small frames whose layers change speed from step to step.
SEQUENCE = ("size=[64,96]", "frames=5", "trajectory.acceleration=0.3", "trajectory.jitter=0.2")
DEFORMED = ("deformation.objects.probability=1.0", "deformation.background.probability=1.0")
NAMES = ["boxes", "rotations", "scaling", "holes", "thin", "deformations"]


def _recipe(name: str, *extra: str):
    return small_recipe(name, *SEQUENCE, *extra)


def _sequence(recipe, index: int, seed: int = 0) -> tuple[ScenePlan, SequenceSample]:
    plan = scene_for_index(recipe, seed, index)
    return plan, render_sequence(plan, recipe.render)


def _from_first(sequence: SequenceSample, i: int) -> Sample:
    """Frame 0 and frame ``i`` as a pair (forward fields only; the others are placeholders)."""
    flow, occlusion = sequence.flow_from_first[i - 1], ~sequence.visible_from_first[i - 1]
    return Sample(
        image1=sequence.frames[0],
        image2=sequence.frames[i],
        flow=flow,
        flow_backward=flow,
        occlusion=occlusion,
        occlusion_backward=occlusion,
        valid=np.ones_like(occlusion),
        valid_backward=np.ones_like(occlusion),
        segmentation1=sequence.segmentation[0],
        segmentation2=sequence.segmentation[i],
        motion_boundary=occlusion,
        motion_boundary_backward=occlusion,
    )


def _pairs(sequence: SequenceSample) -> list[tuple[str, Sample]]:
    """Every neighbouring pair and every pair from the first frame, named."""
    count = len(sequence.frames)
    return [(f"{i}->{i + 1}", sequence.pair(i)) for i in range(count - 1)] + [
        (f"0->{i}", _from_first(sequence, i)) for i in range(2, count)
    ]


def _warp_errors(sample: Sample) -> tuple[float, float, np.ndarray]:
    """Mean error of frame 2 warped by the flow, and of frame 2 as it is, against frame 1 on
    interior unoccluded pixels; and the warp errors themselves."""
    _, _, mask = interior_pixels(sample)
    image1 = sample.image1.astype(float)
    warped = np.abs(warp_backward(sample.image2, sample.flow).astype(float) - image1)[mask]
    still = np.abs(sample.image2.astype(float) - image1)[mask]
    return float(warped.mean()), float(still.mean()), warped


@pytest.mark.parametrize("name", NAMES)
def test_warping_by_each_flow_reproduces_the_earlier_frame(name: str) -> None:
    recipe = _recipe(name)
    errors: dict[str, list[tuple[float, float]]] = {}
    for index in range(3):
        _, sequence = _sequence(recipe, index)
        for key, sample in _pairs(sequence):
            if interior_pixels(sample)[2].sum() > 300:
                errors.setdefault(key, []).append(_warp_errors(sample)[:2])
    assert len(errors) == 7, sorted(errors)  # every pair judged in some sample
    for key, pairs in errors.items():
        warp_error, still_error = np.mean(pairs, axis=0)
        assert warp_error < 0.2 * still_error and warp_error < 3.0, (key, warp_error, still_error)


def _uniform_around(sample: Sample) -> np.ndarray:
    """True where each frame-1 pixel and its 8 neighbours have one colour, and so have the 2x2
    pixels of frame 2 that bilinear warping reads for it: no edge there, not even of a layer
    too thin to own a pixel centre (whose anti-aliased colour ``interior_pixels``, judging by
    owners, cannot see)."""
    height, width = sample.flow.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    uniform = np.ones((height, width), bool)
    blocks = [
        (sample.image1, xs - 1, ys - 1, [(dy, dx) for dy in range(3) for dx in range(3)]),
        (
            sample.image2,
            np.floor(xs + sample.flow[..., 0]).astype(int),
            np.floor(ys + sample.flow[..., 1]).astype(int),
            [(0, 1), (1, 0), (1, 1)],
        ),
    ]
    for image, x0, y0, offsets in blocks:
        x0, y0 = np.clip(x0, 0, width - 3), np.clip(y0, 0, height - 3)
        corner = image[y0, x0]
        for dy, dx in offsets:
            uniform &= (image[y0 + dy, x0 + dx] == corner).all(axis=-1)
    return uniform


@pytest.mark.parametrize("name", ["boxes", "scaling", "deformations"])
def test_flat_textures_warp_almost_exactly_for_every_pair(name: str) -> None:
    recipe = _recipe(name, "textures.kinds={flat: 1}")
    judged = 0
    for index in range(3):
        _, sequence = _sequence(recipe, index)
        for key, sample in _pairs(sequence):
            _, _, mask = interior_pixels(sample)
            mask &= _uniform_around(sample)
            warped = warp_backward(sample.image2, sample.flow).astype(float)
            error = np.abs(warped - sample.image1.astype(float))[mask]
            if len(error):
                assert error.mean() < 0.05 and error.max() <= 1.0, (key, error.max())
            judged += len(error)
    assert judged > 10_000


def _chained(sequence: SequenceSample) -> tuple[np.ndarray, list[np.ndarray]]:
    """Frame-0 pixels carried through the neighbouring flows (cubic interpolation, exact for
    the affine flows of rigid layers): ``(mask, positions)``, ``mask`` where every step stays
    visible and away from every edge, ``positions[i - 1]`` in frame ``i`` (float64 (n, 2))."""
    height, width = sequence.frames.shape[1:3]
    ys, xs = np.mgrid[0:height, 0:width]
    owner = sequence.segmentation[0].ravel()
    x, y = xs.ravel().astype(np.float64), ys.ravel().astype(np.float64)
    ok = same_label_around(sequence.segmentation[0], x, y, owner)
    positions = []
    for i in range(len(sequence.flow)):
        step = cubic_at(sequence.flow[i].astype(np.float64), x, y)
        x, y = x + step[:, 0], y + step[:, 1]
        ok &= same_label_around(sequence.segmentation[i + 1], x, y, owner)
        ok &= sequence.visible_from_first[i].ravel()
        positions.append(np.stack([x, y], axis=1))
    return ok, positions


#: Largest chaining error (px) allowed, by recipe. The neighbouring flows are interpolated at
#: the chained points (Keys cubic), which is exact for the affine flows of rigid layers; a
#: deformation growing along the trajectory bends its flow more than the interpolation follows
#: at a few points (the flows themselves are exact there too:
#: ``test_every_flow_is_the_exact_map_at_every_pixel``), so 99% of its points must meet 0.01.
CHAIN_TOLERANCE = {"rotations": 0.01, "scaling": 0.01, "holes": 0.01, "thin": 0.01}
CHAIN_TOLERANCE_DEFORMED = 0.25


@pytest.mark.parametrize("name", [*sorted(CHAIN_TOLERANCE), "deformations"])
def test_chained_neighbour_flows_equal_the_flow_from_the_first_frame(name: str) -> None:
    recipe = _recipe(name, *(DEFORMED if name == "deformations" else ()))
    errors = []
    for index in range(3):
        _, sequence = _sequence(recipe, index)
        ok, positions = _chained(sequence)
        height, width = sequence.frames.shape[1:3]
        ys, xs = np.mgrid[0:height, 0:width]
        start = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        for i, position in enumerate(positions):
            direct = sequence.flow_from_first[i].reshape(-1, 2).astype(np.float64)
            errors.append(np.linalg.norm(position - start - direct, axis=1)[ok])
    error = np.concatenate(errors)
    assert len(error) > 10_000
    assert error.max() <= CHAIN_TOLERANCE.get(name, CHAIN_TOLERANCE_DEFORMED), error.max()
    assert np.percentile(error, 99) <= 0.01


@pytest.mark.parametrize("name", ["polygons_ellipses", "rotations", "scaling", "thin"])
def test_neighbour_flows_are_forward_backward_consistent(name: str) -> None:
    """(Rigid layers: the backward flow is interpolated, exactly for their affine flows; see
    ``CHAIN_TOLERANCE`` for deformed ones.)"""
    recipe = _recipe(name)
    checked = 0
    for index in range(3):
        _, sequence = _sequence(recipe, index)
        for i in range(1, len(sequence.flow)):  # pair 0 is the pair renderer's (tested there)
            sample = sequence.pair(i)
            ys, xs, _ = interior_pixels(sample, reach=3)
            x2 = xs + sample.flow[ys, xs, 0].astype(np.float64)
            y2 = ys + sample.flow[ys, xs, 1].astype(np.float64)
            backward = cubic_at(sample.flow_backward.astype(np.float64), x2, y2)
            residual = np.linalg.norm(sample.flow[ys, xs] + backward, axis=1)
            assert residual.max() <= 0.01, (i, residual.max())
            checked += len(residual)
    assert checked > 1000


@pytest.mark.parametrize("name", ["scaling", "deformations"])
def test_every_flow_is_the_exact_map_at_every_pixel(name: str) -> None:
    """At every pixel ``q`` of frame ``t`` owned by layer ``k``: the flow to frame ``u`` is
    ``C_u(C_t^-1(q)) - q`` (``LayerMotion``'s numpy maps), for neighbours both ways and from
    the first frame."""
    recipe = _recipe(name, *DEFORMED)
    for index in range(2):
        plan, sequence = _sequence(recipe, index)
        count = len(sequence.frames)
        fields = [(i, i + 1, sequence.flow[i]) for i in range(count - 1)]
        fields += [(i + 1, i, sequence.flow_backward[i]) for i in range(count - 1)]
        fields += [(0, i + 1, sequence.flow_from_first[i]) for i in range(count - 1)]
        for here, there, flow in fields:
            expected = _exact_flow(plan, sequence.segmentation[here], here + 1, there + 1)
            assert np.abs(flow - expected).max() <= 1e-4, (here, there)


def _exact_flow(plan: ScenePlan, owner: np.ndarray, here: int, there: int) -> np.ndarray:
    """float64 (H, W, 2): each pixel of frame ``here`` (1-based), moved by its owner to frame
    ``there``."""
    h, w = owner.shape
    ys, xs = np.mgrid[0:h, 0:w]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    flow = np.zeros_like(points)
    from_first, to_there = map_to(plan, here), map_to(plan, there)
    for k in np.unique(owner):
        sel = owner.ravel() == k
        flow[sel] = to_there[k].forward(from_first[k].inverse(points[sel])) - points[sel]
    return flow.reshape(h, w, 2)


@pytest.mark.parametrize("name", ["boxes", "rotations", "holes", "thin", "deformations"])
def test_neighbour_occlusion_and_segmentation_match_brute_force(name: str) -> None:
    recipe = small_recipe(name, *SEQUENCE, "size=[40,56]", "objects.count=[3,5]")
    # Deformed outlines are polylines within 0.005 px of the true curve, pulled back through
    # two maps here: a pixel centre that close to a deformed edge may fall on either side.
    tolerance = 2 if name == "deformations" else 0
    occluded_pixels = 0
    for index in range(2):
        plan, sequence = _sequence(recipe, index)
        for i in range(len(sequence.flow)):
            for backward in (False, True):
                here, there = (i + 2, i + 1) if backward else (i + 1, i + 2)
                occluded, owner = reference_step(plan, here, there)
                got = (sequence.occlusion_backward if backward else sequence.occlusion)[i]
                assert (sequence.segmentation[here - 1] != owner).sum() <= tolerance
                assert (got != occluded).sum() <= tolerance, (i, backward)
                occluded_pixels += int(occluded.sum())
    assert occluded_pixels > 100


@pytest.mark.parametrize("name", ["boxes", "rotations", "deformations"])
def test_visibility_from_the_first_frame_matches_brute_force(name: str) -> None:
    recipe = small_recipe(name, *SEQUENCE, "size=[40,56]", "objects.count=[3,5]")
    tolerance = 1 if name == "deformations" else 0
    for index in range(2):
        plan, sequence = _sequence(recipe, index)
        for i in range(len(sequence.flow_from_first)):
            occluded, owner = reference_occlusion(plan.at_frame(i + 2))
            assert (sequence.segmentation[0] != owner).sum() <= tolerance
            assert (sequence.visible_from_first[i] == occluded).sum() <= tolerance


@pytest.mark.parametrize("name", ["default", "ablation/deformations"])
def test_two_frames_are_the_pair_sample_bit_for_bit(name: str) -> None:
    recipe = small_recipe(name, "size=[64,96]")
    assert recipe_hash(load_recipe(name, ["frames=2"])) == recipe_hash(load_recipe(name))
    for index in range(3):
        pair = render_sample(recipe, 4, index)
        sequence = render_sequence_sample(small_recipe(name, "size=[64,96]", "frames=2"), 4, index)
        assert len(sequence.frames) == 2
        for key, value in pair.as_dict().items():
            assert getattr(sequence.pair(0), key).tobytes() == value.tobytes(), key
        assert sequence.flow_from_first.tobytes() == pair.flow.tobytes()
        assert sequence.visible_from_first.tobytes() == (~pair.occlusion).tobytes()


@pytest.mark.parametrize("name", ["holes", "deformations"])
def test_each_frame_and_its_flow_from_the_first_are_the_pair_render_of_its_plan(name: str) -> None:
    """Frame 1 is drawn once and reused for every frame: frame ``t``, its segmentation and the
    flow and visibility from frame 1 are, byte for byte, those of the pair plan
    ``at_frame(t)``."""
    recipe = _recipe(name, *DEFORMED)
    for index in range(2):
        plan, sequence = _sequence(recipe, index)
        for t in range(2, plan.frames + 1):
            pair = render(plan.at_frame(t), recipe.render)
            assert sequence.frames[0].tobytes() == pair.image1.tobytes()
            assert sequence.segmentation[0].tobytes() == pair.segmentation1.tobytes()
            assert sequence.frames[t - 1].tobytes() == pair.image2.tobytes()
            assert sequence.segmentation[t - 1].tobytes() == pair.segmentation2.tobytes()
            assert sequence.flow_from_first[t - 2].tobytes() == pair.flow.tobytes()
            assert sequence.visible_from_first[t - 2].tobytes() == (~pair.occlusion).tobytes()


def test_a_sequence_starts_with_the_pair_samples_motion() -> None:
    """Frames 1 and 2 of a sequence move as the pair sample does (step 1 has rate 1); only the
    background's texture, made for every frame, differs."""
    recipe = small_recipe("deformations", "size=[64,96]")
    longer = small_recipe("deformations", *SEQUENCE)
    for index in range(3):
        pair, first = render_sample(recipe, 0, index), render_sequence_sample(longer, 0, index)
        assert np.array_equal(first.flow[0], pair.flow)
        assert np.array_equal(first.occlusion[0], pair.occlusion)
        assert np.array_equal(first.flow_backward[0], pair.flow_backward)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("frames=1", "frames"),
        ("frames=65", "frames"),
        ("frames=2.5", "frames"),
        ("frames=true", "frames"),
        ("frames=60", "frames"),  # compounds the default motions beyond the frame's reach
        ("trajectory.acceleration=-0.1", "trajectory.acceleration"),
        ("trajectory.jitter=2", "trajectory.jitter"),
        ("trajectory.speed=1", "trajectory.speed"),
    ],
)
def test_bad_sequence_keys_raise_a_recipe_error_naming_them(override: str, key: str) -> None:
    with pytest.raises(RecipeError, match=rf"\b{key}\b"):
        load_recipe("default", [override])


def test_sequences_are_deterministic_and_independent_of_order() -> None:
    recipe = _recipe("deformations", *DEFORMED)
    alone = render_sequence_sample(recipe, 3, 2).as_dict()
    for index in (0, 1):
        render_sequence_sample(recipe, 3, index)
    after = render_sequence_sample(recipe, 3, 2).as_dict()
    again = render_sequence_sample(recipe, 3, 2).as_dict()
    for key, value in alone.items():
        assert value.tobytes() == after[key].tobytes() == again[key].tobytes(), key


def test_still_sequences_do_not_move() -> None:
    recipe = _recipe("deformations", "motion.still_probability=1.0")
    for index in range(2):
        _, sequence = _sequence(recipe, index)
        assert not sequence.flow.any() and not sequence.flow_backward.any()
        assert not sequence.flow_from_first.any() and sequence.visible_from_first.all()
        assert not sequence.occlusion.any() and not sequence.occlusion_backward.any()
        assert (sequence.frames == sequence.frames[0]).all()


def test_texture_regions_change_no_byte_of_a_sequence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each layer's texture covers what any frame of the sequence shows: textures over the
    layers' whole extents give the same bytes."""
    recipe = _recipe("deformations", "objects.count=[8,12]")
    plans = [scene_for_index(recipe, 2, index) for index in range(3)]

    def whole(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
        x0, y0 = max(a[0], b[0]), max(a[1], b[1])
        seen = min(a[0] + a[2], b[0] + b[2]) > x0 and min(a[1] + a[3], b[1] + b[3]) > y0
        return a if seen else (x0, y0, 0, 0)

    monkeypatch.setattr(scene_plan, "_intersect", whole)
    for index, plan in enumerate(plans):
        wide = scene_for_index(recipe, 2, index)
        expected = render_sequence(plan, recipe.render).as_dict()
        got = render_sequence(wide, recipe.render).as_dict()
        for key, value in expected.items():
            assert np.array_equal(value, got[key]), key


@pytest.mark.parametrize("name", ["sequences/default", "sequences/deformations"])
def test_sequence_recipes_render(name: str) -> None:
    recipe = load_flow_recipe(name, ["scale=0.1875"])  # 72x96 frames
    assert recipe.frames == 5
    sequence = render_sequence_sample(recipe, 0, 0)
    assert sequence.frames.shape == (5, 72, 96, 3) and sequence.flow.shape == (4, 72, 96, 2)
    assert sequence.valid.all() and sequence.valid_backward.all()
    pair = render(scene_for_index(recipe, 0, 0).at_frame(5), recipe.render)
    assert np.array_equal(sequence.frames[4], pair.image2)


def test_pair_paths_refuse_a_sequence_recipe(tmp_path: Path) -> None:
    from flowsynth.cli.main import main
    from flowsynth.recipe.fields import RecipeError
    from flowsynth.recipe.load import load_recipe
    from flowsynth.render.layers import render_sample

    recipe = load_recipe("sequences/default")
    with pytest.raises(RecipeError, match="^frames: this recipe describes sequences of 5 frames"):
        render_sample(recipe, 0, 0)
    # generate writes sequences as files (tests/dataset/test_sequences_write.py), but refuses
    # them as shards: exit 2, the key named, nothing written
    out = tmp_path / "out"
    args = ["generate", "sequences/default", "--out", str(out), "--count", "2"]
    assert main([*args, "--format", "shards", "--workers", "1", "--no-progress"]) == 2
    assert not out.exists()  # refused before anything is written


def test_a_sequence_too_big_to_hold_is_refused_by_its_key() -> None:
    from flowsynth.recipe.fields import RecipeError
    from flowsynth.recipe.load import load_recipe

    # 64 frames of 2048x2048 (translations shrunk so that the reach rule allows them)
    overrides = ["frames=64", "size=[2048,2048]", "motion.objects.translation.range=[-1,1]"]
    overrides += ["motion.background.translation.range=[-1,1]"]
    with pytest.raises(RecipeError, match=r"frames: 64 frames of 2048x2048 need about 8\.9 GiB"):
        load_recipe("sequences/default", overrides)
    load_recipe("sequences/default", ["frames=8", *overrides[1:]])  # 1.0 GiB: allowed
