"""Single-ended transition-state searches: dimer, hybrid eigenvector following, verification.

* :func:`~levinthal.saddles.dimer.dimer` — Henkelman & Jónsson 1999, with Kästner & Sherwood
  2008 L-BFGS translation (gradients only);
* :func:`~levinthal.saddles.eigenvector_following.eigenvector_following` — Munro & Wales 1999
  hybrid EF (Lanczos lowest mode, uphill EF step, tangent-space L-BFGS);
  :func:`~levinthal.saddles.eigenvector_following.refine_transition_state` from a guess and
  tangent (e.g. a climbing image);
* :func:`~levinthal.saddles.verify.verify_transition_state` — the gate every reported TS passes;
* :func:`~levinthal.saddles.descent.descend_from_saddle` — the two minima a TS connects.
"""

from levinthal.saddles.descent import descend_from_saddle
from levinthal.saddles.dimer import dimer, rotate_dimer
from levinthal.saddles.eigenvector_following import eigenvector_following, refine_transition_state
from levinthal.saddles.results import SaddleSearchResult
from levinthal.saddles.verify import check_transition_state, verify_transition_state

__all__ = [
    "SaddleSearchResult",
    "check_transition_state",
    "descend_from_saddle",
    "dimer",
    "eigenvector_following",
    "refine_transition_state",
    "rotate_dimer",
    "verify_transition_state",
]
