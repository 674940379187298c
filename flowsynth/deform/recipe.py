"""Elastically deformed segmentation datasets: recipe + example folder -> samples -> files.

Sample ``i`` of an ``ElasticRecipe`` deforms example ``i mod n`` of the sorted example folder,
with randomness from ``sample_rng(seed, i, Stream.ELASTIC)`` alone: a pure function of
``(recipe, examples, seed, i)``.

Files per sample (2D): ``{i:07d}-image.png``, ``-label.png`` (labels' own dtype, 8 or 16 bit),
``-flow.flo`` (output pixel ``p`` shows the source example at ``p + flow(p)``), ``-valid.png``
(255 where that position is inside the example) and ``-weight.pfm`` (U-Net weight map, when the
recipe asks for it). 3D volumes are written as ``.npy`` (flow ``(D, H, W, 3)`` ordered x, y, z).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from flowsynth.base.rng import Stream, sample_rng
from flowsynth.deform.pairs import ElasticPair, Pair, sample_elastic_pair
from flowsynth.io.flo import encode_flo
from flowsynth.io.images import encode_png
from flowsynth.io.pfm import encode_pfm
from flowsynth.recipe.schema import ElasticRecipe


def elastic_sample(
    recipe: ElasticRecipe, examples: Sequence[Pair], seed: int, index: int
) -> ElasticPair:
    """Sample ``index``: example ``index mod len(examples)``, deformed."""
    if not examples:
        raise ValueError("no examples to deform")
    pair = examples[index % len(examples)]
    return sample_elastic_pair(
        pair.image,
        pair.label,
        field=recipe.field,
        grid=None if recipe.spacing > 0 else recipe.grid,
        spacing=recipe.spacing if recipe.spacing > 0 else None,
        sigma=recipe.sigma,
        alpha=recipe.alpha,
        smoothing=recipe.smoothing,
        rotation=recipe.rotation,
        scale=recipe.scale,
        shear=recipe.shear,
        flip=recipe.flip,
        image_interpolation=recipe.image_interpolation,
        border=recipe.border,
        fill=recipe.fill,
        ignore_label=None if recipe.ignore_label < 0 else recipe.ignore_label,
        weight_map=recipe.weight_map,
        foreground=None if recipe.foreground < 0 else recipe.foreground,
        w0=recipe.w0,
        weight_sigma=recipe.weight_sigma,
        rng=sample_rng(seed, index, Stream.ELASTIC),
    )


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _label_png(label: np.ndarray) -> bytes:
    if label.min(initial=0) < 0 or label.max(initial=0) > np.iinfo(np.uint16).max:
        raise ValueError("2D label values must lie in 0..65535 to be stored as PNG")
    dtype = np.uint8 if label.max(initial=0) <= 255 and label.dtype.itemsize == 1 else np.uint16
    return encode_png(label.astype(dtype), 1)


def encode_elastic(sample: ElasticPair, compression: int = 1) -> dict[str, bytes]:
    """File suffix -> bytes for one deformed pair (see the module docstring)."""
    if sample.flow is None:
        raise ValueError("a deformed pair is written with its flow: sample it with return_flow")
    if sample.label.ndim == 3:
        files = {
            "image.npy": _npy(sample.image),
            "label.npy": _npy(sample.label),
            "flow.npy": _npy(sample.flow),
            "valid.npy": _npy(sample.valid),
        }
        if sample.weight is not None:
            files["weight.npy"] = _npy(sample.weight)
        return files
    image = sample.image
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(
            f"2D images are stored as PNG and must be uint8 or uint16, got {image.dtype}"
        )
    files = {
        "image.png": encode_png(image, compression),
        "label.png": _label_png(sample.label),
        "flow.flo": encode_flo(sample.flow),
        "valid.png": encode_png(sample.valid, compression),
    }
    if sample.weight is not None:
        files["weight.pfm"] = encode_pfm(sample.weight)
    return files
