"""Builders for upsample, zero_pad and crop."""

from __future__ import annotations

from torch import nn

from convkit.nn.ops._padding import torch_pad_order
from convkit.nn.registry import register_builder


@register_builder("upsample")
def build_upsample(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    scale = tuple(float(s) for s in params["scale"])
    return nn.Upsample(scale_factor=scale, mode=params["method"])


@register_builder("zero_pad")
def build_zero_pad(spec_layer, info) -> nn.Module:
    return nn.ZeroPad2d(torch_pad_order(spec_layer.params["padding"]))


class Crop(nn.Module):
    def __init__(self, top: int, bottom: int, left: int, right: int):
        super().__init__()
        self.top, self.bottom, self.left, self.right = top, bottom, left, right

    def forward(self, x):  # (N, C, H, W) -> (N, C, H − top − bottom, W − left − right)
        height, width = x.shape[2], x.shape[3]
        return x[:, :, self.top : height - self.bottom, self.left : width - self.right]


@register_builder("crop")
def build_crop(spec_layer, info) -> nn.Module:
    return Crop(*spec_layer.params["cropping"])
