"""Directions for low-dimensional slices of a landscape.

A slice looks at ``E(x + α d1 + β d2)``; what it shows depends entirely on the directions.

* Network landscapes: random Gaussian directions with **filter normalisation** (Li, Xu,
  Taylor, Studer & Goldstein 2018, "Visualizing the loss landscape of neural nets", §4):
  every filter of the direction — an output row of a ``Linear`` weight, an output channel of
  a ``Conv`` weight, in general the slice ``d[i, ...]`` of a parameter with two or more
  dimensions — is rescaled to the norm of the same filter of the parameters, so the slice
  is invariant to the rescaling symmetry of ReLU networks and directions are comparable
  between networks. One-dimensional parameters (biases, BatchNorm scales and shifts) are
  zeroed by default, as in the paper's figures.
* Plain landscapes (clusters, analytic surfaces): random unit vectors, optionally with the
  symmetry zero modes (translations, rotations) projected out.
* Through solutions: the line ``a → b`` (Goodfellow, Vinyals & Saxe 2015) and the plane
  through three solutions ``a, b, c`` (Garipov et al. 2018, §4).

The parameter-vector layout of a network landscape is the concatenation of
``p.reshape(-1)`` over ``landscape.model.named_parameters()``, the layout of
:class:`~levinthal.systems.networks.landscape.NetworkLandscape`. All directions are returned
in the landscape's native array type (NumPy float64 or a torch tensor on the model's device),
together with a :class:`Directions` record of how they were made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape.arrays import as_like, is_torch_array, to_numpy, vdot, vnorm
from levinthal.landscape.errors import LandscapeError, ShapeError

__all__ = [
    "BIASES",
    "NORMALIZATIONS",
    "Directions",
    "ParameterBlock",
    "filter_normalize",
    "interpolation_direction",
    "orthogonalize",
    "parameter_blocks",
    "plane_through",
    "random_directions",
]

Array = Any

NORMALIZATIONS = ("filter", "layer", "model", "unit", "none")
"""Rescalings of a random direction: per filter (Li et al. 2018), per parameter tensor
("layer"), of the whole vector to ‖x‖ ("model"), to a unit vector ("unit"), or none."""

BIASES = ("zero", "include", "filter")
"""Treatment of one-dimensional parameters (biases, normalisation-layer scales/shifts):
``"zero"`` sets them to zero in the direction (Li et al. 2018's default, ``ignore='biasbn'``);
``"include"`` keeps them, the whole vector rescaled to the parameter's norm as one filter;
``"filter"`` treats every entry as its own filter, ``|d_i| = |x_i|``."""


@dataclass(frozen=True)
class ParameterBlock:
    """One parameter tensor's slot in the flat vector: ``x[start:start + numel]``."""

    name: str
    shape: tuple[int, ...]
    start: int
    numel: int
    module: str

    @property
    def is_filtered(self) -> bool:
        """True for weights (two or more dimensions), whose rows along dim 0 are filters."""
        return len(self.shape) >= 2


@dataclass
class Directions:
    """Directions of a slice and how they were made (enough to make them again).

    ``vectors``: list of 1 or 2 vectors of shape ``(dim,)`` in the landscape's array type.
    ``kind``: "random", "interpolation", "plane" or "pca". ``normalization``, ``biases``,
    ``orthogonal`` and ``seed`` describe random directions; ``info`` holds extra numbers
    (e.g. explained variance of PCA directions, the distance ``‖b − a‖``).
    """

    vectors: list[Any]
    kind: str
    normalization: str = "none"
    biases: str = "zero"
    orthogonal: bool = False
    seed: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable description (everything but the vectors)."""
        d = asdict(self)
        d.pop("vectors")
        d["n_directions"] = len(self.vectors)
        return d


def _model_of(landscape: Any) -> Any:
    """The ``torch.nn.Module`` behind a network landscape, through wrappers (``.inner``)."""
    seen = 0
    while landscape is not None and seen < 10:
        model = getattr(landscape, "model", None)
        if model is not None:
            return model
        landscape = getattr(landscape, "inner", None)
        seen += 1
    return None


def parameter_blocks(landscape: Any) -> list[ParameterBlock] | None:
    """The layout of a network landscape's parameter vector, or None for a plain landscape.

    Raises :class:`ShapeError` if the model's parameters do not add up to ``landscape.dim``.
    """
    model = _model_of(landscape)
    if model is None:
        return None
    owner = {}
    for mname, m in model.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owner[f"{mname}.{pname}" if mname else pname] = type(m).__name__
    blocks, start = [], 0
    for name, p in model.named_parameters():
        blocks.append(ParameterBlock(name, tuple(p.shape), start, p.numel(), owner.get(name, "?")))
        start += p.numel()
    if start != landscape.dim:
        raise ShapeError(f"{landscape.name}: the model's parameters hold {start} values but dim = "
                         f"{landscape.dim}; cannot lay out a filter-normalised direction")
    return blocks


def _normal_like(rng: np.random.Generator, like: Array, dim: int) -> Array:
    return as_like(rng.standard_normal(dim), like)


def filter_normalize(d: Array, x: Array, blocks: list[ParameterBlock], normalization: str = "filter",
                     biases: str = "zero", eps: float = 1e-10) -> Array:
    """Rescale direction ``d`` (shape ``(dim,)``) block by block against the parameters ``x``.

    ``normalization="filter"``: each filter ``d_b[i, ...]`` of a weight block is scaled to
    ``‖x_b[i, ...]‖`` (Li et al. 2018, eq. 1: ``d_i ← d_i / ‖d_i‖ · ‖θ_i‖``);
    ``"layer"``: each weight tensor to ``‖x_b‖``. One-dimensional blocks follow ``biases``
    (see :data:`BIASES`). A filter of ``d`` with zero norm stays zero; ``eps`` guards the
    division exactly as in the paper's reference code. Returns a new vector.
    """
    if normalization not in ("filter", "layer"):
        raise LandscapeError(f"filter_normalize: normalization must be 'filter' or 'layer', got "
                             f"{normalization!r}")
    if biases not in BIASES:
        raise LandscapeError(f"filter_normalize: biases must be one of {BIASES}, got {biases!r}")
    out = d * 1.0
    for b in blocks:
        sl = slice(b.start, b.start + b.numel)
        db, xb = out[sl], x[sl]
        if b.is_filtered:
            rows = b.shape[0] if normalization == "filter" else 1
        elif biases == "zero":
            out[sl] = 0.0
            continue
        else:
            rows = 1 if biases == "include" else b.numel
        db2, xb2 = db.reshape(rows, -1), xb.reshape(rows, -1)
        dn = (db2 * db2).sum(axis=1, keepdims=True) ** 0.5 if not is_torch_array(db2) else \
            db2.norm(dim=1, keepdim=True)
        xn = (xb2 * xb2).sum(axis=1, keepdims=True) ** 0.5 if not is_torch_array(xb2) else \
            xb2.norm(dim=1, keepdim=True)
        out[sl] = (db2 * (xn / (dn + eps))).reshape(-1)
    return out


def orthogonalize(d1: Array, d2: Array) -> Array:
    """``d2`` minus its projection on ``d1`` (one Gram–Schmidt step), rescaled to ``‖d2‖`` so
    the filter-normalised scale is kept. Raises if ``d2`` is parallel to ``d1``."""
    n1, n2 = vnorm(d1), vnorm(d2)
    if n1 == 0.0 or n2 == 0.0:
        raise LandscapeError("orthogonalize: a direction has zero norm")
    r = d2 - (vdot(d1, d2) / (n1 * n1)) * d1
    nr = vnorm(r)
    if nr <= 1e-12 * n2:
        raise LandscapeError("orthogonalize: the two directions are parallel; nothing is left of d2")
    return r * (n2 / nr)


def _project_out(d: Array, modes: Array) -> Array:
    modes = as_like(to_numpy(modes), d)
    return d - (modes @ d) @ modes


def random_directions(landscape: Any, x: Array, n: int = 2, *, seed: int = 0,
                      normalization: str | None = None, biases: str = "zero", orthogonal: bool = False,
                      project_zero_modes: bool = True) -> Directions:
    """``n`` (1 or 2) random directions at the point ``x`` (shape ``(dim,)``).

    Parameters
    ----------
    normalization : one of :data:`NORMALIZATIONS` or None
        Default: ``"filter"`` for network landscapes (Li et al. 2018), ``"unit"`` otherwise.
        ``"model"`` scales the whole direction to ``‖x‖``; ``"none"`` keeps the raw N(0, 1)
        draw (norm about ``√dim``).
    biases : one of :data:`BIASES`
        One-dimensional parameters under "filter"/"layer" normalisation (default ``"zero"``).
    orthogonal : bool
        Gram–Schmidt the second direction against the first *after* normalisation (default
        False: in high dimension two random directions are nearly orthogonal anyway, cosine
        ~ 1/√dim; in low dimension they are not).
    project_zero_modes : bool
        For landscapes with a ``symmetry`` (clusters), remove the zero modes at ``x``
        (translations, rotations) from each direction before normalising (default True),
        so the slice does not waste an axis on a flat, trivial motion.
    seed : int
        Seeds the ``numpy.random.Generator`` that draws the directions (reproducible on
        every device: the draw is made on the host).

    Raises :class:`LandscapeError` if a direction comes out with zero norm (e.g. all its
    weight rows are zero and biases are zeroed).
    """
    if n not in (1, 2):
        raise LandscapeError(f"random_directions: n must be 1 or 2, got {n}")
    blocks = parameter_blocks(landscape)
    if normalization is None:
        normalization = "filter" if blocks is not None else "unit"
    if normalization not in NORMALIZATIONS:
        raise LandscapeError(f"random_directions: normalization must be one of {NORMALIZATIONS}, "
                             f"got {normalization!r}")
    if normalization in ("filter", "layer") and blocks is None:
        raise LandscapeError(f"{landscape.name}: {normalization} normalisation needs a network landscape "
                             "(a .model with parameters); use 'unit' or 'model'")
    if biases not in BIASES:
        raise LandscapeError(f"random_directions: biases must be one of {BIASES}, got {biases!r}")
    if tuple(x.shape) != (landscape.dim,):
        raise ShapeError(f"{landscape.name}: point has shape {tuple(x.shape)}, expected ({landscape.dim},)")
    rng = np.random.default_rng(seed)
    modes = None
    sym = getattr(landscape, "symmetry", None)
    if project_zero_modes and blocks is None and sym is not None and hasattr(sym, "zero_modes"):
        modes = sym.zero_modes(x)
    vectors = []
    for _ in range(n):
        d = _normal_like(rng, x, landscape.dim)
        if modes is not None and len(modes):
            d = _project_out(d, modes)
        if normalization in ("filter", "layer"):
            d = filter_normalize(d, x, blocks, normalization, biases)
        elif normalization == "model":
            d = d * (vnorm(x) / vnorm(d))
        elif normalization == "unit":
            d = d / vnorm(d)
        if vnorm(d) == 0.0:
            raise LandscapeError(f"{landscape.name}: the random direction has zero norm after "
                                 f"{normalization} normalisation (all filters of the point are zero?)")
        vectors.append(d)
    if orthogonal and n == 2:
        vectors[1] = orthogonalize(vectors[0], vectors[1])
    return Directions(vectors, "random", normalization, biases, bool(orthogonal and n == 2), int(seed),
                      {"cosine": vdot(vectors[0], vectors[1]) / (vnorm(vectors[0]) * vnorm(vectors[1]))
                       if n == 2 else None})


def interpolation_direction(a: Array, b: Array) -> Directions:
    """The line from solution ``a`` to solution ``b``: one direction ``b − a``, so α = 0 is
    ``a`` and α = 1 is ``b`` (Goodfellow, Vinyals & Saxe 2015). Grid it with centre ``a``."""
    if tuple(a.shape) != tuple(b.shape):
        raise ShapeError(f"interpolation_direction: shapes differ: a {tuple(a.shape)}, b {tuple(b.shape)}")
    d = b - a
    dist = vnorm(d)
    if dist == 0.0:
        raise LandscapeError("interpolation_direction: a and b are the same point (zero-norm direction)")
    return Directions([d], "interpolation", info={"distance": dist})


def plane_through(a: Array, b: Array, c: Array) -> Directions:
    """The plane through three solutions, with centre ``a`` (Garipov et al. 2018, §4).

    ``u = b − a``; ``v`` = the part of ``c − a`` orthogonal to ``u``. Both are returned at
    their own lengths, so ``a + 1·u = b`` and ``c = a + (⟨c−a, u⟩/‖u‖²) u + 1·v``; the plane
    coordinates of the three points are in ``info["coordinates"]`` (a (3, 2) list).
    Raises if the three points are collinear.
    """
    for name, p in (("b", b), ("c", c)):
        if tuple(p.shape) != tuple(a.shape):
            raise ShapeError(f"plane_through: {name} has shape {tuple(p.shape)}, a has {tuple(a.shape)}")
    u = b - a
    nu = vnorm(u)
    if nu == 0.0:
        raise LandscapeError("plane_through: a and b are the same point (zero-norm direction)")
    w = c - a
    t = vdot(w, u) / (nu * nu)
    v = w - t * u
    nv = vnorm(v)
    if nv <= 1e-12 * max(vnorm(w), nu):
        raise LandscapeError("plane_through: a, b and c are collinear; they span no plane")
    return Directions([u, v], "plane", orthogonal=True,
                      info={"coordinates": [[0.0, 0.0], [1.0, 0.0], [t, 1.0]], "norms": [nu, nv]})
