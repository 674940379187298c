"""flowsynth: synthetic training data with exact ground truth for optical flow and segmentation.

Importing the package is cheap: no torch, no engine imports, no compilation; the names below
load their modules on first use. ``flowsynth.base.conventions`` states the array layouts and the
flow sign.

- :func:`load_recipe`: a recipe file or built-in name -> a frozen, validated config.
- :func:`render_sample`: sample ``index`` of a flow recipe -> frames and exact ground truth.
- :func:`render_sequence_sample`: sequence ``index`` of a recipe with ``frames`` > 2 -> every
  frame, the flow between neighbours and from the first frame to each, with their masks.
- :func:`render_stereo_sample`: sample ``index`` of a stereo recipe (``recipes/stereo``) -> a
  rectified left/right pair with exact disparity, occlusion and segmentation of both views.
- :func:`render_scene_flow_sample`: sample ``index`` of a scene-flow recipe
  (``stereo/sceneflow``) -> stereo at ``t`` and ``t + 1``, each view's flow and
  disparity change (FlyingThings3D's set).
- :func:`sample_elastic_pair`: one elastically deformed image/label pair (the U-Net augmentation).
- :func:`generate_dataset`: a recipe's samples written to disk (workers, clusters, resume).
- :func:`verify_dataset`: every missing, extra or corrupt file of a written dataset.
"""

from flowsynth.base.lazy import lazy_exports

__version__ = "0.7.0"

_MODULES = {
    "load_recipe": "recipe.load",
    "render_sample": "render.layers",
    "render_sequence_sample": "render.sequence",
    "render_stereo_sample": "render.stereo",
    "render_scene_flow_sample": "render.stereo",
    "sample_elastic_pair": "deform.pairs",
    "generate_dataset": "dataset.write",
    "verify_dataset": "dataset.verify",
}

__all__ = ["__version__", *sorted(_MODULES)]

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
