"""The symmetry layer: zero modes of a landscape and identity of structures up to symmetry.

* :mod:`~levinthal.symmetry.clusters` — atomic clusters: rigid-body zero modes, optimal
  alignment over translation, rotation, inversion and permutation (``align``), ``same``.
* :mod:`~levinthal.symmetry.networks` — MLPs: rescaling zero modes of ReLU units, Git Re-Basin
  weight matching over hidden-unit permutations, ``permute_mlp``;
* :mod:`~levinthal.symmetry.rescaling` — finite ReLU layer/unit rescalings (Dinh et al. 2017);
* :mod:`~levinthal.symmetry.point_group` — the point-group order of a cluster (isomer counts in
  rates and harmonic superposition).

Imports only from :mod:`levinthal.landscape`.
"""

from levinthal.symmetry.clusters import Alignment, ClusterSymmetry, align, same
from levinthal.symmetry.networks import NetworkSymmetry, WeightMatching, permute_mlp, weight_matching
from levinthal.symmetry.point_group import point_group_order
from levinthal.symmetry.rescaling import rescale_layer, rescale_units, rescaling_diagonal

__all__ = [
    "Alignment",
    "ClusterSymmetry",
    "NetworkSymmetry",
    "WeightMatching",
    "align",
    "permute_mlp",
    "point_group_order",
    "rescale_layer",
    "rescale_units",
    "rescaling_diagonal",
    "same",
    "weight_matching",
]
