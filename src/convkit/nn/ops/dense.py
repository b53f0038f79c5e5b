"""Builders for dense, output and flatten. A volume input is flattened in (C, H, W) order."""

from __future__ import annotations

from torch import nn

from convkit.nn.activations import make_activation
from convkit.nn.registry import register_builder
from convkit.spec.shapes import Volume


class DenseLayer(nn.Module):
    """Flatten a volume if needed, a linear map, then the activation (None: identity)."""

    def __init__(self, linear: nn.Linear, activation: nn.Module | None, flatten: bool):
        super().__init__()
        self.flatten = flatten
        self.linear = linear
        self.activation = activation

    def forward(self, x):  # (N, C, H, W) or (N, F) -> (N, units); (N, T, F) -> (N, T, units)
        if self.flatten:
            # flatten follows the logical (C, H, W) order, also for channels_last tensors
            x = x.flatten(1)
        x = self.linear(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


def _in_features(shape) -> int:
    return shape.features if hasattr(shape, "features") else shape.numel()


@register_builder("dense")
def build_dense(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    shape = info.input_shapes[0]
    linear = nn.Linear(_in_features(shape), params["units"], bias=params["bias"])
    return DenseLayer(
        linear, make_activation(params["activation"], inplace=True), isinstance(shape, Volume)
    )


@register_builder("output")
def build_output(spec_layer, info) -> nn.Module:
    # Logits only: the task applies the declared activation at prediction time
    # and computes the loss on logits (numerically stable).
    params = spec_layer.params
    shape = info.input_shapes[0]
    linear = nn.Linear(shape.numel(), params["classes"], bias=params["bias"])
    return DenseLayer(linear, None, isinstance(shape, Volume))


@register_builder("flatten")
def build_flatten(spec_layer, info) -> nn.Module:
    return nn.Flatten(1)
