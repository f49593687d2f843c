"""The symmetry layer: zero modes of a landscape and identity of structures up to symmetry.

* :mod:`~levinthal.symmetry.clusters` — atomic clusters: rigid-body zero modes, optimal
  alignment over translation, rotation, inversion and permutation (``align``), ``same``.
* :mod:`~levinthal.symmetry.networks` — MLPs: rescaling zero modes of ReLU units, Git Re-Basin
  weight matching over hidden-unit permutations, ``permute_mlp``.

Imports only from :mod:`levinthal.landscape`.
"""

from levinthal.symmetry.clusters import Alignment, ClusterSymmetry, align, same
from levinthal.symmetry.networks import NetworkSymmetry, WeightMatching, permute_mlp, weight_matching

__all__ = [
    "Alignment",
    "ClusterSymmetry",
    "NetworkSymmetry",
    "WeightMatching",
    "align",
    "permute_mlp",
    "same",
    "weight_matching",
]
