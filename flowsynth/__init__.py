"""flowsynth: synthetic training data with exact ground truth for optical flow and segmentation.

Importing the package is cheap: no torch, no engine imports. See ``flowsynth.conventions`` for
array layouts and the flow sign.
"""

__version__ = "0.5.0"

__all__ = ["__version__"]
