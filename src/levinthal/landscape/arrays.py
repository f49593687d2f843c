"""Array-library neutrality: NumPy for physical systems, PyTorch for networks.

A landscape's points live in its *native* array type: ``numpy.ndarray`` (float64)
for NumPy systems, ``torch.Tensor`` on the model's device for network landscapes.
Tools are written against the array API standard via :func:`array_namespace`, so a
network's parameter vector never leaves its device inside an algorithm's loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_torch_array

__all__ = ["array_namespace", "as_like", "is_torch_array", "to_numpy", "vdot", "vnorm"]

Array = Any


def to_numpy(x: Array) -> np.ndarray:
    """Copy ``x`` to a host NumPy array (float64 for floating input). Use only outside hot loops."""
    if is_torch_array(x):
        return x.detach().to("cpu").double().numpy()
    return np.asarray(x, dtype=np.float64)


def as_like(values: Any, like: Array) -> Array:
    """Convert ``values`` (NumPy array, list or scalar) to ``like``'s array type, dtype and device."""
    if is_torch_array(like):
        import torch

        return torch.as_tensor(np.asarray(values), dtype=like.dtype, device=like.device)
    return np.asarray(values, dtype=like.dtype if hasattr(like, "dtype") else np.float64)


def vdot(a: Array, b: Array) -> float:
    """Euclidean inner product of two 1-D vectors of the same array type, as a Python float."""
    return float((a * b).sum())


def vnorm(a: Array) -> float:
    """Euclidean norm of a 1-D vector, as a Python float."""
    return float(((a * a).sum()) ** 0.5)
