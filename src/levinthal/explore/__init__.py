"""Global search and dynamics on landscapes.

* :mod:`~levinthal.explore.training` — GD / SGD / Adam with loss, accuracy, λmax and trace
  tracked during training, checkpoints that resume, and the edge-of-stability check
  (Cohen et al. 2021).
"""

from levinthal.explore.training import EdgeOfStability, TrainingRecord, edge_of_stability_check, train

__all__ = ["EdgeOfStability", "TrainingRecord", "edge_of_stability_check", "train"]

# basin-hopping, BHPT, population search, step-takers, executors
from levinthal.explore.basin_hopping import BasinHoppingResult, basin_hopping
from levinthal.explore.executor import ProcessExecutor, SerialExecutor
from levinthal.explore.parallel_tempering_bh import parallel_tempering_basin_hopping
from levinthal.explore.population import PopulationResult, cut_and_splice, genetic_algorithm
from levinthal.explore.steps import AdaptiveStepSize, ClusterStep, GaussianStep, SurfaceMove

__all__ += ["AdaptiveStepSize", "BasinHoppingResult", "ClusterStep", "GaussianStep", "PopulationResult",
            "ProcessExecutor", "SerialExecutor", "SurfaceMove", "basin_hopping", "cut_and_splice",
            "genetic_algorithm", "parallel_tempering_basin_hopping"]
