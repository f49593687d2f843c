"""The case studies: each puts one part of the physics/learning analogy to a measurement.

Each study is a module here with ``NAME``, ``TITLE``, ``Config`` (``small()`` for the tests,
``full()`` for the report) and ``run(config=None, out=None) -> StudyResult``
(:mod:`levinthal.studies.base`). Studies are found by module name, so adding a module adds a
study to ``levinthal study`` and to the atlas.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from levinthal.studies.base import Measurement, StudyResult, bootstrap_interval, mean_interval

__all__ = ["Measurement", "StudyResult", "bootstrap_interval", "get_study", "mean_interval", "study_names"]

_NOT_STUDIES = {"base"}


def study_names() -> list[str]:
    """Names of every study module (sorted)."""
    import levinthal.studies as package

    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if not m.name.startswith("_") and m.name not in _NOT_STUDIES)


def get_study(name: str) -> ModuleType:
    """The study module ``name`` (``-`` and ``_`` are interchangeable)."""
    key = name.replace("-", "_")
    if key not in study_names():
        raise KeyError(f"no study {name!r}; known: {', '.join(study_names()) or 'none'}")
    module = importlib.import_module(f"levinthal.studies.{key}")
    for attr in ("NAME", "TITLE", "Config", "run"):
        if not hasattr(module, attr):
            raise TypeError(f"study module {key!r} lacks {attr}")
    return module
