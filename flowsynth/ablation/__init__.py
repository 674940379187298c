"""The ablation experiments: which ingredients of simple synthetic data matter for flow
(``flow``), and what elastic deformation is worth for segmentation (``segmentation``)."""
