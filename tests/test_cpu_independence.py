"""Sample i has the same bytes on every x86-64 CPU: flow samples (procedural and folder
textures), elastic pairs (2D and 3D, grid and smoothed fields, affine parts, weight maps; uint8,
uint16 and float32 images, linear and cubic) and augmented flow pairs hash alike in a process
that runs as this CPU does and in one that runs as an old CPU would.

The "old CPU" process turns off every instruction-set dispatch the libraries offer: numpy's SIMD
loops (``NPY_DISABLE_CPU_FEATURES``), OpenBLAS's kernels (``OPENBLAS_CORETYPE=Prescott``: SSE3,
no AVX, no fused multiply-add), numba's code generation (``NUMBA_CPU_NAME=generic``) and
OpenCV's dispatched code (``cv2.setUseOptimized(False)``). Together they changed the bytes of
every augmented pair and of every elastic case but the 3D Simard field with flowsynth 0.4.0;
none of them may change a byte now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import hashlib, json, sys
import cv2
import numpy as np

old_cpu = sys.argv[1] == "old"
if old_cpu:
    cv2.setUseOptimized(False)

from flowsynth.data.augment import AugmentConfig, augment_pair
from flowsynth.data.flowpair import FlowPair
from flowsynth.deform.pairs import Pair
from flowsynth.recipe.load import load_recipe
from flowsynth.render.layers import render
from flowsynth.scene.plan import scene_for_index
from flowsynth.deform.recipe import elastic_sample


def digest(arrays):
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


hashes = {}
for name, index in (("ablation/deformations", 0), ("default", 1)):
    recipe = load_recipe(name)
    sample = render(scene_for_index(recipe, 4, index), recipe.render)
    fields = sample.as_dict()
    hashes[f"flow {name}"] = digest(fields[k] for k in sorted(fields))
    pair = FlowPair(
        image1=sample.image1, image2=sample.image2, flow=sample.flow, valid=sample.valid,
        occlusion=sample.occlusion, has_occlusion=True,
    )
    for config in (AugmentConfig(), AugmentConfig(crop=(200, 300), asymmetric=1.0)):
        out = augment_pair(pair, config, seed=4, index=index)
        hashes[f"augment {name} {config.crop}"] = digest(
            [out.image1, out.image2, out.flow, out.valid, out.occlusion]
        )

rng = np.random.default_rng(0)
pictures = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((40, 60, 3), (300, 420, 3))]
recipe = load_recipe("ablation/deformations", ["textures.kinds={folder: 1}"])
sample = render(scene_for_index(recipe, 4, 2, texture_images=pictures), recipe.render)
fields = sample.as_dict()
hashes["flow folder textures"] = digest(fields[k] for k in sorted(fields))

image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
label = np.zeros((96, 128), np.uint8)
for top, left in ((5, 5), (30, 60), (60, 20), (62, 90)):  # cells with thin gaps between them
    label[top : top + 25, left : left + 30] = 255
volume = rng.integers(0, 256, (24, 40, 48), dtype=np.uint8)
labels3d = np.zeros((24, 40, 48), np.uint8)
labels3d[4:12, 5:20, 6:30] = labels3d[14:22, 22:38, 20:44] = 255
cases = [
    ("elastic/unet", [], Pair("a", image, label)),
    ("elastic/affine_elastic", ["shear=20"], Pair("a", image, label)),
    ("elastic/unet", ["field=smoothed"], Pair("a", image, label)),
    ("elastic/unet3d", ["rotation=30", "scale=[0.9,1.1]", "shear=10", "weight_map=true",
                        "foreground=255"], Pair("v", volume, labels3d)),
    ("elastic/unet3d", ["field=smoothed", "alpha=6", "smoothing=2"], Pair("v", volume, labels3d)),
]
for name, overrides, example in cases:
    recipe = load_recipe(name, overrides)
    for index in range(2):
        pair = elastic_sample(recipe, [example], 4, index)
        fields = [pair.image, pair.label, pair.flow, pair.valid]
        hashes[f"{name} {' '.join(overrides)} {index}"] = digest(
            fields + ([] if pair.weight is None else [pair.weight])
        )

# Other image dtypes and cubic interpolation go through OpenCV's float remap paths.
from flowsynth.deform.pairs import sample_elastic_pair
for dtype, scale in ((np.uint16, 60000.0), (np.float32, 1.0)):
    picture = (rng.random((96, 128, 3)) * scale).astype(dtype)
    pair = sample_elastic_pair(
        picture, label, image_interpolation="cubic", rotation=20.0, rng=np.random.default_rng(1)
    )
    hashes[f"elastic cubic {np.dtype(dtype).name}"] = digest([pair.image, pair.flow])

import numba
try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    dispatched = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
except ImportError:
    dispatched = None
hashes["setup"] = {
    "opencv optimised": cv2.useOptimized(),
    "numba cpu": numba.config.CPU_NAME,
    "numpy dispatch": dispatched,
}
print(json.dumps(hashes))
"""


def _dispatched_numpy_features() -> str:
    """The SIMD features numpy dispatches to on this CPU (to turn off), or '' if unknown."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # (numpy's private names moved: leave numpy's dispatch on)
        return ""
    return " ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f))


def _hashes(mode: str, env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_samples_have_the_same_bytes_on_an_old_cpu() -> None:
    here = _hashes("this", {})
    old_env = {
        "OPENBLAS_CORETYPE": "Prescott",
        "NUMBA_CPU_NAME": "generic",
        "NPY_DISABLE_CPU_FEATURES": _dispatched_numpy_features(),
    }
    old = _hashes("old", old_env)
    setup = old.pop("setup")
    here.pop("setup")
    assert setup["opencv optimised"] is False and setup["numba cpu"] == "generic"
    assert setup["numpy dispatch"] in ([], None)
    assert len(here) == 19
    differing = [key for key in here if here[key] != old[key]]
    assert not differing, f"these samples changed bytes on an old CPU: {differing}"
