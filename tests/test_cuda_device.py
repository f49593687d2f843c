"""Network tools on a CUDA device (skipped without one): values equal to the CPU's, results
left on the device, and no parameter vector copied to the host while an algorithm iterates."""

import numpy as np
import pytest
import torch
from torch import nn

from levinthal.curvature import hutchpp, lanczos_eigs
from levinthal.minimize import minimize
from levinthal.slices import grid_2d, random_directions
from levinthal.systems.networks.landscape import NetworkLandscape

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _landscapes():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(300, 10, generator=g, dtype=torch.float64)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    return (NetworkLandscape(model, X, y, name="cpu"),
            NetworkLandscape(model, X, y, device="cuda", name="cuda"))


@pytest.mark.parametrize("method", ["auto", "batch", "loop"])
def test_grid_on_cuda_equals_grid_on_cpu(method):
    cpu, gpu = _landscapes()
    x = cpu.initial_point()
    d = random_directions(cpu, x, 2, seed=3)
    ref = grid_2d(cpu, x, d, resolution=9, method="loop").energies
    dg = [v.to("cuda") for v in d.vectors]
    got = grid_2d(gpu, x.to("cuda"), dg, resolution=9, method=method).energies
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


class _NoHostVectors:
    """Fails if a tensor of ``dim`` or more elements leaves the device through the tensor API."""

    def __init__(self, dim):
        self.dim, self.saved = dim, {}

    def __enter__(self):
        for name in ("cpu", "numpy", "tolist", "__array__"):
            f = getattr(torch.Tensor, name)
            self.saved[name] = f

            def g(t, *a, _f=f, _name=name, **k):
                moved = t.is_cuda and t.numel() >= self.dim
                assert not moved, f"{_name} moved {t.numel()} values to the host"
                return _f(t, *a, **k)

            setattr(torch.Tensor, name, g)
        return self

    def __exit__(self, *exc):
        for name, f in self.saved.items():
            setattr(torch.Tensor, name, f)


def test_iterations_keep_parameter_vectors_on_the_device():
    cpu, gpu = _landscapes()
    x0 = gpu.initial_point()
    with _NoHostVectors(gpu.dim):
        res = minimize(gpu, x0, max_iterations=100)
        eig = lanczos_eigs(gpu, res.x, k=3, tol=1e-8, rng=0)
        tr = hutchpp(gpu, res.x, n_matvec=30, rng=0)
    assert res.x.is_cuda
    ref = minimize(cpu, x0.cpu(), max_iterations=100)
    assert abs(res.energy - ref.energy) < 1e-9
    ref_eig = lanczos_eigs(cpu, ref.x, k=3, tol=1e-8, rng=0)
    np.testing.assert_allclose(np.sort(eig.eigenvalues), np.sort(ref_eig.eigenvalues), rtol=1e-6)
    assert np.isfinite(tr.estimate)
