"""Curvature of a landscape at a point, from Hessian-vector products.

* :mod:`~levinthal.curvature.operators` — the Hessian as an operator (HVP per product),
  with exact zero modes projected out;
* :mod:`~levinthal.curvature.dense` — dense Hessian and its spectrum off the zero modes;
* :mod:`~levinthal.curvature.lanczos` — extreme eigenpairs by thick-restart Lanczos;
* :mod:`~levinthal.curvature.trace` — Hutchinson and Hutch++ trace estimates;
* :mod:`~levinthal.curvature.density` — spectral density by stochastic Lanczos quadrature;
* :mod:`~levinthal.curvature.classify` — minimum / saddle (index) / degenerate / not stationary.
"""

from levinthal.curvature.classify import Classification, classify
from levinthal.curvature.dense import complement_basis, dense_hessian, eigh_projected
from levinthal.curvature.density import SpectralDensity, spectral_density
from levinthal.curvature.lanczos import EigenResult, lanczos_eigs, lanczos_tridiagonal
from levinthal.curvature.operators import HessianOperator, MatrixOperator, as_operator, zero_modes_of
from levinthal.curvature.trace import TraceEstimate, hutchinson, hutchpp

__all__ = [
    "Classification",
    "EigenResult",
    "HessianOperator",
    "MatrixOperator",
    "SpectralDensity",
    "TraceEstimate",
    "as_operator",
    "classify",
    "complement_basis",
    "dense_hessian",
    "eigh_projected",
    "hutchinson",
    "hutchpp",
    "lanczos_eigs",
    "lanczos_tridiagonal",
    "spectral_density",
    "zero_modes_of",
]
