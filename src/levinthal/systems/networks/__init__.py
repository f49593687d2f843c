"""Network loss landscapes: a ``torch.nn.Module``, a data set and a loss, as one landscape.

* :mod:`~levinthal.systems.networks.landscape` — :class:`NetworkLandscape`, the protocol
  over a model's parameter vector (``torch.func``: gradients, forward-over-reverse HVPs,
  ``vmap``-batched energies), with the stochasticity checks.
* :mod:`~levinthal.systems.networks.models` — reference MLPs and a small CNN.
* :mod:`~levinthal.systems.networks.data` — digits, MNIST-5k and synthetic data, offline.
* :mod:`~levinthal.systems.networks.presets` — ``mlp_digits``, ``cnn_digits``, ``mlp_mnist``.
"""

from levinthal.systems.networks.data import Dataset, digits, mnist5k, synthetic
from levinthal.systems.networks.landscape import NetworkLandscape
from levinthal.systems.networks.models import mlp, reset_parameters, small_cnn
from levinthal.systems.networks.presets import cnn_digits, mlp_digits, mlp_mnist

__all__ = [
    "Dataset",
    "NetworkLandscape",
    "cnn_digits",
    "digits",
    "mlp",
    "mlp_digits",
    "mlp_mnist",
    "mnist5k",
    "reset_parameters",
    "small_cnn",
    "synthetic",
]
