"""Local minimisation: L-BFGS, FIRE and gradient flow, one point at a time or in batches.

``minimize(landscape, x0, method="lbfgs", **options)`` is the entry point every other tool
uses; ``minimize_batch(landscape, X0, ...)`` quenches many starting points at once. All work
on NumPy and torch landscapes and report the evaluations they used.
"""

from __future__ import annotations

from typing import Any

from levinthal.landscape import MinimizeResult, checked
from levinthal.minimize.batch import minimize_batch
from levinthal.minimize.fire import fire
from levinthal.minimize.gradient_flow import GradientFlowResult, gradient_flow
from levinthal.minimize.lbfgs import lbfgs

Array = Any

__all__ = ["KNOWN_METHODS", "GradientFlowResult", "fire", "gradient_flow", "lbfgs", "minimize",
           "minimize_batch"]

_METHODS = {"lbfgs": lbfgs, "fire": fire, "gradient_flow": gradient_flow}
KNOWN_METHODS = tuple(_METHODS)


def minimize(landscape: Any, x0: Array, method: str = "lbfgs", **options: Any) -> MinimizeResult:
    """Minimise ``landscape`` from ``x0`` (shape ``(dim,)``) with ``method``.

    ``method``: ``"lbfgs"`` (default; :func:`~levinthal.minimize.lbfgs.lbfgs`), ``"fire"``
    (:func:`~levinthal.minimize.fire.fire`) or ``"gradient_flow"``
    (:func:`~levinthal.minimize.gradient_flow.gradient_flow`); ``options`` go to that function.
    The landscape is wrapped once with :func:`~levinthal.landscape.checked` (caller = method),
    and the result's ``counts`` are the evaluations this call made.

    A landscape may hand out defaults for its kind through an optional attribute
    ``minimizer_defaults = {"lbfgs": {...}, ...}`` (a network's parameter vector wants a longer
    L-BFGS memory and a larger step cap than a cluster's coordinates); explicit ``options``
    always win.
    """
    try:
        run = _METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown minimisation method {method!r}; known methods: {', '.join(KNOWN_METHODS)}"
        ) from None
    defaults = (getattr(landscape, "minimizer_defaults", None) or {}).get(method, {})
    options = {**defaults, **options}
    lc = checked(landscape, caller=method)
    start = lc.counts.copy()
    result = run(lc, x0, **options)
    if getattr(result, "counts", None) is not None and lc.counts.as_dict() != start.as_dict():
        result.counts = lc.counts - start
    return result
