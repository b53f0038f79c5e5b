"""Torch module for the ``yolo_output`` layer type (see convkit/spec/layer_types/detection.py)."""

from __future__ import annotations

import torch
from torch import nn

from convkit.nn.registry import register_builder
from convkit.spec.layer_types.detection import anchor_count


class YoloOutput(nn.Module):
    """(N, C, H, W) -> (N, A*(5+K), H, W) raw scores: a 1x1 convolution.

    The objectness biases start low (a prior of ~1% per anchor) so that an
    untrained detector does not begin by predicting an object everywhere; this
    keeps the early background loss from swamping the box and class losses.
    """

    def __init__(self, in_channels: int, num_anchors: int, num_classes: int, prior: float = 0.01):
        super().__init__()
        self.num_anchors = num_anchors
        self.num_classes = num_classes
        self.conv = nn.Conv2d(in_channels, num_anchors * (5 + num_classes), kernel_size=1)
        with torch.no_grad():
            bias = self.conv.bias.view(num_anchors, 5 + num_classes)
            bias.zero_()
            bias[:, 4] = float(torch.log(torch.tensor(prior / (1 - prior))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@register_builder("yolo_output")
def build_yolo_output(spec_layer, info) -> nn.Module:
    params = spec_layer.params
    return YoloOutput(info.input_shapes[0].channels, anchor_count(params), params["classes"])
