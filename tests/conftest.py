import os

# Two pytest-xdist workers share two cores: one thread each. Without this, PyTorch's and
# OpenMP's spinning thread pools oversubscribe the machine and a tiny MLP's forward pass
# slows from ~4 ms to ~100 ms.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a dependency
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
