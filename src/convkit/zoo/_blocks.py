"""A small recorder shared by the zoo's graph-form networks.

Each zoo family writes its layers through ``Graph``, which keeps, beside the
layer list, the torchvision module path each weighted layer corresponds to
(e.g. ``stage1_block1_a_conv`` -> ``layer1.0.conv1``). That mapping is the
family's key table for weight import (``convkit.weights``); it is produced by
the same loop that writes the layers, so the two cannot drift apart.
"""

from __future__ import annotations

from convkit.spec import NetSpec, layer


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of ``divisor``, never more than 10% down (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class Graph:
    """Layers in graph form plus ``paths``: convkit layer name -> torchvision module path."""

    def __init__(self, bn_epsilon: float = 1e-5, bn_momentum: float = 0.1):
        self.layers = []
        self.paths: dict[str, str] = {}
        self.bn_epsilon = bn_epsilon
        self.bn_momentum = bn_momentum

    def add(self, type_name: str, name: str, inputs, path: str | None = None, **params) -> str:
        self.layers.append(layer(type_name, name=name, inputs=list(inputs), **params))
        if path is not None:
            self.paths[name] = path
        return name

    def conv_bn(
        self,
        name: str,
        source: str,
        filters: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = None,
        paths: tuple[str, str] | None = None,
    ) -> str:
        """Convolution without bias, batch norm, then an activation layer (if any).

        ``paths``: the torchvision modules of the convolution and the batch norm.
        """
        conv_path, bn_path = paths or (None, None)
        self.add(
            "conv2d",
            f"{name}_conv",
            [source],
            conv_path,
            filters=filters,
            kernel=kernel,
            stride=stride,
            padding=(kernel - 1) // 2,
            groups=groups,
            bias=False,
            activation="identity",  # batch norm comes between the convolution and its activation
        )
        out = self.add(
            "batch_norm",
            f"{name}_bn",
            [f"{name}_conv"],
            bn_path,
            epsilon=self.bn_epsilon,
            momentum=self.bn_momentum,
        )
        if activation is not None:
            out = self.add("activation", f"{name}_act", [out], function=activation)
        return out

    def conv_norm_act(
        self,
        name: str,
        source: str,
        filters: int,
        kernel: int,
        activation: str,
        path: str,
        stride: int = 1,
        depthwise: bool = False,
    ) -> str:
        """``conv_bn`` for torchvision's ``Conv2dNormActivation`` at ``path`` (``.0`` conv, ``.1`` bn).

        ``depthwise``: one kernel per input channel (groups = channels), the
        middle step of an inverted residual block.
        """
        return self.conv_bn(
            name,
            source,
            filters,
            kernel,
            stride,
            groups=filters if depthwise else 1,
            activation=activation,
            paths=(f"{path}.0", f"{path}.1"),
        )

    def squeeze_excite(
        self, name: str, source: str, channels: int, squeeze: int, inner: str, gate: str, path: str
    ) -> str:
        """Squeeze-and-excitation: average each map, two 1x1 convolutions, gate the maps."""
        pooled = self.add("global_avg_pool", f"{name}_pool", [source], keep_dims=True)
        reduced = self.add(
            "conv2d",
            f"{name}_reduce",
            [pooled],
            f"{path}.fc1",
            filters=squeeze,
            kernel=1,
            activation=inner,
        )
        gates = self.add(
            "conv2d",
            f"{name}_expand",
            [reduced],
            f"{path}.fc2",
            filters=channels,
            kernel=1,
            activation=gate,
        )
        return self.add("multiply", f"{name}_scale", [source, gates])

    def spec(self, name: str, input: str) -> NetSpec:
        return NetSpec(input=input, name=name, layers=list(self.layers))
