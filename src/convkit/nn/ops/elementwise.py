"""Builders for dropout, batch_norm, local_response_norm and activation."""

from __future__ import annotations

from torch import nn

from convkit.nn.activations import make_activation
from convkit.nn.registry import register_builder
from convkit.spec.shapes import Sequence, Volume


@register_builder("dropout")
def build_dropout(spec_layer, info) -> nn.Module:
    return nn.Dropout(spec_layer.params["rate"])


class SequenceBatchNorm(nn.BatchNorm1d):
    """Batch norm over the features of (N, T, F): BatchNorm1d wants (N, F, T)."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


@register_builder("batch_norm")
def build_batch_norm(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    shape = info.input_shapes[0]
    options = {"eps": params["epsilon"], "momentum": params["momentum"]}
    if isinstance(shape, Volume):
        return nn.BatchNorm2d(shape.channels, **options)
    if isinstance(shape, Sequence):
        return SequenceBatchNorm(shape.features, **options)
    return nn.BatchNorm1d(shape.numel(), **options)


@register_builder("local_response_norm")
def build_local_response_norm(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    return nn.LocalResponseNorm(params["size"], params["alpha"], params["beta"], params["k"])


@register_builder("activation")
def build_activation(spec_layer, info) -> nn.Module:
    if isinstance(info.input_shapes[0], Sequence) and spec_layer.params["function"] == "softmax":
        return nn.Softmax(dim=2)  # over the features of (N, T, F)
    return make_activation(spec_layer.params["function"]) or nn.Identity()
