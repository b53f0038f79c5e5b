"""Padding that PyTorch's layers cannot do themselves: uneven sides, and mode same.

Mode same with a stride above 1 depends on the input size (``ceil(size /
stride)`` windows must fit), so it is computed per call from the tensor: a
network inferred at one size (say a text line's nominal width) still gives
``ceil(size / stride)`` at another.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from convkit.spec.arithmetic import effective_kernel, same_padding


class SamePad(nn.Module):
    """Pads (N, C, H, W) so that ``ceil(H / stride)`` x ``ceil(W / stride)`` windows fit."""

    def __init__(self, kernel, stride, dilation=(1, 1), value: float = 0.0):
        super().__init__()
        self.kernel = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation, strict=True))
        self.stride = tuple(stride)
        self.value = value

    def forward(self, x):
        top, bottom = same_padding(x.shape[-2], self.kernel[0], self.stride[0])
        left, right = same_padding(x.shape[-1], self.kernel[1], self.stride[1])
        return F.pad(x, (left, right, top, bottom), value=self.value)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, value={self.value}"


def make_padder(spec_layer, value: float = 0.0, symmetric_ok: bool = True):
    """(padding the layer does itself as (h, w), a padding module or None).

    ``symmetric_ok``: the layer (a convolution) pads evenly by itself, so only
    uneven padding needs a module.
    """
    params = spec_layer.params
    if params.get("mode") == "same":
        kernel, stride = params["kernel"], params["stride"]
        dilation = params.get("dilation", (1, 1))
        if stride == (1, 1):  # the same for every input size: pad once, statically
            eff = [effective_kernel(k, d) for k, d in zip(kernel, dilation, strict=True)]
            padding = (*same_padding(1, eff[0], 1), *same_padding(1, eff[1], 1))
        else:
            return (0, 0), SamePad(kernel, stride, dilation, value)
    else:
        padding = tuple(params["padding"])
    top, bottom, left, right = padding
    if symmetric_ok and top == bottom and left == right:
        return (top, left), None
    if not any(padding):
        return (0, 0), None
    return (0, 0), nn.ConstantPad2d((left, right, top, bottom), value)


def torch_pad_order(padding: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) -> torch's F.pad order (left, right, top, bottom)."""
    top, bottom, left, right = padding
    return (left, right, top, bottom)
