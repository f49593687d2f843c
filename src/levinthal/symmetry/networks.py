"""Symmetry of multilayer perceptrons: rescaling zero modes and permutation weight matching.

Applies to MLPs laid out as ``nn.Sequential(Linear, act, Linear, act, ..., Linear)`` (an
optional leading ``nn.Flatten`` is allowed), with elementwise activations. The parameter
vector is the concatenation of ``p.reshape(-1)`` over ``model.parameters()``, as
:func:`torch.nn.utils.parameters_to_vector`.

Two symmetries leave the network *function* unchanged:

* Permuting the hidden units of a layer (rows of ``W_l``, ``b_l``; columns of ``W_{l+1}``) is a
  *discrete* symmetry: it has no tangent vectors, so it contributes no zero modes. It is
  handled by :func:`weight_matching` (Ainsworth, Hayase & Srinivasa, "Git Re-Basin", 2022),
  which finds the permutation bringing one network closest to another.
* For positively homogeneous activations (ReLU, LeakyReLU: ``σ(αz) = ασ(z)`` for ``α > 0``),
  scaling the incoming weights and bias of a hidden unit by ``α`` and its outgoing weights by
  ``1/α`` is a *continuous* symmetry (Dinh, Pascanu, Bengio & Bengio, "Sharp minima can
  generalize for deep nets", ICML 2017). Each hidden unit gives one exact zero mode of the
  loss Hessian: :meth:`NetworkSymmetry.zero_modes`.

A loss with weight decay (L2 regularisation) is *not* invariant under rescaling; the modes are
then only zero modes of the data term.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from levinthal.symmetry.zero_modes import DEFAULT_RTOL, orthonormal_rows_torch

__all__ = [
    "MLPLayout",
    "NetworkSymmetry",
    "WeightMatching",
    "mlp_layout",
    "permute_mlp",
    "permute_parameters",
    "weight_matching",
]

_HOMOGENEOUS = ("ReLU", "LeakyReLU")
_ELEMENTWISE = (*_HOMOGENEOUS, "Tanh", "Sigmoid", "GELU", "SiLU", "ELU", "Softplus", "Hardtanh",
                "Identity", "Mish", "CELU", "SELU", "Softsign", "Tanhshrink", "LogSigmoid")


@dataclass(frozen=True)
class MLPLayout:
    """Where each ``Linear`` layer of an MLP lives in the flat parameter vector.

    Attributes
    ----------
    shapes : list of ``(out_features, in_features)``, one per Linear layer.
    weight_offsets : list of int
        Start of each layer's weight (row-major ``(out, in)``) in the parameter vector.
    bias_offsets : list of int or None
        Start of each layer's bias, ``None`` for a layer without bias.
    homogeneous : list of bool, one per hidden layer
        Whether the activation after Linear ``l`` is positively homogeneous (ReLU, LeakyReLU).
    dim : int
        Length of the parameter vector.
    """

    shapes: list[tuple[int, int]]
    weight_offsets: list[int]
    bias_offsets: list[int | None]
    homogeneous: list[bool]
    dim: int

    @property
    def hidden_sizes(self) -> list[int]:
        """Number of units of each hidden layer (outputs of all Linear layers but the last)."""
        return [out for out, _ in self.shapes[:-1]]

    def weight(self, theta: Any, l: int) -> Any:
        """View of layer ``l``'s weight in ``theta``, shape ``(out, in)``."""
        out, inp = self.shapes[l]
        o = self.weight_offsets[l]
        return theta[o : o + out * inp].reshape(out, inp)

    def bias(self, theta: Any, l: int) -> Any | None:
        """View of layer ``l``'s bias in ``theta``, shape ``(out,)``, or ``None``."""
        o = self.bias_offsets[l]
        return None if o is None else theta[o : o + self.shapes[l][0]]


def mlp_layout(model: Any) -> MLPLayout:
    """Parse ``model`` as ``Sequential([Flatten,] Linear, act, Linear, ..., act, Linear)``.

    Raises ``ValueError`` saying what does not fit (a non-Sequential model, a non-elementwise
    layer, two Linear layers in a row, parameters outside the Linear layers, ...).
    """
    from torch import nn

    if not isinstance(model, nn.Sequential):
        raise ValueError(f"not an nn.Sequential MLP: got {type(model).__name__}")
    layers = list(model)
    if layers and isinstance(layers[0], nn.Flatten):
        layers = layers[1:]
    linears: list[Any] = []
    homogeneous: list[bool] = []
    expect_linear = True
    for layer in layers:
        kind = type(layer).__name__
        if expect_linear:
            if not isinstance(layer, nn.Linear):
                raise ValueError(f"expected nn.Linear at position {len(linears) * 2}, got {kind}")
            linears.append(layer)
            expect_linear = False
        else:
            if kind not in _ELEMENTWISE:
                raise ValueError(f"layer {kind} is not a known elementwise activation {_ELEMENTWISE}")
            homogeneous.append(kind in _HOMOGENEOUS)
            expect_linear = True
    if not linears or expect_linear:
        raise ValueError("an MLP must start and end with nn.Linear")
    offsets: dict[int, int] = {}
    dim = 0
    for p in model.parameters():
        offsets[id(p)] = dim
        dim += p.numel()
    owned = sum(lin.weight.numel() + (0 if lin.bias is None else lin.bias.numel()) for lin in linears)
    if owned != dim:
        raise ValueError("model has parameters outside its Linear layers (or shared between them)")
    return MLPLayout(
        shapes=[(lin.out_features, lin.in_features) for lin in linears],
        weight_offsets=[offsets[id(lin.weight)] for lin in linears],
        bias_offsets=[None if lin.bias is None else offsets[id(lin.bias)] for lin in linears],
        homogeneous=homogeneous,
        dim=dim,
    )


def _flat(model: Any) -> Any:
    from torch.nn.utils import parameters_to_vector

    return parameters_to_vector(model.parameters()).detach()


def _model_and_vector(obj: Any, template: Any, what: str) -> tuple[Any, Any]:
    """``(template model, flat parameter tensor)`` from a model or a vector + template."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return obj, _flat(obj)
    if isinstance(obj, torch.Tensor):
        if template is None:
            raise ValueError(f"{what} is a parameter vector: pass template=<model with the same layout>")
        if obj.ndim != 1:
            raise ValueError(f"{what} must be a flat parameter vector, got shape {tuple(obj.shape)}")
        return template, obj.detach()
    raise TypeError(f"{what} must be a torch.nn.Module or a 1-D torch.Tensor, got {type(obj).__name__}")


def _check_permutations(layout: MLPLayout, permutations: Any) -> list[np.ndarray]:
    sizes = layout.hidden_sizes
    perms = [np.asarray(p, dtype=np.int64) for p in permutations]
    if len(perms) != len(sizes):
        raise ValueError(f"need one permutation per hidden layer ({len(sizes)}), got {len(perms)}")
    for l, (p, h) in enumerate(zip(perms, sizes, strict=True)):
        if p.shape != (h,) or not np.array_equal(np.sort(p), np.arange(h)):
            raise ValueError(f"permutation {l} is not a permutation of range({h}): {p}")
    return perms


def permute_parameters(theta: Any, permutations: Any, template: Any) -> Any:
    """Parameter vector of the network with hidden units permuted; same function as ``theta``.

    Unit ``i`` of hidden layer ``l`` in the result is unit ``permutations[l][i]`` of the input:
    ``W_l ← P_l W_l P_{l-1}ᵀ``, ``b_l ← P_l b_l`` (``P_{-1}`` and ``P_L`` are identities).

    Parameters
    ----------
    theta : torch.Tensor, shape ``(dim,)``
    permutations : sequence of int arrays, one per hidden layer, shape ``(h_l,)``
    template : nn.Module with the MLP layout of ``theta``
    """
    import torch

    layout = mlp_layout(template)
    perms = _check_permutations(layout, permutations)
    idx = [torch.as_tensor(p, device=theta.device) for p in perms]
    out = theta.clone()
    n_layers = len(layout.shapes)
    for l in range(n_layers):
        w = layout.weight(theta, l)
        if l < n_layers - 1:
            w = w[idx[l]]
        if l > 0:
            w = w[:, idx[l - 1]]
        layout.weight(out, l).copy_(w)
        b = layout.bias(theta, l)
        if b is not None and l < n_layers - 1:
            layout.bias(out, l).copy_(b[idx[l]])
    return out


def permute_mlp(model: Any, permutations: Any, *, template: Any = None) -> Any:
    """A permuted copy of an MLP computing the identical function (see :func:`permute_parameters`).

    ``model`` is an ``nn.Sequential`` MLP, or a flat parameter vector with ``template`` giving
    the layout. Returns a new ``nn.Module`` (a deep copy; the input is left unchanged).
    """
    from torch.nn.utils import vector_to_parameters

    base, theta = _model_and_vector(model, template, "permute_mlp: model")
    new_theta = permute_parameters(theta, permutations, base)
    clone = copy.deepcopy(base)
    vector_to_parameters(new_theta.to(next(clone.parameters()).dtype), clone.parameters())
    return clone


@dataclass(frozen=True)
class WeightMatching:
    """Result of :func:`weight_matching`.

    Attributes
    ----------
    permutations : list of int ndarrays, one per hidden layer
        Apply to B with :func:`permute_mlp` / :func:`permute_parameters` to align it to A.
    params_b_aligned : torch.Tensor, shape ``(dim,)``
        B's parameter vector after the permutation (same function as B).
    distance_before, distance_after : float
        Euclidean distance ``‖θ_A − θ_B‖`` before and after alignment.
    iterations : int
        Sweeps over all hidden layers; the last one changed nothing (unless ``converged`` is False).
    converged : bool
        False if ``max_iterations`` sweeps ran and the last still changed a permutation.
    """

    permutations: list[np.ndarray]
    params_b_aligned: Any
    distance_before: float
    distance_after: float
    iterations: int
    converged: bool = True
    history: list[float] = field(default_factory=list)


def weight_matching(
    model_a: Any,
    model_b: Any,
    *,
    template: Any = None,
    max_iterations: int = 100,
    rng: np.random.Generator | int | None = None,
) -> WeightMatching:
    """Permute B's hidden units to bring its weights closest to A's (Git Re-Basin weight matching).

    Ainsworth, Hayase & Srinivasa, "Git Re-Basin: Merging models modulo permutation symmetries"
    (2022), weight matching: maximise ``Σ_l ⟨W_l^A, P_l W_l^B P_{l-1}ᵀ⟩ + ⟨b_l^A, P_l b_l^B⟩``
    (equivalently minimise ``‖θ_A − π(θ_B)‖``) by coordinate descent: for each hidden layer in
    an order shuffled by ``rng`` each sweep, fix the other permutations and solve the linear
    assignment for ``P_l`` (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``) over
    the similarity of incoming weights, bias and outgoing weights; stop after a sweep that
    changes no permutation (the objective cannot decrease, so it has stopped improving).

    Parameters
    ----------
    model_a, model_b : nn.Module or torch.Tensor ``(dim,)``
        MLPs of the same layout, or parameter vectors (then ``template`` gives the layout).
    template : nn.Module, optional
        Layout for parameter-vector inputs.
    max_iterations : int
        Maximum number of sweeps (default 100).
    rng : numpy.random.Generator, int or None
        Layer order; ``None`` means seed 0.
    """
    import torch

    base_a, theta_a = _model_and_vector(model_a, template, "weight_matching: model_a")
    base_b, theta_b = _model_and_vector(model_b, template, "weight_matching: model_b")
    layout = mlp_layout(base_a)
    if mlp_layout(base_b).shapes != layout.shapes or theta_a.shape != theta_b.shape:
        raise ValueError("weight_matching: model_a and model_b have different layouts")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(0 if rng is None else rng)
    theta_b = theta_b.to(theta_a.device)

    n_layers = len(layout.shapes)
    n_hidden = n_layers - 1
    wa = [layout.weight(theta_a, l).double() for l in range(n_layers)]
    wb = [layout.weight(theta_b, l).double() for l in range(n_layers)]
    ba = [layout.bias(theta_a, l) for l in range(n_layers)]
    bb = [layout.bias(theta_b, l) for l in range(n_layers)]
    perms = [torch.arange(h, device=theta_a.device) for h in layout.hidden_sizes]

    iterations = 0
    converged = n_hidden == 0
    history: list[float] = []
    while not converged and iterations < max_iterations:
        iterations += 1
        changed = False
        for l in rng.permutation(n_hidden):
            w_in_b = wb[l] if l == 0 else wb[l][:, perms[l - 1]]
            sim = wa[l] @ w_in_b.T  # (h, h): ⟨incoming row i of A, incoming row j of B⟩
            if ba[l] is not None:
                sim = sim + torch.outer(ba[l].double(), bb[l].double())
            w_out_b = wb[l + 1] if l + 1 == n_hidden else wb[l + 1][perms[l + 1]]
            sim = sim + wa[l + 1].T @ w_out_b  # ⟨outgoing column i of A, outgoing column j of B⟩
            _, cols = linear_sum_assignment(sim.cpu().numpy(), maximize=True)
            new = torch.as_tensor(cols, device=theta_a.device)
            if not torch.equal(new, perms[l]):
                changed = True
                perms[l] = new
        aligned = permute_parameters(theta_b, [p.cpu().numpy() for p in perms], base_b)
        history.append(float(torch.linalg.vector_norm(theta_a - aligned)))
        converged = not changed

    perm_np = [p.cpu().numpy().astype(np.int64) for p in perms]
    aligned = permute_parameters(theta_b, perm_np, base_b)
    return WeightMatching(
        permutations=perm_np,
        params_b_aligned=aligned,
        distance_before=float(torch.linalg.vector_norm(theta_a - theta_b)),
        distance_after=float(torch.linalg.vector_norm(theta_a - aligned)),
        iterations=iterations,
        converged=converged,
        history=history,
    )


class NetworkSymmetry:
    """Symmetry of an MLP's parameter space: rescaling zero modes and permutation matching.

    Parameters
    ----------
    model : nn.Module
        The template network. If it is not a ``Sequential`` MLP of Linear layers and elementwise
        activations, :meth:`zero_modes` returns an empty ``(0, dim)`` tensor and :attr:`notes`
        says why.

    Attributes
    ----------
    dim : int
        Length of the parameter vector.
    layout : MLPLayout or None
    notes : str
        What symmetries are represented, or why none are.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.dim = sum(p.numel() for p in model.parameters())
        try:
            self.layout: MLPLayout | None = mlp_layout(model)
        except ValueError as exc:
            self.layout = None
            self.notes = f"no zero modes: {exc}"
            return
        n_modes = sum(h for h, hom in zip(self.layout.hidden_sizes, self.layout.homogeneous, strict=True)
                      if hom)
        if n_modes:
            self.notes = (f"{n_modes} rescaling zero modes (one per hidden unit followed by ReLU/LeakyReLU; "
                          "Dinh et al. 2017); hidden-unit permutations are discrete: use weight_matching")
        else:
            self.notes = ("no continuous zero modes (activations are not positively homogeneous); "
                          "hidden-unit permutations are discrete: use weight_matching")

    def __repr__(self) -> str:
        return f"NetworkSymmetry(dim={self.dim}, notes={self.notes!r})"

    def _rescaling_triplets(self, x: Any) -> tuple[list[tuple[Any, Any, Any]], Any, int]:
        """Sparse rescaling tangents: ``([(rows, cols, values) incoming, ... outgoing], gram, k)``.

        Each parameter occurs at most once among the incoming and at most once among the outgoing
        triplets. Row ``r`` (one per hidden unit followed by a homogeneous activation) has ``values`` at
        parameter indices ``cols``: ``+W_l[j, :]``, ``+b_l[j]``, ``−W_{l+1}[:, j]``. ``gram`` is the
        exact ``(k, k)`` Gram matrix in float64: tangents of units in one layer touch disjoint
        parameters; unit ``j`` of layer ``l`` and unit ``m`` of layer ``l+1`` share only
        ``W_{l+1}[m, j]``, with overlap ``−W_{l+1}[m, j]²``.
        """
        import torch

        layout = self.layout
        assert layout is not None
        dev = x.device
        parts: dict[str, tuple[list[Any], list[Any], list[Any]]] = {"in": ([], [], []), "out": ([], [], [])}
        starts: dict[int, int] = {}
        r0 = 0
        for l, (h, hom) in enumerate(zip(layout.hidden_sizes, layout.homogeneous, strict=True)):
            if not hom:
                continue
            starts[l] = r0
            units = torch.arange(h, device=dev)
            inp = layout.shapes[l][1]
            w_idx = layout.weight_offsets[l] + units[:, None] * inp + torch.arange(inp, device=dev)
            rows, cols, vals = parts["in"]
            rows.append((r0 + units[:, None]).expand(h, inp).reshape(-1))
            cols.append(w_idx.reshape(-1))
            vals.append(layout.weight(x, l).reshape(-1))
            if layout.bias_offsets[l] is not None:
                rows.append(r0 + units)
                cols.append(layout.bias_offsets[l] + units)
                vals.append(layout.bias(x, l))
            rows, cols, vals = parts["out"]
            out_next, inp_next = layout.shapes[l + 1]
            o_idx = (layout.weight_offsets[l + 1] + torch.arange(out_next, device=dev)[None, :] * inp_next
                     + units[:, None])
            rows.append((r0 + units[:, None]).expand(h, out_next).reshape(-1))
            cols.append(o_idx.reshape(-1))
            vals.append(-layout.weight(x, l + 1).T.reshape(-1))
            r0 += h
        k = r0
        triplets = [(torch.cat(r), torch.cat(c), torch.cat(v)) for r, c, v in parts.values()]
        gram = torch.zeros(k, k, dtype=torch.float64, device=dev)
        diag = torch.zeros(k, dtype=torch.float64, device=dev)
        for rows_t, _, vals_t in triplets:
            diag.index_add_(0, rows_t, vals_t.double() ** 2)
        gram.diagonal().copy_(diag)
        for l, r_l in starts.items():
            if l + 1 in starts:
                w = layout.weight(x, l + 1).double()  # (h_{l+1}, h_l): shared entries
                r_m = starts[l + 1]
                block = -(w.T**2)
                gram[r_l : r_l + w.shape[1], r_m : r_m + w.shape[0]] = block
                gram[r_m : r_m + w.shape[0], r_l : r_l + w.shape[1]] = block.T
        return triplets, gram, k

    def zero_modes(self, x: Any) -> Any:
        """Orthonormal rescaling zero modes at parameter vector ``x``, shape ``(k, dim)``, on x's device.

        For each hidden unit ``j`` of a layer followed by ReLU/LeakyReLU, the tangent at ``α = 1``
        of ``(W_l[j, :], b_l[j], W_{l+1}[:, j]) → (α W_l[j, :], α b_l[j], W_{l+1}[:, j] / α)``
        is ``(W_l[j, :], b_l[j], −W_{l+1}[:, j])`` (Dinh et al. 2017). The tangents are sparse
        and their Gram matrix ``G`` is known in closed form, so they are orthonormalised as
        ``Q = L⁻¹ M`` with ``G = L Lᵀ`` (Cholesky QR: the same rows as a QR factorisation of
        ``Mᵀ``, at the cost of one sparse product, O(k · dim)); if ``G`` is ill-conditioned the
        dense QR/SVD of :func:`~levinthal.symmetry.zero_modes.orthonormal_rows_torch` is used.
        A dead unit (all its weights zero) has no tangent and is dropped, so ``k`` is the number
        of such hidden units in general. Tanh, sigmoid, GELU ... give ``k = 0``. Permutations
        are discrete and give none. The result is dense: ``k × dim`` numbers.
        """
        import torch

        if not isinstance(x, torch.Tensor) or x.ndim != 1 or x.numel() != self.dim:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ValueError(f"NetworkSymmetry.zero_modes: x must be a 1-D tensor of length {self.dim}, "
                             f"got {shape}")
        if self.layout is None or not any(self.layout.homogeneous):
            return x.new_zeros((0, self.dim))
        x = x.detach()
        triplets, gram, k = self._rescaling_triplets(x)
        norms = gram.diagonal().sqrt()
        keep = norms > DEFAULT_RTOL * float(norms.max())
        if not bool(keep.any()):
            return x.new_zeros((0, self.dim))
        chol, info = torch.linalg.cholesky_ex(gram[keep][:, keep])
        d = chol.diagonal()
        if int(info) == 0 and float(d.min()) > 1e-3 * float(d.max()):  # cond(G) < 1e6
            # Q = L⁻¹ M; column p of M has at most one incoming and one outgoing entry, so
            # Q[:, p] = C[:, r_in(p)] v_in(p) + C[:, r_out(p)] v_out(p) with C = L⁻¹ (dropped
            # units and absent entries point at an extra zero column of C).
            k_kept = int(keep.sum())
            new_index = torch.where(keep, torch.cumsum(keep.long(), 0) - 1, k_kept)
            c_aug = torch.zeros(k_kept, k_kept + 1, dtype=torch.float64, device=x.device)
            c_aug[:, :k_kept] = torch.linalg.solve_triangular(
                chol, torch.eye(k_kept, dtype=torch.float64, device=x.device), upper=False)
            q = None
            for rows, cols, vals in triplets:
                r = torch.full((self.dim,), k_kept, dtype=torch.long, device=x.device)
                v = torch.zeros(self.dim, dtype=torch.float64, device=x.device)
                r[cols] = new_index[rows]
                v[cols] = vals.double()
                term = c_aug.index_select(1, r).mul_(v)
                q = term if q is None else q.add_(term)
            return q.to(x.dtype)
        dense = x.new_zeros((k, self.dim))
        for rows, cols, vals in triplets:
            dense[rows, cols] += vals
        return orthonormal_rows_torch(dense)

    def align(self, a: Any, b: Any, **options: Any) -> WeightMatching:
        """:func:`weight_matching` of parameter vector ``b`` onto ``a`` with this model as template."""
        return weight_matching(a, b, template=self.model, **options)

    def distance(self, a: Any, b: Any, **options: Any) -> float:
        """``‖a − π(b)‖`` after weight matching (an upper bound on the distance modulo permutations)."""
        return self.align(a, b, **options).distance_after

    def same(self, a: Any, b: Any, *, energy_a: float | None = None, energy_b: float | None = None,
             energy_tol: float = 1e-6, distance_tol: float = 1e-3, **options: Any) -> bool:
        """Same minimum: energies agree within ``energy_tol`` (when given) AND the weight-matched
        distance is at most ``distance_tol`` (absolute, parameter units). Never by energy alone.
        Rescaled copies (ReLU) are not identified: rescaling is continuous and not quotiented out.
        """
        if (energy_a is None) != (energy_b is None):
            raise ValueError("same: give both energy_a and energy_b, or neither")
        if energy_a is not None and abs(float(energy_a) - float(energy_b)) > energy_tol:
            return False
        return self.distance(a, b, **options) <= distance_tol
