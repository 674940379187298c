"""Array layouts, the flow sign and the meaning of masks: written once, pinned by tests.

Convention
----------
- Coordinates: pixel centres sit at integer positions; x runs to the right (columns), y runs
  down (rows). Pixel ``(x, y)`` covers ``[x - 0.5, x + 0.5] x [y - 0.5, y + 0.5]``; an image of
  size ``(H, W)`` covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.
- Images: ``uint8 (H, W, 3)`` RGB. Label and instance maps: integer ``(H, W)``; 0 is background.
- Flow: ``float32 (H, W, 2)`` with ``flow[..., 0] = u`` (x, to the right) and
  ``flow[..., 1] = v`` (y, down). Pixel ``(x, y)`` of frame 1 moves to ``(x + u, y + v)`` in
  frame 2. Backward flow maps frame 2 to frame 1 the same way.
- ``occlusion``: ``bool (H, W)``, True where the frame-1 pixel is *not* visible in frame 2 (hidden
  by a layer in front of it, or moved out of frame). ``occlusion_backward`` is the same from
  frame 2 to frame 1.
- ``valid``: ``bool (H, W)``, True where the ground truth is defined.
- Disparity (rectified stereo): ``float32 (H, W)``, positive, FlyingThings3D's sign: left-view
  pixel ``(x, y)`` is seen at ``(x - d_left, y)`` in the right view (:func:`right_x`), and
  right-view pixel ``(x, y)`` at ``(x + d_right, y)`` in the left view. As flow from left to
  right, ``flow = (-d_left, 0)``; backward flow is ``(+d_right, 0)``.
- Torch tensors are ``(B, C, H, W)`` and appear only in the torch layer.

``warp_backward`` is the executable form of the flow sign: frame 1 is approximately
``warp_backward(image2, flow)`` wherever the pixel is neither occluded nor out of frame.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FLOW_DTYPE = np.float32
IMAGE_DTYPE = np.uint8

#: Middlebury ``.flo`` marks unknown flow with values above this magnitude.
UNKNOWN_FLOW_THRESHOLD = 1e9


def check_image(image: npt.NDArray[np.generic], name: str = "image") -> None:
    """Raise ``ValueError`` unless ``image`` is ``uint8 (H, W, 3)``."""
    if image.dtype != IMAGE_DTYPE or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must be uint8 (H, W, 3), got {image.dtype} {image.shape}")


def check_flow(flow: npt.NDArray[np.generic], name: str = "flow") -> None:
    """Raise ``ValueError`` unless ``flow`` is ``float32 (H, W, 2)``."""
    if flow.dtype != FLOW_DTYPE or flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"{name} must be float32 (H, W, 2), got {flow.dtype} {flow.shape}")


def pixel_grid(height: int, width: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(x, y)`` coordinates of every pixel centre, each ``float32 (H, W)``."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return x, y


def warp_backward(
    image: npt.NDArray[np.generic], flow: npt.NDArray[np.float32], *, nearest: bool = False
) -> npt.NDArray[np.generic]:
    """Sample ``image`` (frame 2) at ``p + flow(p)`` for every pixel ``p`` of frame 1.

    ``(H, W[, C]), float32 (H, W, 2) -> (H, W[, C])``, bilinear (or nearest) interpolation,
    edge pixels replicated outside the image.
    """
    check_flow(flow)
    x, y = pixel_grid(*flow.shape[:2])
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    warped = cv2.remap(
        np.asarray(image),  # type: ignore[arg-type]  # OpenCV's stubs want a narrower dtype
        x + flow[..., 0],
        y + flow[..., 1],
        interpolation,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(warped, dtype=image.dtype)


def right_x(
    x_left: npt.NDArray[np.floating], disparity: npt.NDArray[np.floating]
) -> npt.NDArray[np.floating]:
    """Right-view x of left-view points at ``x_left`` with disparity ``disparity``: ``x - d``."""
    return x_left - disparity


def moved_out_of_frame(flow: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """True where ``p + flow(p)`` leaves the image area ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``."""
    check_flow(flow)
    height, width = flow.shape[:2]
    x, y = pixel_grid(height, width)
    x2 = x + flow[..., 0]
    y2 = y + flow[..., 1]
    return (x2 < -0.5) | (x2 > width - 0.5) | (y2 < -0.5) | (y2 > height - 0.5)
