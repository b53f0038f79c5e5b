"""Builders for max_pool, avg_pool, global_max_pool and global_avg_pool."""

from __future__ import annotations

from torch import nn

from convkit.nn.ops._padding import make_padder
from convkit.nn.registry import register_builder


class PoolLayer(nn.Module):
    """Padding (−inf for max, so padding never wins; 0 for average) or None, then pooling."""

    def __init__(self, pool: nn.Module, padder=None):
        super().__init__()
        self.padder = padder
        self.pool = pool

    def forward(self, x):  # (N, C, H, W) -> (N, C, H', W')
        if self.padder is not None:
            x = self.padder(x)
        return self.pool(x)


def _window_pool(spec_layer, pool_class, pad_value) -> nn.Module:
    params = spec_layer.params
    own, padder = make_padder(spec_layer, value=pad_value)
    kernel = params["kernel"]
    if padder is None and (own[0] > kernel[0] // 2 or own[1] > kernel[1] // 2):
        # PyTorch pools pad at most half a window themselves; wider pads need a module.
        own, padder = (0, 0), _explicit_pad(own, pad_value)
    # Padding inside the pool (−inf for max; zeros counted in the average, as a
    # zero-pad module would) is one op, not two: ONNX Runtime keeps it in its
    # blocked layout, where a separate Pad cost a fifth of ResNet-18's time.
    return PoolLayer(pool_class(kernel, params["stride"], padding=own), padder)


def _explicit_pad(padding: tuple[int, int], value: float) -> nn.Module:
    height, width = padding
    return nn.ConstantPad2d((width, width, height, height), value)


@register_builder("max_pool")
def build_max_pool(spec_layer, info) -> nn.Module:
    return _window_pool(spec_layer, nn.MaxPool2d, float("-inf"))


@register_builder("avg_pool")
def build_avg_pool(spec_layer, info) -> nn.Module:
    return _window_pool(spec_layer, nn.AvgPool2d, 0.0)


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
