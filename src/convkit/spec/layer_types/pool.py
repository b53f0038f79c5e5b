"""Pooling layer types: max_pool, avg_pool (windows) and global_max_pool, global_avg_pool.

Pooling downsamples each activation map on its own: the depth is unchanged.
"""

from __future__ import annotations

from convkit.errors import SpecError
from convkit.spec.arithmetic import window_output
from convkit.spec.constraints import Boolean, IntTuple, Param
from convkit.spec.layer_types._common import (
    MODE,
    PADDING,
    POSITIVE,
    finalise_padding,
    size_text,
    stride_text,
    window_arithmetic,
    window_field,
)
from convkit.spec.registry import LayerType, register_layer_type
from convkit.spec.shapes import Vector, Volume


def _finalise_pool(params: dict) -> dict:
    if params["stride"] is None:  # the guide's pooling: windows side by side
        params["stride"] = params["kernel"]
    params = finalise_padding(params)
    top, bottom, left, right = params["padding"]
    kernel_h, kernel_w = params["kernel"]
    if max(top, bottom) >= kernel_h or max(left, right) >= kernel_w:
        raise SpecError(
            "`padding` must be smaller than the pooling window, or a window could hold only "
            f"padding. Received: padding={list(params['padding'])}, kernel={list(params['kernel'])}"
        )
    return params


def _pool_shape(inputs, params) -> Volume:
    volume = inputs[0]
    height, width = window_output(
        (volume.height, volume.width),
        params["kernel"],
        params["stride"],
        params["padding"],
        (1, 1),
        params["mode"],
        "pooling windows",
    )
    return Volume(height, width, volume.channels)


def _pool_flops(inputs, output, params) -> int:
    kernel_h, kernel_w = params["kernel"]
    return kernel_h * kernel_w * output.numel()  # one comparison or add per window element


def _register_window_pool(kind: str, word: str) -> None:
    register_layer_type(
        LayerType(
            name=f"{kind}_pool",
            params={
                "kernel": Param([IntTuple(POSITIVE)], default=(2, 2), doc="window size"),
                "stride": Param([IntTuple(POSITIVE)], default=None, doc="default: the kernel"),
                "padding": PADDING,
                "mode": MODE,
            },
            accepts=(Volume,),
            output_shape=_pool_shape,
            count_flops=_pool_flops,
            receptive_field=lambda field, p: window_field(field, p["kernel"], p["stride"]),
            finalise=_finalise_pool,
            explain=lambda inputs, output, params: (
                f"{inputs[0]} → {size_text(params['kernel'])} {word} pooling, stride "
                f"{stride_text(params['stride'])} → {output}: "
                f"{window_arithmetic(inputs[0], output, params)}"
            ),
            name_prefix="pool",
            shorthand="kernel",
            doc=f"{word.capitalize()} pooling over `kernel` windows moved by `stride`.",
        )
    )


def _global_shape(inputs, params):
    channels = inputs[0].channels
    return Volume(1, 1, channels) if params["keep_dims"] else Vector(channels)


def _register_global_pool(kind: str, word: str) -> None:
    register_layer_type(
        LayerType(
            name=f"global_{kind}_pool",
            params={"keep_dims": Param([Boolean()], default=False, doc="output 1x1xC, not C")},
            accepts=(Volume,),
            output_shape=_global_shape,
            count_flops=lambda inputs, output, params: inputs[0].numel(),
            receptive_field=lambda field, params: None,
            explain=lambda inputs, output, params: (
                f"{inputs[0]} → the {word} of each of the {inputs[0].channels} maps → {output}"
            ),
            name_prefix="pool",
            doc=f"Global {word} pooling: one number per channel.",
        )
    )


_register_window_pool("max", "max")
_register_window_pool("avg", "average")
_register_global_pool("max", "maximum")
_register_global_pool("avg", "average")
