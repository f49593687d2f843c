"""Double-ended searches for transition states: nudged elastic band and relatives.

* :mod:`~levinthal.paths.neb` — :func:`neb`: improved-tangent NEB with climbing image, doubly
  nudged option and AutoNEB-style image insertion, images relaxed together by L-BFGS or FIRE.
* :mod:`~levinthal.paths.tangents` — tangents and projected band forces.
* :mod:`~levinthal.paths.band` — interpolation, path length, image insertion.
* :mod:`~levinthal.paths.results` — :class:`NebResult`.
* :mod:`~levinthal.paths.connect` — :func:`connect`: a pathway of minima and verified transition
  states between two minima (repeated NEB between the closest unconnected pairs, as OPTIM does).
* :mod:`~levinthal.paths.bezier`, :mod:`~levinthal.paths.network_barriers` — mode-connecting
  curves and barriers along paths for network landscapes (import them from their modules;
  they are not re-exported here so that ``import levinthal.paths`` stays light).
"""

from levinthal.paths.band import insert_image, insertion_interval, linear_band, path_length
from levinthal.paths.connect import ConnectResult, connect
from levinthal.paths.neb import EndpointWarning, neb
from levinthal.paths.results import NebResult
from levinthal.paths.tangents import band_forces, improved_tangents

__all__ = [
    "ConnectResult",
    "EndpointWarning",
    "NebResult",
    "band_forces",
    "connect",
    "improved_tangents",
    "insert_image",
    "insertion_interval",
    "linear_band",
    "neb",
    "path_length",
]
