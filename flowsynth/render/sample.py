"""The rendered sample: two frames and their exact ground truth, as named arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from flowsynth.render import kernels


@dataclass(frozen=True, eq=False)
class Sample:
    """One rendered flow pair. Shapes for frames of height ``H`` and width ``W``.

    Attributes
    ----------
    image1, image2 : uint8 (H, W, 3)
        The frames, RGB, anti-aliased.
    flow : float32 (H, W, 2)
        Frame 1 -> frame 2: pixel ``(x, y)`` moves to ``(x + u, y + v)``.
    flow_backward : float32 (H, W, 2)
        Frame 2 -> frame 1, same convention.
    occlusion, occlusion_backward : bool (H, W)
        True where the pixel is not visible in the other frame (covered or out of frame).
    valid, valid_backward : bool (H, W)
        True where the flow is defined (everywhere for rendered scenes).
    segmentation1, segmentation2 : uint16 (H, W)
        Layer owning each pixel centre: 0 background, 1.. objects back to front.
    motion_boundary, motion_boundary_backward : bool (H, W)
        True where the flow jumps by more than the recipe's threshold to a 4-neighbour.
    """

    image1: npt.NDArray[np.uint8]
    image2: npt.NDArray[np.uint8]
    flow: npt.NDArray[np.float32]
    flow_backward: npt.NDArray[np.float32]
    occlusion: npt.NDArray[np.bool_]
    occlusion_backward: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.bool_]
    valid_backward: npt.NDArray[np.bool_]
    segmentation1: npt.NDArray[np.uint16]
    segmentation2: npt.NDArray[np.uint16]
    motion_boundary: npt.NDArray[np.bool_]
    motion_boundary_backward: npt.NDArray[np.bool_]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def motion_boundaries(flow: npt.NDArray[np.float32], threshold: float) -> npt.NDArray[np.bool_]:
    """``bool (H, W)``: pixels whose flow differs from a 4-neighbour's by > ``threshold``."""
    limit = np.float32(threshold) ** 2
    boundary: npt.NDArray[np.bool_] = kernels.motion_boundaries(flow, limit)
    return boundary
