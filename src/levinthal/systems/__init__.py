"""Concrete landscapes: analytic surfaces, atomic clusters, networks, ASE calculators."""

from levinthal.systems.registry import entries, make_system

__all__ = ["entries", "make_system"]
