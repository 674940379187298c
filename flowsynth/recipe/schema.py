"""The recipe schema: one frozen dataclass per table of a recipe file.

Defaults follow the public 2D generator of Mayer et al. (IJCV 2018), "What makes good synthetic
training data for learning disparity and optical flow estimation?". ``recipes/default.yaml`` spells
every key out; this module is the single place where keys, types, defaults and ranges live.

Every length in pixels of a flow recipe is marked ``spec(..., pixels=True)``: :func:`scaled`
multiplies them all by the recipe's ``scale``, so a new pixel field is scaled as soon as it is
marked (``tests/scene/test_scale.py`` checks that every numeric field is marked or known to be
unitless).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from flowsynth.recipe.fields import INHERIT, shown, spec
from flowsynth.recipe.fields import scaled as _scaled_fields

Range = tuple[float, float]
IntRange = tuple[int, int]


def _check_range(name: str, value: tuple[float, float]) -> None:
    if value[0] > value[1]:
        raise ValueError(f"{name}: lower bound {value[0]} exceeds upper bound {value[1]}")


def _check_weights(name: str, weights: dict[str, float], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(weights) - set(allowed))
    if unknown:
        shown_keys = shown(unknown)
        raise ValueError(f"{name}: unknown key(s) {shown_keys}; allowed keys: {', '.join(allowed)}")
    if any(w < 0 for w in weights.values()):
        raise ValueError(f"{name}: weights must be >= 0, got {shown(weights)}")
    if sum(weights.values()) <= 0:
        raise ValueError(f"{name}: at least one weight must be positive, got {shown(weights)}")


@dataclass(frozen=True)
class Distribution:
    """A scalar motion parameter.

    With probability ``probability`` the value is drawn, otherwise it is the midpoint of
    ``range`` (the neutral value: 0 for translations and angles, 1 for scales when the range is
    symmetric). ``law: power`` draws ``mid + half * sign(z) * |z|**power / divisor`` with
    ``z ~ N(0, 1)`` and resets values outside ``range`` to the midpoint (Mayer's generator);
    ``law: uniform`` draws uniformly in ``range``.
    """

    range: Range = spec((0.0, 0.0), pixels=INHERIT, doc="in the parameter's unit")
    law: Literal["power", "uniform"] = "uniform"
    power: float = spec(1.0, low=0.1, high=10.0)
    divisor: float = spec(1.0, low=1e-6)
    probability: float = spec(1.0, low=0.0, high=1.0)

    def check(self) -> None:
        _check_range("range", self.range)


#: Allowed zoom factors of a motion's ``scale``: 0 or less cannot be rendered (a layer collapses
#: or flips; the inverse map divides by it), and far from 1 the layer's texture, made for where
#: either frame sees it, grows with the factor's inverse.
SCALE_LIMITS = (0.1, 10.0)
#: Allowed rotations, degrees: a turn either way covers every angle.
ROTATION_LIMITS = (-360.0, 360.0)


def _check_within(name: str, value: tuple[float, float], limits: tuple[float, float]) -> None:
    if value[0] < limits[0] or value[1] > limits[1]:
        raise ValueError(f"{name}: {list(value)} must lie within {list(limits)}")


@dataclass(frozen=True)
class MotionTable:
    """Affine motion of one kind of layer (background or objects)."""

    translation: Distribution = spec(Distribution(), pixels=True, doc="pixels")
    rotation: Distribution = Distribution()  # degrees
    scale: Distribution = Distribution(range=(1.0, 1.0))

    def check(self) -> None:
        _check_within("rotation.range", self.rotation.range, ROTATION_LIMITS)
        _check_within("scale.range", self.scale.range, SCALE_LIMITS)


def _object_motion() -> MotionTable:
    return MotionTable(
        translation=Distribution((-120.0, 120.0), "power", 3.0, 10.0, 1.0),
        rotation=Distribution((-30.0, 30.0), "uniform", 1.0, 1.0, 0.7),
        scale=Distribution((0.8, 1.2), "uniform", 1.0, 1.0, 0.7),
    )


def _background_motion() -> MotionTable:
    return MotionTable(
        translation=Distribution((-40.0, 40.0), "power", 4.0, 15.0, 1.0),
        rotation=Distribution((-10.0, 10.0), "uniform", 1.0, 1.0, 1.0),
        scale=Distribution((0.93, 1.07), "uniform", 1.0, 1.0, 1.0),
    )


@dataclass(frozen=True)
class Motion:
    """Layer motions. Object motion is composed with the background's (objects ride on it)."""

    background: MotionTable = field(default_factory=_background_motion)
    objects: MotionTable = field(default_factory=_object_motion)
    still_probability: float = spec(0.0, low=0.0, high=1.0, doc="share of zero-motion samples")
    small_probability: float = spec(0.0, low=0.0, high=1.0, doc="share of small-motion samples")
    small_factor: float = spec(0.1, low=0.0, high=1.0, doc="motion scale of small samples")

    def check(self) -> None:
        if self.still_probability + self.small_probability > 1.0:
            raise ValueError("still_probability + small_probability must not exceed 1")


@dataclass(frozen=True)
class Deformation:
    """Smooth, exactly invertible non-rigid deformation of a layer between the two frames.

    The deformation is a composition of ``stages`` shears alternating between the axes, each
    moving one coordinate by a smooth random function of the other; every stage and so the whole
    map has an exact inverse. ``amplitude`` is the peak shift of one stage as a fraction of the
    layer's size, ``wavelength`` the period of its waves as a multiple of the layer's size.
    """

    probability: float = spec(0.0, low=0.0, high=1.0)
    stages: int = spec(4, low=1, high=8)
    amplitude: Range = spec((0.02, 0.06), low=0.0, high=0.2)
    wavelength: Range = spec((0.5, 2.0), low=0.1, high=10.0)
    waves: int = spec(2, low=1, high=4, doc="sinusoids summed in one stage")

    def check(self) -> None:
        _check_range("amplitude", self.amplitude)
        _check_range("wavelength", self.wavelength)


@dataclass(frozen=True)
class Deformations:
    background: Deformation = Deformation()
    objects: Deformation = Deformation()


SHAPE_KINDS = ("box", "polygon", "ellipse", "composite", "needle", "outline", "crescent")
TEXTURE_KINDS = ("noise", "plasma", "gradient", "stripes", "checkers", "flat", "folder")


@dataclass(frozen=True)
class Shapes:
    """Shape parameters, in pixels of the frame."""

    box_half_extent: Range = spec((10.0, 160.0), low=1.0, pixels=True)
    polygon_vertices: IntRange = spec((3, 20), low=3, high=64)
    polygon_radius: Range = spec((20.0, 120.0), low=2.0, pixels=True)
    polygon_jitter: float = spec(0.5, low=0.0, high=1.0, doc="angle jitter, share of the step")
    bezier_probability: float = spec(0.5, low=0.0, high=1.0)
    ellipse_semi_axis: Range = spec((25.0, 100.0), low=1.0, pixels=True)
    composite_parts: IntRange = spec((1, 7), low=1, high=16)
    subtract_probability: float = spec(0.5, low=0.0, high=1.0)
    needle_squeeze: float = spec(0.05, low=0.005, high=0.5)
    outline_ratio: float = spec(0.9, low=0.3, high=0.99)
    crescent_offset: Range = spec((0.2, 0.5), low=0.0, high=1.0)

    def check(self) -> None:
        for name in ("box_half_extent", "polygon_radius", "ellipse_semi_axis", "crescent_offset"):
            _check_range(name, getattr(self, name))
        for name in ("polygon_vertices", "composite_parts"):
            _check_range(name, getattr(self, name))


@dataclass(frozen=True)
class Objects:
    count: IntRange = spec((16, 23), low=0, high=256)
    kinds: dict[str, float] = field(
        default_factory=lambda: {"box": 1.0, "polygon": 1.0, "ellipse": 1.0}
    )
    spread: float = spec(
        0.2, low=0.0, high=2.0, doc="centres spread beyond each side, share of the frame size"
    )
    shapes: Shapes = Shapes()

    def check(self) -> None:
        _check_range("count", self.count)
        _check_weights("kinds", self.kinds, SHAPE_KINDS)


@dataclass(frozen=True)
class Textures:
    """Procedural textures; ``folder`` crops come from ``--textures DIR`` (never a recipe path)."""

    kinds: dict[str, float] = field(
        default_factory=lambda: {
            "noise": 2.0,
            "plasma": 2.0,
            "gradient": 1.0,
            "stripes": 1.0,
            "checkers": 1.0,
            "flat": 0.5,
        }
    )
    contrast: Range = spec((0.3, 1.0), low=0.0, high=1.0)
    stripe_period: Range = spec((4.0, 40.0), low=2.0, pixels=True)
    checker_size: Range = spec((4.0, 40.0), low=2.0, pixels=True)
    noise_scale: Range = spec(
        (8.0, 64.0), low=1.0, pixels=True, doc="feature size of noise, pixels"
    )

    def check(self) -> None:
        _check_weights("kinds", self.kinds, TEXTURE_KINDS)
        for name in ("contrast", "stripe_period", "checker_size", "noise_scale"):
            _check_range(name, getattr(self, name))


@dataclass(frozen=True)
class Render:
    supersampling: int = spec(4, low=1, high=16, doc="sub-rows per pixel for anti-aliasing")
    motion_boundary_threshold: float = spec(
        1.0, low=0.0, pixels=True, doc="flow jump (px) that marks a boundary"
    )


@dataclass(frozen=True)
class Trajectory:
    """How each layer's motion carries on over a sequence's frames (``frames`` > 2).

    Step ``s`` (frame ``s`` -> ``s + 1``) moves a layer by its pair motion advanced at rate
    ``r_s``: ``r_1 = 1``, ``r_s = 1 + a (s - 1) + e_s`` with ``a`` drawn once per layer in
    ``[-acceleration, acceleration]`` and ``e_s`` once per step in ``[-jitter, jitter]``
    (``scene.trajectory``). Both 0: constant velocity.
    """

    acceleration: float = spec(
        0.0, low=0.0, high=1.0, doc="largest change of a layer's rate per step"
    )
    jitter: float = spec(0.0, low=0.0, high=1.0, doc="largest random change of a step's rate")


@dataclass(frozen=True)
class Stereo:
    """A rectified stereo pair instead of a flow pair (``flowsynth.render.stereo``).

    Every layer lies on a plane of disparity ``d(x, y) = d0 + gx x + gy y`` (left-view pixels):
    the right view is the left one with each layer shifted by ``-d`` along x, so the pair's flow
    is ``(-d, 0)`` (FlyingThings3D's sign, ``conventions.right_x``). The background has the
    smallest disparity and each object in front a larger one, all within ``disparity`` over the
    frame. A stereo recipe's layers move only by their disparity: it must ask for no motion
    (``motion.still_probability: 1``) and no deformation, and is a pair (``frames: 2``).

    With ``scene_flow`` the layers move as in a flow recipe (motion and deformation as the
    recipe asks) between time ``t`` and ``t + 1``, and each layer's plane changes its disparity
    by a draw from ``disparity_change`` (``scene.disparity``): a sample is left and right views
    at ``t`` and ``t + 1`` with each view's flow, disparities at both times and each view's
    disparity change (FlyingThings3D's set; ``flowsynth.render.stereo.render_scene_flow``).
    """

    enabled: bool = False
    disparity: Range = spec(
        (0.0, 64.0), low=0.0, pixels=True, doc="disparity over the frame, pixels (>= 0)"
    )
    slant: float = spec(0.0, low=0.0, high=0.5, doc="largest |dd/dx|, |dd/dy|; 0: fronto-parallel")
    scene_flow: bool = spec(
        False,
        omit_default=True,
        doc="layers also move from t to t + 1 (the recipe's motion): stereo at both times",
    )
    disparity_change: Range = spec(
        (0.0, 0.0),
        pixels=True,
        omit_default=True,
        doc="change of each layer's disparity from t to t + 1, pixels (scene flow; kept within"
        " half the way to its neighbours' disparities, so the depth order holds)",
    )

    def check(self) -> None:
        _check_range("disparity", self.disparity)
        _check_range("disparity_change", self.disparity_change)
        if self.disparity_change != (0.0, 0.0) and not self.scene_flow:
            raise ValueError(
                "disparity_change: a change of disparity from t to t + 1 needs scene flow"
                " (stereo.scene_flow: true), which renders both times"
            )


#: Most frames a sequence recipe may ask for.
MAX_FRAMES = 64
#: Most memory one rendered sequence may hold (``render.sequence.SequenceSample``: per pixel,
#: 5 bytes per frame and 31 per neighbour pair), so that a recipe cannot ask for a sample no
#: worker can hold.
MAX_SEQUENCE_BYTES = 4 << 30


@dataclass(frozen=True)
class FlowRecipe:
    """A dataset of procedural two-frame scenes with exact flow (``kind: flow``); with
    ``frames`` above 2, of sequences (``flowsynth.render.sequence``)."""

    kind: Literal["flow"] = "flow"
    description: str = ""
    size: IntRange = spec((384, 512), low=8, high=8192, pixels=True, doc="frame height and width")
    scale: float = spec(
        1.0,
        low=0.05,
        high=8.0,
        omit_default=True,
        doc="multiplies the frame size and every length in pixels (shape sizes, translations,"
        " texture periods and feature sizes, pixel thresholds); not angles, zoom factors,"
        " probabilities, counts or lengths relative to a layer's size",
    )
    objects: Objects = Objects()
    textures: Textures = Textures()
    motion: Motion = Motion()
    deformation: Deformations = Deformations()
    render: Render = Render()
    frames: int = spec(
        2,
        low=2,
        high=MAX_FRAMES,
        omit_default=True,
        doc="frames per sample: 2 for a pair, more for a sequence (render.sequence)",
    )
    trajectory: Trajectory = spec(
        Trajectory(), omit_default=True, doc="how motions carry on over a sequence's frames"
    )
    stereo: Stereo = spec(
        Stereo(),
        omit_default=True,
        doc="rectified stereo pairs instead of flow pairs (render.stereo)",
    )

    def check(self) -> None:
        _check_reach(self)
        _check_sequence(self)
        _check_stereo(self)
        if self.scale == 1.0:
            return
        # The scaled frame must still be a frame the schema allows.
        size = scaled(self).size
        bounds = next(f for f in dataclasses.fields(self) if f.name == "size").metadata
        if min(size) < bounds["low"] or max(size) > bounds["high"]:
            raise ValueError(
                f"scale: {self.scale} turns the frame size {list(self.size)} into {list(size)},"
                f" out of the allowed [{bounds['low']}, {bounds['high']}]"
            )


#: A frame's reach, in multiples of its diagonal (at least :data:`MIN_REACH` pixels): the largest
#: shape size or texture period (``SHAPE_REACH``) and translation (``TRANSLATION_REACH``) a
#: recipe may ask for. Larger ones cannot show in the frame and would be rendered at great cost
#: or not at all (polygons and ellipses of such size overflow GEOS and the outline buffers; a
#: translation enlarges the background texture by as much).
SHAPE_REACH = 16.0
TRANSLATION_REACH = 1.0
#: Smallest diagonal the reach is computed from, in pixels: the defaults' shapes and motions
#: (up to 160 px) stay allowed in a tiny test frame.
MIN_REACH = 256.0

_SHAPE_LENGTHS = (
    "objects.shapes.box_half_extent",
    "objects.shapes.polygon_radius",
    "objects.shapes.ellipse_semi_axis",
    "textures.stripe_period",
    "textures.checker_size",
    "textures.noise_scale",
)
_TRANSLATIONS = ("motion.background.translation.range", "motion.objects.translation.range")
#: Lengths in pixels held to :data:`TRANSLATION_REACH` besides the translations.
_SHIFTS = ("stereo.disparity", "stereo.disparity_change")


def _check_reach(recipe: FlowRecipe) -> None:
    """Lengths in pixels must stay within the frame's reach (see :data:`SHAPE_REACH`).

    ``scale`` multiplies the lengths and the frame alike, so the unscaled ones are compared.
    """
    diagonal = max(float((recipe.size[0] ** 2 + recipe.size[1] ** 2) ** 0.5), MIN_REACH)
    for names, reach in (
        (_SHAPE_LENGTHS, SHAPE_REACH),
        (_TRANSLATIONS + _SHIFTS, TRANSLATION_REACH),
    ):
        for name in names:
            value: object = recipe
            for part in name.split("."):
                value = getattr(value, part)
            largest = max(abs(v) for v in value)  # type: ignore[attr-defined]
            if largest > reach * diagonal:
                raise ValueError(
                    f"{name}: {shown(value)} reaches {largest:g} px, beyond the frame's reach:"
                    f" at most {reach:g} x the frame diagonal ({reach * diagonal:.0f} px for"
                    f" size {list(recipe.size)})"
                )


def _check_stereo(recipe: FlowRecipe) -> None:
    """A stereo recipe's layers move only by their disparity (see :class:`Stereo`): it may not
    ask for motions, deformations or more frames of its own. A scene-flow recipe's layers move
    from ``t`` to ``t + 1`` as the recipe asks; it is one step (``frames: 2``) too."""
    stereo = recipe.stereo
    if not stereo.enabled:
        if stereo.scene_flow:
            raise ValueError(
                "stereo.scene_flow: scene flow is stereo at two times; it needs"
                " stereo.enabled: true"
            )
        return
    if recipe.frames != 2:
        raise ValueError(f"frames: a stereo recipe is a pair (frames: 2), got {recipe.frames}")
    if stereo.scene_flow:
        return
    if recipe.motion.still_probability != 1.0:
        raise ValueError(
            "motion.still_probability: a stereo recipe's layers move only by their disparity;"
            f" set it to 1.0 (no motion of their own), got {recipe.motion.still_probability};"
            " or ask for scene flow (stereo.scene_flow: true), where layers move from t to t + 1"
        )
    for layer in ("background", "objects"):
        probability = getattr(recipe.deformation, layer).probability
        if probability != 0.0:
            raise ValueError(
                f"deformation.{layer}.probability: a stereo recipe's layers are not deformed;"
                f" set it to 0.0, got {probability}"
            )


def _check_sequence(recipe: FlowRecipe) -> None:
    """A sequence compounds each step's motion: over all its frames a layer may move by up to
    ``P`` steps (the largest progress its rates allow, ``scene.trajectory``), which must stay
    within the frame's reach (:data:`TRANSLATION_REACH`) and the zoom limits
    (:data:`SCALE_LIMITS`) a pair's one step must."""
    frames = recipe.frames
    if frames == 2:
        return
    height, width = scaled(recipe).size
    need = height * width * (5 * frames + 31 * (frames - 1))
    if need > MAX_SEQUENCE_BYTES:
        raise ValueError(
            f"frames: {frames} frames of {height}x{width} need about {need / 2**30:.1f} GiB in"
            f" memory per sample, above the {MAX_SEQUENCE_BYTES / 2**30:g} GiB a sequence may"
            " take; use fewer frames, a smaller size or a smaller scale"
        )
    cfg = recipe.trajectory
    steps = sum(1.0 + cfg.acceleration * s + (cfg.jitter if s else 0.0) for s in range(frames - 1))
    diagonal = max(float((recipe.size[0] ** 2 + recipe.size[1] ** 2) ** 0.5), MIN_REACH)
    for name in _TRANSLATIONS:
        largest = max(abs(v) for v in _get(recipe, name))
        if largest * steps > TRANSLATION_REACH * diagonal:
            raise ValueError(
                f"frames: {frames} frames move by up to {steps:g} steps of {name} (up to"
                f" {largest:g} px), {largest * steps:g} px, beyond the frame's reach of"
                f" {TRANSLATION_REACH * diagonal:.0f} px; use fewer frames or smaller steps"
            )
    for table in ("background", "objects"):
        low, high = getattr(recipe.motion, table).scale.range
        zoom = max(high, 1.0 / low) ** steps  # in or out
        if zoom > min(SCALE_LIMITS[1], 1.0 / SCALE_LIMITS[0]):
            raise ValueError(
                f"frames: {frames} frames compound motion.{table}.scale.range"
                f" {[low, high]} over up to {steps:g} steps to a zoom of {zoom:.3g}, beyond"
                f" the allowed {list(SCALE_LIMITS)}; use fewer frames or a narrower range"
            )


def _get(config: object, name: str) -> tuple[float, float]:
    for part in name.split("."):
        config = getattr(config, part)
    return config  # type: ignore[return-value]


def scaled(recipe: FlowRecipe) -> FlowRecipe:
    """``recipe`` with its ``scale`` applied: every field marked ``pixels`` multiplied by it
    (integers rounded) and ``scale`` reset to 1. The same object for a recipe at scale 1.

    The scene sampler draws from the scaled recipe (and the renderer scales the ``render``
    table's pixel thresholds alike), so a recipe and its scaled copy give the same samples.
    """
    if recipe.scale == 1.0:
        return recipe
    return dataclasses.replace(_scaled_fields(recipe, recipe.scale), scale=1.0)


#: Largest length in pixels an elastic recipe may give (node spacing, displacement scales,
#: widths): the largest image side the readers accept (``flowsynth.io.limits.MAX_SIDE``). A
#: node spacing beyond it gives the 2 nodes per axis it gives at that side; a displacement
#: scale beyond it moves every pixel out of any image; and the float32 fields and the resampling
#: coordinates stay far from overflow.
ELASTIC_MAX_LENGTH = float(1 << 15)
#: Smallest node ``spacing`` (pixels) other than 0 (which uses ``grid``): nodes closer than
#: this sample per-pixel noise, and an axis of ``n`` pixels gets ``n / spacing`` nodes (a
#: spacing near 0 would ask for billions of them) and an ``n x n / spacing`` weight matrix.
MIN_SPACING = 4.0
#: Largest Simard ``smoothing`` sigma (pixels): the Gaussian has ``8 sigma + 1`` taps applied
#: at every pixel, so this bounds the blur's cost; a field smoothed more is nearly a shift.
MAX_SMOOTHING = 1024.0
#: Largest U-Net border weight ``w0`` (the paper's 10, times 100).
MAX_W0 = 1000.0
#: Largest absolute ``fill`` (the largest 16-bit sample) and label value (int32's largest).
MAX_FILL = 65535.0
MAX_LABEL = (1 << 31) - 1


@dataclass(frozen=True)
class ElasticRecipe:
    """Elastically deformed image/label pairs from a folder of examples (``kind: elastic``).

    Sample ``i`` deforms example ``i mod n`` (examples sorted by name) with randomness from
    ``(seed, i)`` alone. Defaults are U-Net's: a 3x3 grid of displacements with sigma 10 px,
    interpolated smoothly; 3D U-Net uses ``spacing: 32`` and ``sigma: 4``. Lengths in pixels
    are at most :data:`ELASTIC_MAX_LENGTH` (the largest image side a reader accepts).
    """

    kind: Literal["elastic"] = "elastic"
    description: str = ""
    field: Literal["grid", "smoothed"] = "grid"
    grid: int = spec(3, low=2, high=64, doc="grid nodes per axis (when spacing is 0)")
    spacing: float = spec(
        0.0,
        low=0.0,
        high=ELASTIC_MAX_LENGTH,
        doc=f"node spacing in pixels, 0 or at least {MIN_SPACING:g}; 0 uses grid",
    )
    sigma: float = spec(
        10.0, low=0.0, high=ELASTIC_MAX_LENGTH, doc="displacement std at the nodes, pixels"
    )
    alpha: float = spec(
        34.0, low=0.0, high=ELASTIC_MAX_LENGTH, doc="Simard field scale (largest shift), pixels"
    )
    smoothing: float = spec(4.0, low=0.1, high=MAX_SMOOTHING, doc="Simard Gaussian sigma, pixels")
    rotation: float = spec(0.0, low=0.0, high=180.0, doc="largest rotation, degrees")
    scale: Range = spec((1.0, 1.0), low=0.1, high=10.0)
    shear: float = spec(0.0, low=0.0, high=60.0, doc="largest shear, degrees")
    flip: bool = False
    image_interpolation: Literal["linear", "cubic"] = "linear"
    border: Literal["reflect", "constant", "replicate"] = "reflect"
    fill: float = spec(0.0, low=-MAX_FILL, high=MAX_FILL, doc="image value outside (constant)")
    ignore_label: int = spec(
        -1, low=-1, high=MAX_LABEL, doc="label for pixels from outside the input; -1: none"
    )
    weight_map: bool = False
    foreground: int = spec(
        -1, low=-1, high=MAX_LABEL, doc="binary labels: value of objects (ISBI 255); -1: ids"
    )
    w0: float = spec(10.0, low=0.0, high=MAX_W0)
    weight_sigma: float = spec(5.0, low=0.1, high=ELASTIC_MAX_LENGTH)

    def check(self) -> None:
        _check_range("scale", self.scale)
        if 0.0 < self.spacing < MIN_SPACING:
            raise ValueError(
                f"spacing: {self.spacing} is too small; give 0 (to use grid) or at least "
                f"{MIN_SPACING:g} pixels"
            )


#: A recipe of any kind, as ``flowsynth.recipe.load_recipe`` returns it.
Recipe = FlowRecipe | ElasticRecipe

#: The schema of each ``kind:``.
ROOT_SCHEMAS: dict[str, type[Recipe]] = {"flow": FlowRecipe, "elastic": ElasticRecipe}
