"""Builders for max_pool, avg_pool, global_max_pool and global_avg_pool."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from convkit.build.ops._padding import explicit_padding, torch_pad_order
from convkit.build.registry import register_builder


class PoolLayer(nn.Module):
    """Explicit padding (−inf for max, so padding never wins; 0 for average), then pooling."""

    def __init__(self, pool: nn.Module, pad, pad_value: float):
        super().__init__()
        self.pool = pool
        self.pad = pad
        self.pad_value = pad_value

    def forward(self, x):  # (N, C, H, W) -> (N, C, H', W')
        if self.pad is not None:
            x = F.pad(x, self.pad, value=self.pad_value)
        return self.pool(x)


def _window_pool(spec_layer, info, pool_class, pad_value) -> nn.Module:
    params = spec_layer.params
    padding = explicit_padding(spec_layer, info)
    pad = torch_pad_order(padding) if any(padding) else None
    return PoolLayer(pool_class(params["kernel"], params["stride"]), pad, pad_value)


@register_builder("max_pool")
def build_max_pool(spec_layer, info) -> nn.Module:
    return _window_pool(spec_layer, info, nn.MaxPool2d, float("-inf"))


@register_builder("avg_pool")
def build_avg_pool(spec_layer, info) -> nn.Module:
    return _window_pool(spec_layer, info, nn.AvgPool2d, 0.0)


class GlobalPool(nn.Module):
    def __init__(self, kind: str, keep_dims: bool):
        super().__init__()
        self.kind = kind
        self.keep_dims = keep_dims

    def forward(self, x):  # (N, C, H, W) -> (N, C) or (N, C, 1, 1)
        if self.kind == "max":
            return x.amax(dim=(2, 3), keepdim=self.keep_dims)
        return x.mean(dim=(2, 3), keepdim=self.keep_dims)


@register_builder("global_max_pool")
def build_global_max_pool(spec_layer, info) -> nn.Module:
    return GlobalPool("max", spec_layer.params["keep_dims"])


@register_builder("global_avg_pool")
def build_global_avg_pool(spec_layer, info) -> nn.Module:
    return GlobalPool("avg", spec_layer.params["keep_dims"])
