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
from levinthal.explore.symmetrisation import OrbitCompletion, SymmetrisingStep

__all__ += ["AdaptiveStepSize", "BasinHoppingResult", "ClusterStep", "GaussianStep", "OrbitCompletion",
            "PopulationResult", "ProcessExecutor", "SerialExecutor", "SurfaceMove", "SymmetrisingStep",
            "basin_hopping", "cut_and_splice", "genetic_algorithm", "parallel_tempering_basin_hopping"]

# annealing, replica exchange, Langevin dynamics, SGD as a thermostat
from levinthal.explore.annealing import AnnealingResult, Schedule, anneal, make_schedule  # noqa: E402
from levinthal.explore.langevin import LangevinResult, configurational_temperature, langevin  # noqa: E402
from levinthal.explore.replica_exchange import (  # noqa: E402
    ReplicaExchangeResult,
    exchange_probability,
    geometric_ladder,
    replica_exchange,
)
from levinthal.explore.sgd_thermostat import (  # noqa: E402
    GradientNoise,
    SGDThermostatResult,
    compare_sgd_langevin,
    gradient_noise,
    sgd_stationary_variance,
    sgd_thermostat,
)

__all__ += ["AnnealingResult", "GradientNoise", "LangevinResult", "ReplicaExchangeResult",
            "SGDThermostatResult", "Schedule", "anneal", "compare_sgd_langevin",
            "configurational_temperature", "exchange_probability", "geometric_ladder", "gradient_noise",
            "langevin", "make_schedule", "replica_exchange", "sgd_stationary_variance", "sgd_thermostat"]
