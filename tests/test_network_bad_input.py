"""Bad input to network landscapes gets a clear error naming the landscape (issue 5)."""

import pytest
import torch

from levinthal.landscape import LandscapeError
from levinthal.systems.networks.landscape import NetworkLandscape
from levinthal.systems.networks.models import mlp


def _bn_mlp():
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Tanh(),
                               torch.nn.Linear(3, 2)).double()


def test_batchnorm_in_train_mode_refuses_a_batch_of_one():
    x, y = torch.randn(1, 4, dtype=torch.float64), torch.tensor([1])
    with pytest.raises(LandscapeError, match="batch of one sample"):
        NetworkLandscape(_bn_mlp(), x, y, mode="train", name="bn-net")
    full = NetworkLandscape(_bn_mlp(), torch.randn(10, 4, dtype=torch.float64),
                            torch.randint(0, 2, (10,)), mode="train", name="bn-net")
    with pytest.raises(LandscapeError, match=r"bn-net.*batch of one sample"):
        full.minibatch([3])


def test_batchnorm_in_eval_mode_accepts_a_batch_of_one():
    land = NetworkLandscape(_bn_mlp(), torch.randn(1, 4, dtype=torch.float64), torch.tensor([0]))
    assert torch.isfinite(torch.tensor(land.energy(land.initial_point())))


def test_data_that_cannot_reach_the_model_device_is_named():
    with pytest.raises(LandscapeError, match=r"cannot move the data from meta to the model's device cpu"):
        NetworkLandscape(mlp([4, 3, 2]).double(), torch.randn(10, 4, device="meta"),
                         torch.zeros(10, dtype=torch.int64), name="net")


def test_data_given_as_numpy_are_moved_to_the_model_device_and_dtype():
    import numpy as np

    land = NetworkLandscape(mlp([4, 3, 2]).double(), np.random.default_rng(0).standard_normal((6, 4)),
                            np.arange(6) % 2)
    assert land.inputs.device == land.device and land.inputs.dtype == torch.float64
