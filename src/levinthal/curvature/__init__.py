"""Curvature of a landscape at a point, from Hessian-vector products.

* :mod:`~levinthal.curvature.operators` — the Hessian as an operator (HVP per product),
  with exact zero modes projected out;
* :mod:`~levinthal.curvature.dense` — dense Hessian and its spectrum off the zero modes;
* :mod:`~levinthal.curvature.lanczos` — extreme eigenpairs by thick-restart Lanczos;
* :mod:`~levinthal.curvature.trace` — Hutchinson, Hutch++, XTrace / XNysTrace and adaptive
  trace estimates;
* :mod:`~levinthal.curvature.density` — spectral density by stochastic Lanczos quadrature;
* :mod:`~levinthal.curvature.classify` — minimum / saddle (index) / degenerate / not stationary;
* :mod:`~levinthal.curvature.ggn` — the generalised Gauss–Newton operator Jᵀ H_L J of a network;
* :mod:`~levinthal.curvature.sharpness` — sharpness and flatness measures (λmax, trace,
  ε-sharpness, worst/average m-sharpness, adaptive variants, PAC-Bayes σ).
"""

from levinthal.curvature.classify import Classification, classify
from levinthal.curvature.dense import complement_basis, dense_hessian, eigh_projected
from levinthal.curvature.density import SpectralDensity, spectral_density
from levinthal.curvature.ggn import GGNOperator
from levinthal.curvature.lanczos import EigenResult, lanczos_eigs, lanczos_tridiagonal
from levinthal.curvature.operators import HessianOperator, MatrixOperator, as_operator, zero_modes_of
from levinthal.curvature.sharpness import (
    SharpnessResult,
    average_sharpness,
    epsilon_sharpness,
    hessian_trace,
    lambda_max,
    pac_bayes_sigma,
    worst_case_sharpness,
)
from levinthal.curvature.trace import TraceEstimate, adaptive_trace, hutchinson, hutchpp, xnystrace, xtrace

__all__ = [
    "Classification",
    "EigenResult",
    "GGNOperator",
    "HessianOperator",
    "MatrixOperator",
    "SharpnessResult",
    "SpectralDensity",
    "TraceEstimate",
    "adaptive_trace",
    "as_operator",
    "average_sharpness",
    "classify",
    "complement_basis",
    "dense_hessian",
    "eigh_projected",
    "epsilon_sharpness",
    "hessian_trace",
    "hutchinson",
    "hutchpp",
    "lambda_max",
    "lanczos_eigs",
    "lanczos_tridiagonal",
    "pac_bayes_sigma",
    "spectral_density",
    "worst_case_sharpness",
    "xnystrace",
    "xtrace",
    "zero_modes_of",
]
