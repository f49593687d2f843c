"""Global search and dynamics on landscapes.

* :mod:`~levinthal.explore.training` — GD / SGD / Adam with loss, accuracy, λmax and trace
  tracked during training, checkpoints that resume, and the edge-of-stability check
  (Cohen et al. 2021).
"""

from levinthal.explore.training import EdgeOfStability, TrainingRecord, edge_of_stability_check, train

__all__ = ["EdgeOfStability", "TrainingRecord", "edge_of_stability_check", "train"]
