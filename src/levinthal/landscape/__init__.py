"""The landscape layer: protocol, evaluation counting, input checks and result types.

See :mod:`levinthal.landscape.protocol` for the protocol itself.
"""

from levinthal.landscape.arrays import array_namespace, as_like, to_numpy, vdot, vnorm
from levinthal.landscape.checks import Checked, check_point, checked
from levinthal.landscape.counting import Counted, EvaluationCounts, counted
from levinthal.landscape.errors import (
    LandscapeError,
    NonFiniteError,
    NotSupportedError,
    ShapeError,
    StochasticModelError,
)
from levinthal.landscape.protocol import (
    Landscape,
    ZeroModes,
    native_point,
    supports,
    symmetry_of,
    unwrap,
)
from levinthal.landscape.results import (
    BatchMinimizeResult,
    MinimizeResult,
    Minimum,
    Result,
    TransitionState,
)

__all__ = [
    "BatchMinimizeResult",
    "Checked",
    "Counted",
    "EvaluationCounts",
    "Landscape",
    "LandscapeError",
    "MinimizeResult",
    "Minimum",
    "NonFiniteError",
    "NotSupportedError",
    "Result",
    "ShapeError",
    "StochasticModelError",
    "TransitionState",
    "ZeroModes",
    "array_namespace",
    "as_like",
    "check_point",
    "checked",
    "counted",
    "native_point",
    "supports",
    "symmetry_of",
    "to_numpy",
    "unwrap",
    "vdot",
    "vnorm",
]
