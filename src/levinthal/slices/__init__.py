"""Low-dimensional views of landscapes: directions (random filter-normalised, through
solutions, PCA of a trajectory), 1-D and 2-D grids, and their storage.

Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the loss landscape of neural nets".
"""

from levinthal.slices.directions import (
    BIASES,
    NORMALIZATIONS,
    Directions,
    filter_normalize,
    interpolation_direction,
    orthogonalize,
    parameter_blocks,
    plane_through,
    random_directions,
)
from levinthal.slices.grid import METHODS, LossGrid, evaluate_points, grid_1d, grid_2d

__all__ = [
    "BIASES",
    "METHODS",
    "NORMALIZATIONS",
    "Directions",
    "LossGrid",
    "evaluate_points",
    "filter_normalize",
    "grid_1d",
    "grid_2d",
    "interpolation_direction",
    "orthogonalize",
    "parameter_blocks",
    "plane_through",
    "random_directions",
]
