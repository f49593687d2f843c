"""Named systems, so the CLI and the atlas can build any landscape from a string.

Names: ``muller-brown``, ``double-well``, ``tilted-double-well[:tilt]``, ``lj<N>``,
``morse<N>[:rho]``, ``mlp-digits``, ``cnn-digits``, ``mlp-mnist``. Each entry has a short
description shown by ``levinthal systems``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from levinthal.landscape import LandscapeError


@dataclass(frozen=True)
class SystemEntry:
    pattern: str
    example: str
    description: str
    factory: Callable[..., Any]


_REGISTRY: list[SystemEntry] = []


def register(pattern: str, example: str, description: str):
    """Decorator: register ``factory(match, seed=...)`` for names matching ``pattern``."""

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY.append(SystemEntry(pattern, example, description, factory))
        return factory

    return deco


def entries() -> list[SystemEntry]:
    _load_builtin()
    return list(_REGISTRY)


def make_system(name: str, seed: int = 0, **options: Any) -> Any:
    """Build the landscape called ``name`` (see module docstring). ``seed`` fixes any
    randomness in its construction (network initialisation, data subsets)."""
    _load_builtin()
    for entry in _REGISTRY:
        m = re.fullmatch(entry.pattern, name.strip().lower())
        if m:
            return entry.factory(m, seed=seed, **options)
    known = ", ".join(e.example for e in _REGISTRY)
    raise LandscapeError(f"unknown system {name!r}; known systems: {known}")


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from levinthal.systems import builtin  # noqa: F401  (registers on import)
