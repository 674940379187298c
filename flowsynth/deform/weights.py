"""U-Net loss weight maps: class balance plus a bonus on the thin gaps between touching objects.

Ronneberger, Fischer and Brox (2015), eq. 2::

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))

with ``d1``, ``d2`` the distances from pixel ``x`` to the nearest and the second-nearest object.
The border term is added on background pixels only, as in the paper (on an object ``d1 = 0``
and the term would reward the object's own rim instead of the gap). Works in 2D and 3D.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.ndimage

from flowsynth.deform import kernels

#: The border term is dropped where it is below ``w0 * BORDER_CUTOFF`` (pure float32 noise next
#: to a class weight of order 1), which lets each object's distance map be computed on its
#: bounding box grown by the cut-off distance instead of on the whole image.
BORDER_CUTOFF = 1e-9


def instances_from_binary(
    label: npt.NDArray[np.integer], *, foreground: int = 255, connectivity: int = 1
) -> npt.NDArray[np.int32]:
    """Number the connected components of ``label == foreground``; everything else is 0.

    ``(H, W) or (D, H, W) int -> int32, same shape``. For ISBI 2012 EM labels (0 = membrane,
    255 = cell) this gives one instance per cell. ``connectivity`` 1 joins face neighbours only
    (4-connected in 2D), so cells touching across a one-pixel diagonal membrane stay apart;
    ``label.ndim`` joins all neighbours (8-connected in 2D).
    """
    if label.dtype.kind not in "iub":
        raise ValueError(f"label must have an integer or bool dtype, got {label.dtype}")
    if not 1 <= connectivity <= label.ndim:
        raise ValueError(f"connectivity must be in 1..{label.ndim}, got {connectivity}")
    structure = scipy.ndimage.generate_binary_structure(label.ndim, connectivity)
    instances, _ = scipy.ndimage.label(label == foreground, structure=structure, output=np.int32)
    return instances


def class_balance(
    instances: npt.NDArray[np.integer], class_weights: tuple[float, float] | None = None
) -> npt.NDArray[np.float32]:
    """Per-pixel class weight ``w_c``: background (``instances == 0``) versus foreground.

    Default ("balanced", as scikit-learn's ``compute_class_weight``): each class gets
    ``N / (2 * n_class)``, so each class carries half of the total weight and the mean weight
    over the image is 1. A class that is absent leaves the other one at weight 1.
    ``class_weights = (background, foreground)`` sets them directly.

    Returns
    -------
    float32, same shape as ``instances``
    """
    foreground = instances != 0
    if class_weights is None:
        total = foreground.size
        n_foreground = int(np.count_nonzero(foreground))
        n_background = total - n_foreground
        if n_foreground == 0 or n_background == 0:
            background_weight = foreground_weight = 1.0
        else:
            background_weight = total / (2.0 * n_background)
            foreground_weight = total / (2.0 * n_foreground)
    else:
        background_weight, foreground_weight = (float(w) for w in class_weights)
    return np.where(foreground, np.float32(foreground_weight), np.float32(background_weight))


def nearest_two_distances(
    instances: npt.NDArray[np.integer], *, max_distance: float = math.inf
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Distances ``d1 <= d2`` from every pixel to its nearest and second-nearest object.

    One Euclidean distance transform per object (``scipy.ndimage.distance_transform_edt``),
    each on the object's bounding box grown by ``max_distance``: exact wherever the distance is
    at most ``max_distance``, ``inf`` beyond (and where fewer than two objects exist).

    Returns
    -------
    (float64, float64), each shaped like ``instances``
    """
    d1 = np.full(instances.shape, np.inf)
    d2 = np.full(instances.shape, np.inf)
    margin = int(math.ceil(max_distance)) + 1 if math.isfinite(max_distance) else None
    for number, box in enumerate(scipy.ndimage.find_objects(instances), start=1):
        if box is None:
            continue
        if margin is None:
            box = tuple(slice(0, n) for n in instances.shape)
        else:
            box = tuple(
                slice(max(0, s.start - margin), min(n, s.stop + margin))
                for s, n in zip(box, instances.shape, strict=True)
            )
        distance = scipy.ndimage.distance_transform_edt(instances[box] != number)
        near, second = d1[box], d2[box]
        np.minimum(second, np.maximum(near, distance), out=second)
        np.minimum(near, distance, out=near)
    return d1, d2


def unet_weight_map(
    instances: npt.NDArray[np.integer],
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weights: tuple[float, float] | None = None,
) -> npt.NDArray[np.float32]:
    """U-Net weight map ``w = w_c + w0 * exp(-(d1 + d2)^2 / (2 sigma^2))`` on background.

    Parameters
    ----------
    instances : int (H, W) or (D, H, W); 0 is background, each positive value one object
        (e.g. from ``instances_from_binary``).
    w0, sigma : strength and width in pixels of the border term (paper: 10 and about 5).
    class_weights : ``(background, foreground)``; default balanced, see ``class_balance``.

    Returns
    -------
    float32, same shape as ``instances``
    """
    if instances.dtype.kind not in "iu":
        raise ValueError(f"instances must have an integer dtype, got {instances.dtype}")
    if w0 < 0 or not sigma > 0:
        raise ValueError(f"need w0 >= 0 and sigma > 0, got {w0} and {sigma}")
    weights = class_balance(instances, class_weights)
    if w0 == 0:
        return weights
    # w0 * exp(-r^2 / (2 sigma^2)) < w0 * BORDER_CUTOFF beyond r; d2 <= d1 + d2 bounds the reach.
    reach = sigma * math.sqrt(2.0 * math.log(1.0 / BORDER_CUTOFF))
    d1, d2 = nearest_two_distances(instances, max_distance=reach)
    background = instances == 0
    total = (d1 + d2)[background]
    term = np.empty_like(total)
    # kernels.exp, not numpy's SIMD exp, which rounds differently on other CPUs.
    kernels.exp_all(-(total**2) / (2.0 * sigma**2), term)
    weights[background] += (w0 * term).astype(np.float32)
    return weights
