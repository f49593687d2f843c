"""Errors raised when a landscape or its input is wrong.

Every message names the landscape, the offending value and where it came from,
so that a user can tell a broken system from a broken algorithm.
"""

from __future__ import annotations


class LandscapeError(ValueError):
    """Base class: something about a landscape, or what was passed to it, is wrong."""


class NonFiniteError(LandscapeError, FloatingPointError):
    """A landscape returned NaN or infinity (energy, gradient, HVP or Hessian)."""


class ShapeError(LandscapeError):
    """An array has the wrong shape, dtype or device for the landscape."""


class StochasticModelError(LandscapeError):
    """A network landscape would not be a deterministic function of its parameters."""


class NotSupportedError(LandscapeError, NotImplementedError):
    """The landscape does not offer an optional part of the protocol (e.g. a dense Hessian)."""
