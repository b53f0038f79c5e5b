"""Activation names (``convkit.spec.activations.ACTIVATIONS``) -> torch modules."""

from __future__ import annotations

from torch import nn


class ChannelSoftmax(nn.Softmax):
    """Softmax over dim 1: the channels of (N, C, H, W), the features of (N, F)."""

    def __init__(self):
        super().__init__(dim=1)


_FACTORIES = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softmax": ChannelSoftmax,
}


def make_activation(name: str) -> nn.Module | None:
    """The module for ``name``, or None for ``identity`` (so the layer skips a call)."""
    if name == "identity":
        return None
    return _FACTORIES[name]()
