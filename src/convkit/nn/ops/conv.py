"""Builders for conv2d, depthwise_conv2d, separable_conv2d and conv2d_transpose."""

from __future__ import annotations

from torch import nn

from convkit.nn.activations import make_activation
from convkit.nn.ops._padding import make_padder
from convkit.nn.registry import register_builder


class ConvLayer(nn.Module):
    """Padding the convolution cannot do itself (or None), the convolution, the activation.

    The activation (None: identity) may work in place: it only ever sees the
    convolution's fresh output.
    """

    def __init__(self, conv: nn.Module, activation: nn.Module | None, padder=None):
        super().__init__()
        self.padder = padder
        self.conv = conv
        self.activation = activation

    def forward(self, x):  # (N, C, H, W) -> (N, filters, H', W')
        if self.padder is not None:
            x = self.padder(x)
        x = self.conv(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


class SeparableConv(nn.Module):
    """A depthwise convolution (one filter set per channel), then a 1x1 pointwise one."""

    def __init__(self, depthwise: nn.Conv2d, pointwise: nn.Conv2d):
        super().__init__()
        self.depthwise = depthwise
        self.pointwise = pointwise

    def forward(self, x):  # (N, C, H, W) -> (N, C * multiplier, H', W') -> (N, filters, H', W')
        return self.pointwise(self.depthwise(x))


def _conv2d(spec_layer, in_channels, out_channels, groups, bias=None):
    params = spec_layer.params
    own_padding, padder = make_padder(spec_layer)
    conv = nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size=params["kernel"],
        stride=params["stride"],
        padding=own_padding,
        dilation=params["dilation"],
        groups=groups,
        bias=params["bias"] if bias is None else bias,
    )
    return conv, padder


@register_builder("conv2d")
def build_conv2d(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    channels = info.input_shapes[0].channels
    conv, padder = _conv2d(spec_layer, channels, params["filters"], params["groups"])
    return ConvLayer(conv, make_activation(params["activation"], inplace=True), padder)


@register_builder("depthwise_conv2d")
def build_depthwise_conv2d(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    channels = info.input_shapes[0].channels
    conv, padder = _conv2d(spec_layer, channels, channels * params["multiplier"], channels)
    return ConvLayer(conv, make_activation(params["activation"], inplace=True), padder)


@register_builder("separable_conv2d")
def build_separable_conv2d(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    channels = info.input_shapes[0].channels
    middle = channels * params["multiplier"]
    depthwise, padder = _conv2d(spec_layer, channels, middle, channels, bias=False)
    pointwise = nn.Conv2d(middle, params["filters"], kernel_size=1, bias=params["bias"])
    return ConvLayer(
        SeparableConv(depthwise, pointwise),
        make_activation(params["activation"], inplace=True),
        padder,
    )


@register_builder("conv2d_transpose")
def build_conv2d_transpose(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    conv = nn.ConvTranspose2d(
        info.input_shapes[0].channels,
        params["filters"],
        kernel_size=params["kernel"],
        stride=params["stride"],
        padding=params["padding"],
        output_padding=params["output_padding"],
        dilation=params["dilation"],
        bias=params["bias"],
    )
    return ConvLayer(conv, make_activation(params["activation"], inplace=True))
