"""levinthal: energy landscapes of physical systems and neural networks, with one set of tools.

A *landscape* is a function E(x) on a flat vector x (atom positions, or a network's
parameters). Every tool talks to landscapes only through the protocol in
:mod:`levinthal.landscape`.
"""

from levinthal.landscape import (
    Counted,
    Landscape,
    LandscapeError,
    MinimizeResult,
    checked,
)

__all__ = ["Counted", "Landscape", "LandscapeError", "MinimizeResult", "checked"]
__version__ = "0.1.0"
