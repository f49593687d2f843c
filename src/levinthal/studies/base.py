"""What every case study returns: measured numbers with uncertainties, figures, verdicts.

A study (one module in :mod:`levinthal.studies`) puts one claim of the physics/learning analogy
to a measurement. It exposes ``NAME``, ``TITLE``, a ``Config`` dataclass with ``small()`` (the
configuration the test suite runs in seconds) and ``full()`` (the one for the report), and
``run(config=None, out=None) -> StudyResult``. The result says what was measured, also when it
contradicts the claim under test: every verdict is decided by a number in ``numbers``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Measurement", "StudyResult", "bootstrap_interval", "mean_interval"]

VERDICTS = ("holds", "breaks", "note")


@dataclass
class Measurement:
    """A measured value with its uncertainty.

    ``low``/``high``: a confidence interval (``level``, default 0.95) when known; ``stderr``: a
    standard error when that is what was estimated; ``reference``: an independent value the
    measurement is compared with (analytic formula, dense computation, literature), if any.
    """

    value: float
    low: float | None = None
    high: float | None = None
    stderr: float | None = None
    level: float = 0.95
    unit: str = ""
    reference: float | None = None
    note: str = ""

    def text(self, digits: int = 4) -> str:
        """``value [low, high] unit`` or ``value ± stderr unit``."""
        v = f"{self.value:.{digits}g}"
        if self.low is not None and self.high is not None:
            v += f" [{self.low:.{digits}g}, {self.high:.{digits}g}]"
        elif self.stderr is not None:
            v += f" ± {self.stderr:.{digits}g}"
        if self.unit:
            v += f" {self.unit}"
        if self.reference is not None:
            v += f" (reference {self.reference:.{digits}g})"
        return v


@dataclass
class StudyResult:
    """One study's outcome.

    ``numbers``: name → :class:`Measurement`; ``tables``: name → (header, rows) for the report;
    ``figures``: PNG paths with captions; ``verdicts``: ``(kind, sentence)`` with kind in
    ``"holds"``/``"breaks"``/``"note"``, each sentence quoting the number that decides it;
    ``reading``: two sentences on what the numbers say about the analogy; ``data``: arrays and
    anything else a figure needs (kept out of the JSON summary when large).
    """

    name: str
    title: str
    config: dict[str, Any]
    numbers: dict[str, Measurement] = field(default_factory=dict)
    tables: dict[str, tuple[list[str], list[list[Any]]]] = field(default_factory=dict)
    figures: list[tuple[Path, str]] = field(default_factory=list)
    verdicts: list[tuple[str, str]] = field(default_factory=list)
    reading: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if is_dataclass(self.config):
            self.config = asdict(self.config)

    def add_verdict(self, kind: str, sentence: str) -> None:
        if kind not in VERDICTS:
            raise ValueError(f"StudyResult.add_verdict: kind must be one of {VERDICTS}, got {kind!r}")
        self.verdicts.append((kind, sentence))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no raw data arrays)."""
        return {
            "name": self.name, "title": self.title, "config": self.config,
            "numbers": {k: asdict(m) for k, m in self.numbers.items()},
            "tables": {k: {"header": h, "rows": r} for k, (h, r) in self.tables.items()},
            "figures": [[str(p), c] for p, c in self.figures], "verdicts": [list(v) for v in self.verdicts],
            "reading": self.reading, "seconds": self.seconds,
        }


def mean_interval(samples: Any, level: float = 0.95) -> Measurement:
    """Mean of ``samples`` with a Student-t confidence interval (needs ≥ 2 finite samples)."""
    from scipy import stats

    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        v = float(x[0]) if x.size else math.nan
        return Measurement(v, note=f"{x.size} finite sample(s): no interval")
    m, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))
    h = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * se
    return Measurement(m, m - h, m + h, stderr=se, level=level, note=f"n = {x.size}")


def bootstrap_interval(samples: Any, statistic: Any = np.mean, *, n_resamples: int = 2000,
                       level: float = 0.95, rng: np.random.Generator | int | None = 0) -> Measurement:
    """``statistic(samples)`` with a percentile bootstrap interval (Efron 1979)."""
    rng = np.random.default_rng(rng)
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        v = float(statistic(x)) if x.size else math.nan
        return Measurement(v, note=f"{x.size} finite sample(s): no interval")
    boots = np.array([statistic(x[rng.integers(0, x.size, x.size)]) for _ in range(n_resamples)])
    lo, hi = np.quantile(boots, [0.5 - level / 2, 0.5 + level / 2])
    return Measurement(float(statistic(x)), float(lo), float(hi), stderr=float(boots.std(ddof=1)),
                       level=level, note=f"n = {x.size}, {n_resamples} bootstrap resamples")
