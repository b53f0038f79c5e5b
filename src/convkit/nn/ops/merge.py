"""Builders for the merge vertices add, multiply and concat."""

from __future__ import annotations

import torch
from torch import nn

from convkit.nn.registry import register_builder
from convkit.spec.shapes import Sequence


class Add(nn.Module):
    def forward(self, *inputs):  # each (N, …) of one shape -> their sum
        total = inputs[0]
        for tensor in inputs[1:]:
            total = total + tensor
        return total


class Multiply(nn.Module):
    def forward(self, *inputs):  # (N, C, H, W) times (N, C, H, W) or gates (N, C, 1, 1)
        product = inputs[0]
        for tensor in inputs[1:]:
            product = product * tensor  # broadcasting spreads a gate over its map
        return product


class Concat(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs):  # (N, C_i, H, W) -> (N, sum C_i, H, W); (N, F_i) -> (N, sum F_i)
        return torch.cat(inputs, dim=self.dim)


@register_builder("add")
def build_add(spec_layer, info) -> nn.Module:
    return Add()


@register_builder("multiply")
def build_multiply(spec_layer, info) -> nn.Module:
    return Multiply()


@register_builder("concat")
def build_concat(spec_layer, info) -> nn.Module:
    # channels are dim 1 of (N, C, H, W) and (N, F); features are dim 2 of (N, T, F)
    return Concat(2 if isinstance(info.input_shapes[0], Sequence) else 1)
