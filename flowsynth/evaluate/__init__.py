"""Evaluation: flow metrics (EPE, accuracies, KITTI Fl, speed bins), segmentation metrics,
stereo metrics (EPE, D1, bad pixels), padding to a model's stride, and the
``flowsynth evaluate`` harness.

Torch-free at import: :mod:`~flowsynth.evaluate.metrics`, :mod:`~flowsynth.evaluate.segmetrics`
and :mod:`~flowsynth.evaluate.stereo_metrics` are numpy only; :mod:`~flowsynth.evaluate.flow`,
:mod:`~flowsynth.evaluate.stereo`, :mod:`~flowsynth.evaluate.padding` and
:mod:`~flowsynth.evaluate.run` import torch.
"""

from __future__ import annotations

from flowsynth.base.lazy import lazy_exports

_MODULES = {
    "FlowMetrics": "metrics",
    "endpoint_error": "metrics",
    "fl_outliers": "metrics",
    "SegmentationMetrics": "segmetrics",
    "adapted_rand_error": "segmetrics",
    "pad_to_multiple": "padding",
    "unpad": "padding",
    "predict_flow": "flow",
    "load_model": "flow",
    "evaluate_flow": "flow",
    "evaluate_segmentation": "segmentation",
    "StereoMetrics": "stereo_metrics",
    "evaluate_stereo": "stereo",
    "predict_disparity": "stereo",
    "evaluate": "run",
    "markdown_table": "report",
    "write_results": "report",
}

__all__ = sorted(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)
