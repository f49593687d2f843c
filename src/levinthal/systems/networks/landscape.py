"""The loss of a ``torch.nn.Module`` on a fixed data set, as a landscape over its parameters.

A point x is the model's parameter vector: the concatenation of ``p.reshape(-1)`` over
``model.parameters()`` in order (the ``torch.nn.utils.parameters_to_vector`` convention),
a 1-D ``torch.Tensor`` on the model's device in the model's dtype. Evaluations are pure
functions of x: the model is called with :func:`torch.func.functional_call` on parameters
unflattened from x as views, so nothing is written into the module and nothing is copied to
the host except the scalar energy.

Energy = mean loss over the whole data set (full batch). With ``chunk_size`` the data are
processed in chunks whose losses are weighted by their share of the samples, which bounds
memory and is mathematically identical. Derivatives come from ``torch.func``:

* gradient: reverse mode (plain autograd on a leaf copy of x; ``grad_and_value`` inside
  ``torch.func`` transforms);
* Hessian-vector product: forward-over-reverse, ``jvp(grad(E), (x,), (v,))`` — Pearlmutter
  (1994), "Fast exact multiplication by the Hessian", Neural Computation 6, 147; one HVP
  costs a small multiple of a gradient;
* dense Hessian (small ``dim`` only): the same forward-over-reverse product applied to blocks
  of unit vectors with ``vmap`` (what ``torch.func.hessian`` does, in bounded memory);
* batched ``energies`` / ``energy_gradients`` over parameter sets ``X`` of shape
  ``(n, dim)``: ``vmap`` over ``functional_call``.

Well-posedness (after curvlinops, Dangel et al.): the loss must be a deterministic function
of x. Modules are evaluated in eval mode by default (BatchNorm uses its running statistics,
dropout is off). ``mode="train"`` with dropout-type modules is refused with
:class:`StochasticModelError` unless ``allow_stochastic=True``; and at construction the loss
is evaluated twice at the same point and the model is refused if the two values differ
beyond round-off or if the evaluation mutated any buffer. BatchNorm in train mode
normalises with the statistics of the data it sees, so it is allowed for full-batch
evaluation only (no ``chunk_size``), and its running statistics are never updated.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, grad_and_value, jvp, vjp, vmap

from levinthal.landscape.errors import LandscapeError, NotSupportedError, ShapeError, StochasticModelError
from levinthal.systems.networks.models import reset_parameters

__all__ = ["LOSSES", "STOCHASTIC_MODULES", "NetworkLandscape"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES: dict[str, LossFn] = {
    "cross_entropy": F.cross_entropy,
    "mse": F.mse_loss,
}
"""Named losses; each returns the *mean* over the samples of a batch."""

STOCHASTIC_MODULES: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.RReLU,
)
"""Modules whose output is random in training mode."""

_BATCH_NORMS = (nn.modules.batchnorm._BatchNorm,)

_UNSET = object()


@functools.cache
def _quiet_jvp_setup() -> None:
    """Import torch's forward-mode decompositions once, hiding the ``torch.jit.script is
    deprecated`` warnings that torch itself triggers there (nothing a user can act on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
        try:
            import torch._decomp.decompositions_for_jvp  # noqa: F401
        except ImportError:  # pragma: no cover - layout of torch internals may change
            pass


class NetworkLandscape:
    """Mean loss of ``model`` on ``(inputs, targets)`` as a function of its parameter vector.

    Parameters
    ----------
    model : torch.nn.Module
        The network. The landscape works on a private deep copy (moved to ``device`` /
        ``dtype`` if given), so later changes to ``model`` do not affect it and evaluations
        never modify ``model``.
    inputs, targets : torch.Tensor or array
        Training data, ``inputs`` of shape ``(N, *feature_shape)``; ``targets`` of shape
        ``(N,)`` (class labels, int64) for cross-entropy or shaped like the model output for
        MSE. Moved to the model's device once; floating inputs take the model's dtype.
    loss : "cross_entropy", "mse" or callable
        ``loss(output, targets) -> scalar``, the *mean* over the batch (default
        ``"cross_entropy"``). A callable must be a mean for chunking to be exact.
    batch_size : int or None
        Default size of the minibatches made by :meth:`on_batch` and :meth:`batches`
        (default None: those methods then need an explicit size). The energy itself is
        always the full-batch loss.
    chunk_size : int or None
        Evaluate the data in chunks of this many samples to bound memory (default None: one
        chunk). The result is the same function.
    device, dtype : optional
        Move the model copy there (default: where and what the model already is).
    mode : "eval" or "train"
        Module mode used in every evaluation (default "eval").
    allow_stochastic : bool
        Accept a stochastic model (dropout in train mode, or a failed determinism check).
        The energy is then a random variable drawn from torch's global generator; tools
        that assume a function will misbehave (default False).
    name : str or None
        Name used in messages and reports (default ``"network(<class>, dim=<dim>)"``).
    test_data : (inputs, targets) or None
        Held-out data for :meth:`test_energy` and :meth:`test_accuracy`.
    hessian_limit : int
        Largest ``dim`` for which :meth:`hessian` forms a dense matrix (default 20000; the
        matrix then takes dim² × 8 bytes, 3.2 GB in float64).
    hessian_block, points_chunk : int or None
        Hessian columns, and parameter sets of :meth:`energies` / :meth:`energy_gradients`,
        evaluated per vectorised pass. Default None: as many as fit ``memory_budget``, judged
        from the activation size per sample measured at construction (at least 1).
    memory_budget : int or None
        Bytes the batched activations of one vectorised pass may take (default None:
        256 MiB on the CPU, where bigger passes gain nothing, 2 GiB on an accelerator).
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: Any,
        targets: Any,
        loss: str | LossFn = "cross_entropy",
        *,
        batch_size: int | None = None,
        chunk_size: int | None = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        mode: str = "eval",
        allow_stochastic: bool = False,
        name: str | None = None,
        test_data: tuple[Any, Any] | None = None,
        hessian_limit: int = 20000,
        hessian_block: int | None = None,
        points_chunk: int | None = None,
        memory_budget: int | None = None,
    ):
        if not isinstance(model, nn.Module):
            raise LandscapeError(
                f"NetworkLandscape: model must be a torch.nn.Module, got {type(model).__name__}"
            )
        if mode not in ("eval", "train"):
            raise LandscapeError(f"NetworkLandscape: mode must be 'eval' or 'train', got {mode!r}")
        model = copy.deepcopy(model)
        if device is not None or dtype is not None:
            model = model.to(device=device, dtype=dtype)
        model.train(mode == "train")
        named = list(model.named_parameters())
        if not named:
            raise LandscapeError(f"NetworkLandscape: {type(model).__name__} has no parameters")
        dtypes = {p.dtype for _, p in named}
        devices = {p.device for _, p in named}
        if len(dtypes) != 1 or not next(iter(dtypes)).is_floating_point:
            raise LandscapeError(f"NetworkLandscape: parameters must share one floating dtype, got {dtypes}; "
                                 "pass dtype=... to convert")
        if len(devices) != 1:
            raise LandscapeError(f"NetworkLandscape: parameters are spread over devices {devices}")
        self.model = model
        self.dtype: torch.dtype = next(iter(dtypes))
        self.device: torch.device = next(iter(devices))
        self._names = [n for n, _ in named]
        self._shapes = [tuple(p.shape) for _, p in named]
        self._numels = [p.numel() for _, p in named]
        self.dim = int(sum(self._numels))
        self.name = name or f"network({type(model).__name__}, dim={self.dim})"
        self.mode = mode
        self.allow_stochastic = bool(allow_stochastic)
        self.hessian_limit = int(hessian_limit)
        self.batch_size = None if batch_size is None else int(batch_size)
        if chunk_size is not None and int(chunk_size) < 1:
            raise LandscapeError(f"{self.name}: chunk_size must be a positive integer, got {chunk_size}")
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        if isinstance(loss, str):
            if loss not in LOSSES:
                raise LandscapeError(
                    f"{self.name}: unknown loss {loss!r}; choose {sorted(LOSSES)} or a callable"
                )
            self.loss_name, self.loss_fn = loss, LOSSES[loss]
        elif callable(loss):
            self.loss_name, self.loss_fn = getattr(loss, "__name__", "custom"), loss
        else:
            raise LandscapeError(f"{self.name}: loss must be a name or a callable, got {loss!r}")
        self._randomness = "different" if self.allow_stochastic else "error"
        self._symmetry: Any = _UNSET

        self._check_modes()
        self._set_data(inputs, targets)
        self.test: NetworkLandscape | None = None
        if not self.allow_stochastic:
            self._check_determinism()
        self.activations_per_sample = self._measure_activations()
        samples = max(w * self.n_samples for _, _, w in self._chunks)
        per_point = 4 * self.activations_per_sample * samples * torch.finfo(self.dtype).bits // 8
        if memory_budget is None:
            memory_budget = 2**28 if self.device.type == "cpu" else 2**31
        fit = max(1, int(memory_budget) // max(1, round(per_point)))
        self.hessian_block = int(hessian_block) if hessian_block is not None else fit
        self.points_chunk = int(points_chunk) if points_chunk is not None else fit
        if test_data is not None:
            self.test = self._restricted(*test_data, name=f"{self.name}[test]")

    # ------------------------------------------------------------------ construction checks

    def _check_modes(self) -> None:
        batch_norms = [n for n, m in self.model.named_modules() if isinstance(m, _BATCH_NORMS)]
        if self.mode != "train":
            return
        stochastic = [
            f"{n or '<root>'} ({type(m).__name__})"
            for n, m in self.model.named_modules()
            if isinstance(m, STOCHASTIC_MODULES) and getattr(m, "p", 1.0) != 0.0
        ]
        if stochastic and not self.allow_stochastic:
            raise StochasticModelError(
                f"{self.name}: mode='train' makes the loss random through {', '.join(stochastic)}; "
                "use mode='eval' (dropout off) or pass allow_stochastic=True if you mean it"
            )
        if batch_norms:
            if self.chunk_size is not None:
                raise LandscapeError(
                    f"{self.name}: BatchNorm in train mode ({', '.join(batch_norms)}) normalises over the "
                    "samples it sees, so a chunked loss would differ from the full-batch loss; drop "
                    "chunk_size or use mode='eval'"
                )
            for m in self.model.modules():
                if isinstance(m, _BATCH_NORMS):
                    # Batch statistics, and never an update of the running statistics.
                    m.track_running_stats = False

    def _check_determinism(self) -> None:
        """Evaluate the loss twice at the current parameters (on at most 1024 samples) and
        refuse the model if the values differ beyond round-off or a buffer changed."""
        x = self.initial_point()
        inputs, targets = self._inputs[:1024], self._targets[:1024]
        before = {n: b.clone() for n, b in self.model.named_buffers()}
        with torch.no_grad():
            e1 = float(self._loss(x, inputs, targets))
            e2 = float(self._loss(x, inputs, targets))
        changed = [n for n, b in self.model.named_buffers() if not torch.equal(b, before[n])]
        if changed:
            raise StochasticModelError(
                f"{self.name}: evaluating the loss changed the buffers {', '.join(changed)}, so the loss "
                "would depend on the history of evaluations; use mode='eval' or a model without such state"
            )
        tol = 100 * torch.finfo(self.dtype).eps * max(1.0, abs(e1))
        if not (math.isfinite(e1) and math.isfinite(e2)) or abs(e1 - e2) > tol:
            raise StochasticModelError(
                f"{self.name}: two evaluations of the loss at the same parameters gave {e1!r} and {e2!r} "
                f"(difference {abs(e1 - e2):.3g} > round-off {tol:.3g}): the model is not a deterministic "
                "function of its parameters (hidden noise, dropout or non-deterministic kernels); fix "
                "the model or pass allow_stochastic=True"
            )

    def _measure_activations(self) -> int:
        """Number of values the model's leaf modules output per sample (one forward pass on
        at most two samples with forward hooks); sizes the vectorised passes."""
        total = 0

        def hook(module: nn.Module, args: Any, out: Any) -> None:
            nonlocal total
            total += out.numel() if isinstance(out, torch.Tensor) else 0

        leaves = [m for m in self.model.modules() if next(m.children(), None) is None]
        handles = [m.register_forward_hook(hook) for m in leaves]
        k = min(2, self.n_samples)
        try:
            with torch.no_grad():
                functional_call(self.model, self.unflatten(self.initial_point()), (self._inputs[:k],))
        finally:
            for h in handles:
                h.remove()
        return max(1, total // k)

    def _set_data(self, inputs: Any, targets: Any) -> None:
        """Hold the data on the model's device, in its dtype (documented behaviour: data given on
        another device are copied to the model's device once, here, never per evaluation)."""
        try:
            inputs = torch.as_tensor(inputs, device=self.device)
            targets = torch.as_tensor(targets, device=self.device)
        except (RuntimeError, NotImplementedError) as exc:
            where = getattr(inputs, "device", "host")
            raise LandscapeError(
                f"{self.name}: cannot move the data from {where} to the model's device {self.device} "
                f"({exc}); put data and model on one device"
            ) from exc
        if inputs.is_floating_point():
            inputs = inputs.to(self.dtype)
        if targets.is_floating_point():
            targets = targets.to(self.dtype)
        if inputs.ndim == 0 or targets.ndim == 0 or inputs.shape[0] != targets.shape[0]:
            raise ShapeError(f"{self.name}: inputs {tuple(inputs.shape)} and targets {tuple(targets.shape)} "
                             "must have the same number of samples along dimension 0")
        n = int(inputs.shape[0])
        if n == 0:
            raise ShapeError(f"{self.name}: the data set is empty")
        if self.mode == "train" and n < 2 and any(isinstance(m, _BATCH_NORMS) for m in self.model.modules()):
            raise LandscapeError(
                f"{self.name}: BatchNorm in train mode normalises over the batch, which is undefined for "
                "a batch of one sample; use at least 2 samples or mode='eval' (running statistics)"
            )
        self._inputs, self._targets = inputs, targets
        step = n if self.chunk_size is None else self.chunk_size
        self._chunks = [
            (inputs[i : i + step], targets[i : i + step], min(step, n - i) / n) for i in range(0, n, step)
        ]

    def _restricted(self, inputs: Any, targets: Any, name: str) -> NetworkLandscape:
        """A landscape on other data sharing this one's model (no copy, no re-check)."""
        new = copy.copy(self)
        new.name = name
        new.test = None
        new._set_data(inputs, targets)
        return new

    # ------------------------------------------------------------------ parameter vectors

    def unflatten(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split ``x`` (shape ``(dim,)``) into ``{parameter name: tensor}``, views of ``x``."""
        return {
            n: t.view(s) if t.is_contiguous() else t.reshape(s)
            for n, t, s in zip(self._names, torch.split(x, self._numels), self._shapes, strict=True)
        }

    def initial_point(self) -> torch.Tensor:
        """The model's parameters at construction, shape ``(dim,)`` (a fresh tensor)."""
        return nn.utils.parameters_to_vector(self.model.parameters()).detach().clone()

    def native_point(self, x: Any) -> torch.Tensor:
        """``x`` (NumPy array, list or tensor) as a tensor of the model's dtype on its device.
        A tensor that already matches is returned as is (detached), without a copy."""
        if isinstance(x, torch.Tensor):
            return x.detach().to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    def random_point(self, rng: np.random.Generator) -> torch.Tensor:
        """Parameters of a fresh PyTorch default initialisation, seeded from ``rng``; shape ``(dim,)``.

        A copy of the model is re-initialised (see :func:`models.reset_parameters`); only
        the parameters enter x, so buffers such as BatchNorm running statistics stay those of
        the landscape's model.
        """
        seed = int(rng.integers(0, 2**63 - 1))
        fresh = reset_parameters(copy.deepcopy(self.model), seed)
        return nn.utils.parameters_to_vector(fresh.parameters()).detach().to(self.device, self.dtype)

    # ------------------------------------------------------------------ the function

    def _loss(self, x: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean loss on one chunk: a pure function of ``x`` for ``torch.func`` transforms."""
        return self.loss_fn(functional_call(self.model, self.unflatten(x), (inputs,)), targets)

    def functional_loss(self, x: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss on arbitrary data ``(inputs, targets)`` at ``x``, as a 0-d tensor that
        autograd and ``torch.func`` can differentiate (no chunking)."""
        return self._loss(x, inputs, targets)

    def energy(self, x: Any) -> float:
        """Mean loss over the data at ``x`` (shape ``(dim,)``)."""
        x = self.native_point(x)
        with torch.no_grad():
            total = sum(w * self._loss(x, a, b) for a, b, w in self._chunks)
        return float(total)

    def energy_gradient(self, x: Any) -> tuple[float, torch.Tensor]:
        """``(E, ∇E)`` at ``x``; the gradient has shape ``(dim,)`` on the model's device.

        Reverse mode through plain autograd on a detached leaf copy of ``x``, chunk by chunk:
        the same derivative formulas as ``torch.func.grad`` (bitwise the same numbers on the
        presets) without its per-operation wrapping, which cost ~30 % more CPU time on the
        digits MLP (2.6 ms vs 1.95 ms per gradient, one thread). Inside a ``torch.func``
        transform (``x`` a functorch tensor) the ``grad_and_value`` path is used, so the
        method stays composable.
        """
        x = self.native_point(x)
        if torch._C._functorch.is_functorch_wrapped_tensor(x):
            return self._energy_gradient_func(x)
        xr = x.detach().requires_grad_(True)
        e, g = 0.0, None
        with torch.enable_grad():
            for a, b, w in self._chunks:
                ec = self._loss(xr, a, b)
                (gc,) = torch.autograd.grad(ec, xr)
                ec = ec.detach()
                e = e + w * ec
                if g is None:
                    g = gc if w == 1.0 else w * gc
                else:
                    g.add_(gc, alpha=w)
        return float(e), g

    def _energy_gradient_func(self, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        e, g = 0.0, None
        for a, b, w in self._chunks:
            gc, ec = grad_and_value(self._loss)(x, a, b)
            e = e + w * ec
            if g is None:
                g = gc if w == 1.0 else w * gc
            else:
                g.add_(gc, alpha=w)
        return float(e), g

    def _hvp(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        _quiet_jvp_setup()
        out = None
        for a, b, w in self._chunks:
            hv = self._hvp_chunk(x, v, a, b)
            out = w * hv if out is None else out + w * hv
        return out

    def _hvp_chunk(self, x: torch.Tensor, v: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Forward-over-reverse HVP on one chunk. torch's forward-mode rule for ``mse_loss``
        fails ("ZeroTensors are immutable") where the residual is exactly zero (targets equal
        to the outputs); there the same product is taken reverse-over-reverse (``vjp`` of the
        gradient), which is exact too and also works under ``vmap``."""
        def g(p: torch.Tensor) -> torch.Tensor:
            return grad(self._loss)(p, a, b)

        try:
            return jvp(g, (x,), (v,))[1]
        except RuntimeError as exc:
            if "ZeroTensors are immutable" not in str(exc):
                raise
            return vjp(g, x)[1](v)[0]

    def hvp(self, x: Any, v: Any) -> torch.Tensor:
        """Exact Hessian-vector product ∇²E(x) v by forward-over-reverse (Pearlmutter 1994);
        shape ``(dim,)``."""
        return self._hvp(self.native_point(x), self.native_point(v))

    def hvp_operator(self, x: Any, method: str = "double-backward") -> Callable[[Any], torch.Tensor]:
        """``v ↦ ∇²E(x) v`` at a fixed ``x``: the same products as :meth:`hvp`, for tools that
        apply many of them at one point (Lanczos, Hutch++, SLQ).

        :meth:`hvp` re-traces the forward and backward pass of every product. Here the work
        that does not depend on v is done once:

        * ``method="double-backward"`` (default): one gradient with ``create_graph=True`` keeps
          the graph of ∇E(x); each product is one more backward pass through it,
          ``autograd.grad(∇E, x, v, retain_graph=True)`` (reverse-over-reverse, the form of
          Pearlmutter 1994 used by PyHessian). Setup costs about one gradient.
        * ``method="linearize"``: :func:`torch.func.linearize` traces the forward-over-reverse
          product of :meth:`hvp` once into a graph; each product replays it. Bitwise the same
          numbers as :meth:`hvp`, cheapest per product, but tracing costs ~ 0.3–0.5 s, which
          only pays for itself after hundreds of products.

        Both are exact: they agree with :meth:`hvp` to round-off (the double-backward one
        associates sums differently, ~1e-16 relative). The returned function keeps the graph
        (activations of all chunks) alive as long as it is referenced. ``v``: shape ``(dim,)``
        (converted like :meth:`hvp`'s); the result has shape ``(dim,)``.
        """
        x = self.native_point(x)
        if method == "linearize":
            return self._linearized_hvp(x)
        if method != "double-backward":
            raise LandscapeError(f"{self.name}: hvp_operator method must be 'double-backward' or "
                                 f"'linearize', got {method!r}")
        xr = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            total = None
            for a, b, w in self._chunks:
                loss = self._loss(xr, a, b)
                total = w * loss if total is None else total + w * loss
            (g,) = torch.autograd.grad(total, xr, create_graph=True)
        if g.grad_fn is None:  # a loss linear in x: the Hessian is zero
            return lambda v: torch.zeros_like(xr, requires_grad=False)

        def apply(v: Any) -> torch.Tensor:
            v = self.native_point(v)
            (hv,) = torch.autograd.grad(g, xr, v, retain_graph=True)
            return hv

        return apply

    def _linearized_hvp(self, x: torch.Tensor) -> Callable[[Any], torch.Tensor]:
        from torch.func import linearize

        _quiet_jvp_setup()
        parts = []
        with warnings.catch_warnings():
            # torch's constant folding of the traced graph warns about its own get_attr nodes
            warnings.filterwarnings("ignore", message=r".*get_attr Node.*", category=UserWarning)
            for a, b, w in self._chunks:
                _, jvp_fn = linearize(lambda p, a=a, b=b: grad(self._loss)(p, a, b), x)
                parts.append((jvp_fn, w))

        def apply(v: Any) -> torch.Tensor:
            v = self.native_point(v)
            out = None
            for jvp_fn, w in parts:
                hv = jvp_fn(v)
                out = w * hv if out is None else out + w * hv
            return out

        return apply

    def hessian(self, x: Any) -> torch.Tensor:
        """Dense Hessian, shape ``(dim, dim)``, for ``dim <= hessian_limit`` (default 20000).

        Columns are forward-over-reverse HVPs with unit vectors, ``hessian_block`` at a
        time under ``vmap``; symmetric up to round-off (not symmetrised).
        """
        if self.dim > self.hessian_limit:
            raise NotSupportedError(
                f"{self.name}: dense Hessian refused for dim = {self.dim} > hessian_limit = "
                f"{self.hessian_limit} ({self.dim ** 2 * torch.finfo(self.dtype).bits // 8 / 1e9:.1f} GB); "
                "use hvp-based tools (Lanczos) instead"
            )
        x = self.native_point(x)
        eye = torch.eye(self.dim, dtype=self.dtype, device=self.device)
        columns = vmap(lambda v: self._hvp(x, v), chunk_size=self.hessian_block,
                       randomness=self._randomness)(eye)
        return columns.T.contiguous()

    def energies(self, X: Any) -> torch.Tensor:
        """Energies of ``n`` parameter sets ``X`` (shape ``(n, dim)``) in one vectorised pass;
        shape ``(n,)``."""
        X = self.native_point(X)
        f = vmap(self._loss, in_dims=(0, None, None), randomness=self._randomness,
                 chunk_size=self.points_chunk)
        with torch.no_grad():
            total = None
            for a, b, w in self._chunks:
                e = w * f(X, a, b)
                total = e if total is None else total + e
        return total

    def energy_gradients(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies ``(n,)`` and gradients ``(n, dim)`` of the parameter sets ``X`` (``(n, dim)``)."""
        X = self.native_point(X)
        f = vmap(grad_and_value(self._loss), in_dims=(0, None, None), randomness=self._randomness,
                 chunk_size=self.points_chunk)
        E = G = None
        for a, b, w in self._chunks:
            g, e = f(X, a, b)
            E = w * e if E is None else E + w * e
            G = w * g if G is None else G.add_(g, alpha=w)
        return E, G

    # ------------------------------------------------------------------ classification

    def _accuracy(self, x: torch.Tensor) -> float:
        if self._targets.is_floating_point() or self._targets.ndim != 1:
            raise NotSupportedError(f"{self.name}: accuracy needs integer class labels as targets")
        correct = 0
        with torch.no_grad():
            for a, b, _ in self._chunks:
                out = functional_call(self.model, self.unflatten(x), (a,))
                correct = correct + (out.argmax(dim=-1) == b).sum()
        return float(correct) / self.n_samples

    def accuracy(self, x: Any) -> float:
        """Fraction of samples whose largest output is the target class, in [0, 1]."""
        return self._accuracy(self.native_point(x))

    def _held_out(self) -> NetworkLandscape:
        if self.test is None:
            raise NotSupportedError(f"{self.name}: no held-out data (pass test_data=(inputs, targets))")
        return self.test

    def test_energy(self, x: Any) -> float:
        """Mean loss on the held-out data at ``x``."""
        return self._held_out().energy(x)

    def test_accuracy(self, x: Any) -> float:
        """Classification accuracy on the held-out data at ``x``."""
        return self._held_out().accuracy(x)

    # ------------------------------------------------------------------ minibatches

    @property
    def n_samples(self) -> int:
        """Number of samples the energy averages over."""
        return int(self._inputs.shape[0])

    @property
    def inputs(self) -> torch.Tensor:
        """The samples the energy averages over (read-only view: the landscape is a fixed function)."""
        return self._inputs

    @property
    def targets(self) -> torch.Tensor:
        """Their targets (class indices or regression values)."""
        return self._targets

    @property
    def data_chunks(self) -> tuple[tuple[torch.Tensor, torch.Tensor, float], ...]:
        """The data as the energy evaluates it: ``(inputs, targets, weight)`` per chunk of at most
        ``chunk_size`` samples (one chunk when ``chunk_size`` is None), tensors on the model's
        device, weight = chunk size / ``n_samples`` so that E = Σ weight · mean loss of the chunk.
        Read-only (a tuple of views); for evaluators that batch over the data themselves."""
        return tuple(self._chunks)

    #: A parameter vector wants a longer L-BFGS memory and a step cap on the scale of the
    #: weights, not pele's 0.1 for atomic coordinates (measured on mlp-digits with L2 1e-3:
    #: memory 20 / step 1.0 converged in 243 iterations, memory 4 / step 0.1 in 622, and the
    #: latter stopped at index-1..3 saddles more often).
    minimizer_defaults: ClassVar[dict[str, dict[str, float]]] = {
        "lbfgs": {"memory": 20, "max_step": 1.0}, "fire": {"max_step": 1.0}}

    def minibatch(self, indices: Sequence[int] | np.ndarray | torch.Tensor) -> NetworkLandscape:
        """The landscape restricted to the samples ``indices``: a deterministic function of x
        (the mean loss on that fixed subset) to which every tool applies. Shares the model.

        With BatchNorm in train mode the subset's own batch statistics are used.
        """
        idx = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices,
                              dtype=torch.int64, device=self.device).reshape(-1)
        if idx.numel() == 0:
            raise ShapeError(f"{self.name}: minibatch needs at least one index")
        if int(idx.min()) < 0 or int(idx.max()) >= self.n_samples:
            raise ShapeError(f"{self.name}: minibatch indices must lie in [0, {self.n_samples})")
        return self._restricted(self._inputs[idx], self._targets[idx],
                                name=f"{self.name}[batch of {idx.numel()}]")

    def _size(self, batch_size: int | None) -> int:
        size = self.batch_size if batch_size is None else int(batch_size)
        if size is None or not 0 < size <= self.n_samples:
            raise LandscapeError(f"{self.name}: batch_size must lie in [1, {self.n_samples}], got {size} "
                                 "(pass batch_size here or to the constructor)")
        return size

    def on_batch(self, rng: np.random.Generator, batch_size: int | None = None) -> NetworkLandscape:
        """The landscape on ``batch_size`` samples drawn without replacement by ``rng``."""
        return self.minibatch(rng.choice(self.n_samples, size=self._size(batch_size), replace=False))

    def batches(
        self, rng: np.random.Generator, batch_size: int | None = None, drop_last: bool = False
    ) -> Iterator[NetworkLandscape]:
        """One epoch: minibatch landscapes over a random permutation of the data drawn by
        ``rng``; the last batch is smaller unless ``drop_last``."""
        size = self._size(batch_size)
        order = rng.permutation(self.n_samples)
        for i in range(0, self.n_samples, size):
            chunk = order[i : i + size]
            if drop_last and chunk.size < size:
                return
            yield self.minibatch(chunk)

    # ------------------------------------------------------------------ symmetry

    @property
    def symmetry(self) -> Any:
        """``levinthal.symmetry.networks.NetworkSymmetry(model)`` (hidden-unit rescaling zero
        modes), created on first use; ``None`` if unavailable for this model."""
        if self._symmetry is _UNSET:
            try:
                from levinthal.symmetry.networks import NetworkSymmetry

                self._symmetry = NetworkSymmetry(self.model)
            except (ImportError, NotSupportedError):
                self._symmetry = None
        return self._symmetry

    def __repr__(self) -> str:
        return (f"NetworkLandscape(name={self.name!r}, dim={self.dim}, loss={self.loss_name!r}, "
                f"n_samples={self.n_samples}, mode={self.mode!r}, dtype={self.dtype}, device={self.device})")
