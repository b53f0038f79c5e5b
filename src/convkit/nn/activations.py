"""Activation names (``convkit.spec.activations.ACTIVATIONS``) -> torch modules."""

from __future__ import annotations

from torch import nn


class ChannelSoftmax(nn.Softmax):
    """Softmax over dim 1: the channels of (N, C, H, W), the features of (N, F)."""

    def __init__(self):
        super().__init__(dim=1)


_FACTORIES = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "hardsigmoid": nn.Hardsigmoid,
    "hardswish": nn.Hardswish,
    "softmax": ChannelSoftmax,
}


# these can overwrite their input, saving a tensor the size of the layer's output
_IN_PLACE = {"relu", "relu6", "leaky_relu", "elu", "silu", "hardswish", "hardsigmoid"}


def make_activation(name: str, inplace: bool = False) -> nn.Module | None:
    """The module for ``name``, or None for ``identity`` (so the layer skips a call).

    ``inplace=True`` is for a layer's own fresh output (after its convolution or
    linear map), never for a tensor that someone else may still read.
    """
    if name == "identity":
        return None
    if inplace and name in _IN_PLACE:
        return _FACTORIES[name](inplace=True)
    return _FACTORIES[name]()
