"""Padding that PyTorch's layers cannot do themselves (uneven, or for mode same)."""

from __future__ import annotations

from convkit.spec.arithmetic import same_padding


def explicit_padding(spec_layer, info) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) the layer needs, mode same included."""
    params = spec_layer.params
    if params.get("mode") == "same":
        volume = info.input_shapes[0]
        dilation = params.get("dilation", (1, 1))
        top, bottom = same_padding(
            volume.height, params["kernel"][0], params["stride"][0], dilation[0]
        )
        left, right = same_padding(
            volume.width, params["kernel"][1], params["stride"][1], dilation[1]
        )
        return (top, bottom, left, right)
    return tuple(params["padding"])


def torch_pad_order(padding: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) -> torch's F.pad order (left, right, top, bottom)."""
    top, bottom, left, right = padding
    return (left, right, top, bottom)
